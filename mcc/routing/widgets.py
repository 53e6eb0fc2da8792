# -*- test-case-name: tests.test_routing_widgets -*-
"""
Widgets as admins design them and websites show them.

A skin is how a widget looks and speaks; a code snippet is what a website
pastes once, with a widget type, contingency options (HTML for visitors
without JavaScript, and for when chat is offline or online) and service
levels: queues or users in order, each with the skin to show.  Rollover
picks the first level that has somebody available, so one page can prefer
one queue and fall back on another.
"""

import hashlib
import json
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import nh3
from twisted.application import service
from twisted.internet import defer

from mcc.routing.chats import UnknownTarget
from mcc.routing.waiter import Waiter
from mcc.store import UnknownQueue, UnknownSkin, UnknownSnippet

WIDGET_TYPES = ("embedded", "floating", "popup", "direct")
WITHOUT_ONLINE_HTML = ("embedded", "direct")
"""
Widget types that show the chat itself when somebody is available, so keep
no Online HTML.
"""
MAX_NAME_LENGTH = 100
MAX_HTML_LENGTH = 20000
MAX_LEVELS = 20
MIN_CONTRAST = 4.5
"""
WCAG 2.2 AA (success criterion 1.4.3) for text of normal size.
"""


class WidgetError(ValueError):
    """
    A skin or snippet change refused by the rules; the message says why.
    """


@dataclass(frozen=True)
class Setting:
    """
    One setting of a skin: its name in forms and in the widget's
    configuration, what the admin site calls it, its default, and its kind
    (C{text}, C{long-text}, C{colour}, C{choice}, C{url} or C{language}).
    """

    name: str
    label: str
    default: str
    kind: str = "text"
    choices: tuple = ()
    """
    C{(value, label)} pairs, for the kind C{choice}.
    """
    limit: int = 200


FONTS = (
    ("system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif", "System"),
    ("'Trebuchet MS', 'Lucida Grande', Verdana, sans-serif", "Humanist sans-serif"),
    ("Georgia, Cambria, 'Times New Roman', serif", "Serif"),
    ("ui-monospace, Menlo, Consolas, 'Liberation Mono', monospace", "Monospace"),
)
CORNERS = (
    ("bottom-right", "Bottom right"),
    ("bottom-left", "Bottom left"),
    ("top-right", "Top right"),
    ("top-left", "Top left"),
)
SIZES = (("small", "Small"), ("medium", "Medium"), ("large", "Large"))
FIELD_CHOICES = (("off", "Off"), ("optional", "Optional"), ("required", "Required"))

GENERAL = (
    Setting("title", "Title", "Chat with us", limit=80),
    Setting("greeting", "Greeting", "Hello! How can we help you today?", "long-text", limit=500),
    Setting("offline_text", "Offline text", "chat is offline"),
    Setting("language", "Language of the texts", "en", "language", limit=35),
)
LOOK = (
    Setting("colour_primary", "Header and button colour", "#1f56c9", "colour"),
    Setting("colour_on_primary", "Text on the header and buttons", "#ffffff", "colour"),
    Setting("colour_background", "Panel background", "#ffffff", "colour"),
    Setting("colour_text", "Panel text", "#1c2430", "colour"),
    Setting("font", "Font", FONTS[0][0], "choice", FONTS),
    Setting("position", "Corner (floating widgets)", "bottom-right", "choice", CORNERS),
    Setting("size", "Size", "medium", "choice", SIZES),
    Setting("logo_url", "Logo or avatar URL", "", "url", limit=500),
)
PRE_CHAT = (
    Setting("field_name", "Name", "optional", "choice", FIELD_CHOICES),
    Setting("field_email", "E-mail", "off", "choice", FIELD_CHOICES),
    Setting("field_question", "Question", "optional", "choice", FIELD_CHOICES),
)
YES_NO = (("off", "No"), ("on", "Yes"))
FILES = (
    Setting("visitor_files", "Visitors may send files", "off", "choice", YES_NO),
)
"""
Operators may always send files; visitors only where the skin says so.
"""
TEXTS = (
    Setting("text_launcher", "Chat button", "Chat with us"),
    Setting("text_unread", "Chat button, after a message while minimised", "new message"),
    Setting("text_name", "Name field", "Your name"),
    Setting("text_email", "E-mail field", "E-mail"),
    Setting("text_question", "Question field", "Your question"),
    Setting("text_optional", "Optional field marker", "optional"),
    Setting("text_start", "Start button", "Start chat"),
    Setting("text_waiting", "Waiting for an operator", "Waiting for an operator…"),
    Setting("text_joined", "An operator joined ({name}: the operator)", "{name} joined the chat."),
    Setting("text_chatting", "Header during a chat ({name}: the operator)", "Chatting with {name}"),
    Setting("text_typing", "The operator is typing ({name}: the operator)", "{name} is typing…"),
    Setting("text_looking", "An operator types before taking the chat", "An operator is looking at your question…"),
    Setting("text_transferred", "The chat is transferred", "Transferring you to another operator…"),
    Setting(
        "text_transfer",
        "The chat is transferred to a queue or operator ({name}: where to)",
        "You are being transferred to {name}.",
    ),
    Setting("text_ended", "The chat has ended", "The chat has ended."),
    Setting("text_missed", "Nobody answered", "Sorry, nobody could answer in time. Please try again later."),
    Setting("text_you", "The visitor in the chat", "You"),
    Setting("text_message", "Message field", "Message"),
    Setting("text_send", "Send button", "Send"),
    Setting("text_end", "End button", "End chat"),
    Setting("text_new", "New chat button", "Start a new chat"),
    Setting("text_minimise", "Minimise button", "Minimise"),
    Setting("text_pop_out", "Pop-out button", "Open in a new window"),
    Setting("text_popped_out", "The chat moved to its own window", "The chat continues in its own window."),
    Setting("text_error", "Something went wrong", "Something went wrong. Please try again."),
    Setting(
        "text_too_long",
        "A question or message is too long ({limit}: the most characters)",
        "Please keep it to {limit} characters or fewer.",
    ),
    Setting("text_no_javascript", "JavaScript is off", "Turn on JavaScript to chat with us."),
    Setting("text_file", "Send-a-file button", "Send a file"),
    Setting(
        "text_file_too_large",
        "A file is too large ({limit}: the largest size)",
        "Files are limited to {limit}.",
    ),
    Setting("text_file_empty", "A file is empty", "This file is empty."),
    Setting("text_file_type", "A file of a type not allowed", "Files of this type cannot be sent."),
)
SKIN_SETTINGS = GENERAL + LOOK + PRE_CHAT + FILES + TEXTS
DEFAULT_SKIN = {setting.name: setting.default for setting in SKIN_SETTINGS}
CONTRAST_PAIRS = (
    ("colour_on_primary", "colour_primary"),
    ("colour_text", "colour_background"),
)
"""
Text and background colours that appear together: (text, background).
"""

CONTINGENCY_HTML = nh3.Cleaner(
    tags={
        "p", "br", "hr", "div", "span", "b", "strong", "i", "em", "u", "s", "small", "mark",
        "sub", "sup", "code", "pre", "blockquote", "a", "img", "ul", "ol", "li", "dl", "dt", "dd",
        "h1", "h2", "h3", "h4", "h5", "h6", "button",
    },
    clean_content_tags={"script", "style", "iframe", "object", "embed", "template"},
    attributes={
        "*": {"class", "title", "lang", "dir"},
        "a": {"href", "target", "rel"},
        "img": {"src", "alt", "width", "height"},
    },
    generic_attribute_prefixes={"aria-"},
    set_tag_attribute_values={"button": {"type": "button"}},
    link_rel=None,
    url_schemes={"http", "https", "mailto", "tel"},
)
"""
What admins' contingency HTML may keep once it reaches visitors' pages:
formatting, links, buttons, images, lists, headings and ARIA attributes;
never scripts, event handlers, styles, frames or forms.  Every button is of
type C{button}, so one inside a form of the website submits nothing.
"""

_COLOUR = re.compile(r"#(?:[0-9a-f]{3}){1,2}")
_LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{1,8})*")


# Colour contrast (WCAG 2.2, relative luminance)


def _channel(value):
    value /= 255
    return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4


def luminance(colour):
    """
    The relative luminance of a C{#rrggbb} colour.
    """
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(red) + 0.7152 * _channel(green) + 0.0722 * _channel(blue)


def contrast(first, second):
    """
    The contrast ratio of two C{#rrggbb} colours, from 1 to 21.
    """
    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


# Checking what admins enter


def _colour(setting, value):
    value = value.lower()
    if not _COLOUR.fullmatch(value):
        raise WidgetError(f"{setting.label}: {value!r} is not a colour like #1f56c9")
    if len(value) == 4:
        value = "#" + "".join(digit * 2 for digit in value[1:])
    return value


def _url(setting, value):
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise WidgetError(f"{setting.label}: {value!r} is not an http or https address")
    return value


def _language(setting, value):
    if not _LANGUAGE.fullmatch(value.lower()):
        raise WidgetError(f"{setting.label}: {value!r} is not a language tag like en or pt-BR")
    return value


def _choice(setting, value):
    if value not in dict(setting.choices):
        raise WidgetError(f"{setting.label}: {value!r} is not one of the choices")
    return value


_CHECKS = {"colour": _colour, "url": _url, "language": _language, "choice": _choice}


def skin_settings(values):
    """
    Complete, checked settings from what an admin entered: blank or missing
    settings take their defaults, so every text has a wording.

    @param values: setting name -> text.
    """
    settings = {}
    for setting in SKIN_SETTINGS:
        value = str(values.get(setting.name, "")).strip()
        if not value:
            settings[setting.name] = setting.default
            continue
        if len(value) > setting.limit:
            raise WidgetError(f"{setting.label}: at most {setting.limit} characters")
        check = _CHECKS.get(setting.kind)
        settings[setting.name] = check(setting, value) if check else value
    labels = {setting.name: setting.label for setting in SKIN_SETTINGS}
    for text, background in CONTRAST_PAIRS:
        ratio = contrast(settings[text], settings[background])
        if ratio < MIN_CONTRAST:
            raise WidgetError(
                f"{labels[text]} ({settings[text]}) on {labels[background]} "
                f"({settings[background]}) has a contrast of {ratio:.1f}:1; "
                f"WCAG 2.2 AA needs at least {MIN_CONTRAST}:1 for text"
            )
    return settings


def _name(name, what):
    name = name.strip()
    if not name:
        raise WidgetError(f"a {what} needs a name")
    if len(name) > MAX_NAME_LENGTH:
        raise WidgetError(f"a {what} name has at most {MAX_NAME_LENGTH} characters")
    return name


def visitor_html(html):
    """
    Contingency HTML as visitors' pages get it, sanitised by
    L{CONTINGENCY_HTML}: the widget inserts it into the website's own page.
    """
    return CONTINGENCY_HTML.clean(html)


def _numbered_name(stem, existing):
    """
    C{stem} and the rank a new one would have among C{existing} (things
    with a name), or the next number that no name takes.
    """
    taken = {thing.name.lower() for thing in existing}
    number = len(taken) + 1
    while f"{stem} {number}".lower() in taken:
        number += 1
    return f"{stem} {number}"


def _html(html, label):
    if len(html) > MAX_HTML_LENGTH:
        raise WidgetError(f"{label}: at most {MAX_HTML_LENGTH} characters of HTML")
    return html.strip()


@dataclass(frozen=True)
class Level:
    """
    A service level as an admin chooses it: a queue (by id) or a user (by
    name), and the id of the skin to show.
    """

    skin_id: int
    queue_id: int | None = None
    username: str | None = None


class Widgets:
    """
    The rules for skins and snippets, and what a snippet shows right now.

    @param is_available: C{(queue=NAME | user=NAME) -> bool}, the chat
        router's own answer, raising L{UnknownTarget} for nobody known.
    @param new_key: returns a fresh unguessable URL-safe string, the public
        key of a new snippet.

    C{observers} are called with no argument after every change.
    """

    def __init__(self, store, is_available, clock, new_key):
        self.store = store
        self.is_available = is_available
        self.clock = clock
        self.new_key = new_key
        self.observers = []

    def _changed(self):
        for observer in list(self.observers):
            observer()

    # Skins

    def skins(self):
        return self.store.skins.all()

    def skin(self, skin_id):
        """
        The L{Skin} with that id, or L{UnknownSkin}.
        """
        return self.store.skins.get(skin_id)

    def create_skin(self, name, values):
        skin = self.store.skins.add(
            _name(name, "widget"), skin_settings(values), now=self.clock.seconds()
        )
        self._changed()
        return skin

    def new_skin_name(self):
        """
        What New Widget proposes: "Widget N", after its rank and free.
        """
        return _numbered_name("Widget", self.store.skins.all())

    def update_skin(self, skin_id, name, values):
        skin = self.store.skins.update(skin_id, _name(name, "widget"), skin_settings(values))
        self._changed()
        return skin

    def remove_skin(self, skin_id):
        """
        Delete a skin that no service level shows; L{SkinInUse} otherwise.
        """
        self.store.skins.remove(skin_id)

    # Snippets

    def snippets(self):
        return self.store.snippets.all()

    def snippet(self, snippet_id):
        """
        The L{Snippet} with that id, or L{UnknownSnippet}.
        """
        return self.store.snippets.get(snippet_id)

    def snippets_serving(self, queue_id=None, username=None):
        """
        The names of the snippets that show the queue C{queue_id} or the
        user C{username} in a service level, which goes with them.
        """
        return self.store.snippets.serving(queue_id=queue_id, username=username)

    def create_snippet(self):
        """
        A new floating snippet without service levels, named after its rank.
        """
        name = _numbered_name("Snippet", self.store.snippets.all())
        return self.store.snippets.add(self.new_key(), name, "floating", now=self.clock.seconds())

    def save_snippet(self, snippet_id, name, widget_type, html, levels):
        """
        Change a snippet: its name, widget type, contingency options and
        service levels (L{Level}s, in order).

        @param html: C{no_javascript}, C{offline} and C{online} HTML.  The
            types in L{WITHOUT_ONLINE_HTML} keep no Online option.
        """
        if widget_type not in WIDGET_TYPES:
            raise WidgetError(f"{widget_type!r} is not a widget type")
        html = {
            "no_javascript": _html(html.get("no_javascript", ""), "No JavaScript"),
            "offline": _html(html.get("offline", ""), "Offline"),
            "online": _html(html.get("online", ""), "Online"),
        }
        if widget_type in WITHOUT_ONLINE_HTML:
            html["online"] = ""
        snippet = self.store.snippets.save(
            snippet_id, _name(name, "code snippet"), widget_type, html, self._levels(levels)
        )
        self._changed()
        return snippet

    def _levels(self, levels):
        if len(levels) > MAX_LEVELS:
            raise WidgetError(f"a code snippet has at most {MAX_LEVELS} service levels")
        rows, seen = [], set()
        for number, level in enumerate(levels, start=1):
            if (level.queue_id is None) == (level.username is None):
                raise WidgetError(f"service level {number} needs a queue or a user")
            if level.queue_id is not None:
                try:
                    target = self.store.queues.get(level.queue_id).name
                except UnknownQueue:
                    raise WidgetError(f"service level {number}: that queue no longer exists") from None
                username = None
            else:
                user = self.store.users.find(level.username)
                if user is None:
                    raise WidgetError(f"service level {number}: no user named {level.username!r}")
                target = username = user.username
            if target in seen:
                raise WidgetError(f"service level {number} repeats {target}")
            seen.add(target)
            try:
                self.store.skins.get(level.skin_id)
            except UnknownSkin:
                raise WidgetError(f"service level {number} needs a widget") from None
            rows.append((level.queue_id, username, level.skin_id))
        return rows

    def remove_snippet(self, snippet_id):
        self.store.snippets.remove(snippet_id)
        self._changed()

    # What visitors see

    def first_skin(self, snippet):
        """
        The settings of the skin of the snippet's first service level, or
        C{None} for a snippet without levels.
        """
        return self._skin_of(snippet.levels[0]) if snippet.levels else None

    def _skin_of(self, level):
        return dict(DEFAULT_SKIN, **self.store.skins.get(level.skin_id).settings)

    def configuration(self, key):
        """
        What the snippet with public key C{key} shows now, for the widget:
        the first service level with somebody available (rollover), else
        the offline state of the first level's skin; L{UnknownSnippet} when
        no snippet has that key.

        The C{version} changes whenever anything else in it does.
        """
        snippet = self.store.snippets.by_key(key)
        chosen = next((level for level in snippet.levels if self._available(level)), None)
        shown = chosen or (snippet.levels[0] if snippet.levels else None)
        skin = dict(DEFAULT_SKIN) if shown is None else self._skin_of(shown)
        configuration = {
            "type": snippet.widget_type,
            "online": chosen is not None,
            "target": None if chosen is None else _target(chosen),
            "skin": skin,
            "html": visitor_html(snippet.online_html if chosen is not None else snippet.offline_html),
            "no_javascript_html": visitor_html(snippet.no_javascript_html),
        }
        canonical = json.dumps(configuration, sort_keys=True).encode("utf-8")
        configuration["version"] = hashlib.sha256(canonical).hexdigest()[:16]
        return configuration

    def _available(self, level):
        try:
            return self.is_available(**_target(level))
        except UnknownTarget:
            return False


def _target(level):
    if level.queue_id is not None:
        return {"queue": level.queue_name}
    return {"user": level.username}


class ConfigurationWatch(service.Service):
    """
    Long polling for widgets on open pages: a widget asks for its snippet's
    configuration once it differs from the version it shows, and hears as
    soon as presence or the admins change it, or after C{timeout} seconds.
    """

    def __init__(self, widgets, availability, clock, timeout):
        self.widgets = widgets
        self._polls = Waiter(clock, timeout)
        availability.add_observer(lambda username: self._recheck())
        widgets.observers.append(self._recheck)

    def wait(self, key, version):
        """
        A Deferred firing with the configuration of the snippet C{key} once
        its version is not C{version}, or with the same one after the
        timeout; it fails with L{UnknownSnippet} when the snippet is gone.
        Cancelling it (the page went away) forgets it.
        """
        current = self.widgets.configuration(key)
        if current["version"] != version or not self.running:
            return defer.succeed(current)
        waiting = self._polls.wait(key, version, version)
        return waiting.addCallback(lambda _: self.widgets.configuration(key))

    def _recheck(self):
        """
        Something a configuration shows may have changed: work out each
        watched snippet's version once, and wake the widgets it leaves behind.
        """
        for key in self._polls.keys():
            try:
                version = self.widgets.configuration(key)["version"]
            except UnknownSnippet:
                version = None
            self._polls.notify(key, version)

    def stopService(self):
        service.Service.stopService(self)
        self._polls.release()

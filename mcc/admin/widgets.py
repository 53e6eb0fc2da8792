# -*- test-case-name: tests.test_admin_widgets -*-
"""
The admin site's Design Widgets tab.  Its Widgets sub-tab designs skins
beside a live preview; its Code sub-tab makes code snippets: the widget
type, the contingency options, the chat service levels in order, and the
generated code to paste into a website.

The pages work without JavaScript: the service level buttons post the form
and get it back rearranged, unsaved, until Save.  With it, admin.js does the
same in the page and draws the preview with the widget's own script.
"""

import ipaddress
from urllib.parse import urlsplit

from klein import Klein
from werkzeug.exceptions import NotFound

from mcc.admin.shell import SECURITY_HEADERS, form_list, form_text
from mcc.routing.widgets import (
    DEFAULT_SKIN,
    FILES,
    GENERAL,
    LOOK,
    PRE_CHAT,
    SKIN_SETTINGS,
    TEXTS,
    WITHOUT_ONLINE_HTML,
    Level,
    WidgetError,
)
from mcc.routing.errors import DuplicateSkin, DuplicateSnippet, SkinInUse, UnknownSkin, UnknownSnippet
from mcc.widget.code import chat_url, frame_code, generated_code

SETTING_GROUPS = (
    ("General", GENERAL),
    ("Look", LOOK),
    ("Pre-chat form", PRE_CHAT),
    ("Files", FILES),
    ("Visitor-facing text", TEXTS),
)
WIDGET_TYPES = (
    ("embedded", "Embedded", "The chat panel sits in your page, where you paste the code."),
    (
        "floating",
        "Floating",
        "A button in a corner of the window opens the chat panel, which follows the "
        "visitor from page to page and can pop out into its own window.",
    ),
    ("popup", "Pop-up window", "A button or link in your page opens the chat in its own window."),
    (
        "direct",
        "Direct chat URL",
        "A chat page of its own: link to it, or show it in your page inside an iframe.",
    ),
)
WIDGET_TYPE_NAMES = {value: label for value, label, _ in WIDGET_TYPES}
REFUSED = (WidgetError, DuplicateSkin, DuplicateSnippet, SkinInUse)
PREVIEW_POLICY = (
    SECURITY_HEADERS[b"content-security-policy"] + b"; img-src 'self' https: http: data:"
)
"""
The preview shows a skin's logo, wherever the admin keeps it.
"""


class DesignWidgets:
    """
    The tab for one request of a signed-in administrator (the L{Visit}),
    served by the L{AdminSite} C{site} under C{/admin/widgets}.

    @param widgets: the L{mcc.routing.widgets.Widgets} rules.
    @param public_url: returns the base URL websites reach mcc at.
    """

    app = Klein()

    def __init__(self, widgets, public_url, site, visit):
        self.widgets = widgets
        self.public_url = public_url
        self.site = site
        self.visit = visit

    def resource(self):
        return self.app.resource()

    @app.handle_errors(UnknownSkin, UnknownSnippet, NotFound)
    def not_found(self, request, failure):
        if failure.check(NotFound):
            return self.site.not_found(request)
        return self.site.not_found(request, failure.value)

    def _page(self, request, template, subtab, status=200, **context):
        base_url = self.public_url()
        page = self.site.page(
            request,
            self.visit,
            template,
            status=status,
            subtab=subtab,
            loopback_url=base_url if subtab == "code" and is_loopback(base_url) else None,
            **context,
        )
        request.setHeader(b"content-security-policy", PREVIEW_POLICY)
        return page

    def _done(self, request, message, path):
        return self.site.done(request, self.visit, message, path)

    # The Widgets sub-tab: skins

    def _skins_page(self, request, template, status=200, selected=None, **context):
        return self._page(
            request,
            template,
            "widgets",
            status=status,
            skins=self.widgets.skins(),
            selected=selected,
            **context,
        )

    def _skin_form(self, request, skin, name, values, status=200, error=None):
        return self._skins_page(
            request,
            "widgets/skin.html",
            status=status,
            selected=skin,
            name=name,
            values=values,
            error=error,
            groups=SETTING_GROUPS,
            defaults=DEFAULT_SKIN,
        )

    @staticmethod
    def _skin_values(request):
        values = {setting.name: form_text(request, setting.name) for setting in SKIN_SETTINGS}
        return form_text(request, "name"), values

    # The tab's own address, /admin/widgets, reaches this app as an empty
    # path: no slash to insist on.
    @app.route("/", methods=["GET"], strict_slashes=False)
    def skins(self, request):
        return self._skins_page(request, "widgets/skins.html")

    @app.route("/new", methods=["GET"])
    def new_skin(self, request):
        return self._skin_form(request, None, self.widgets.new_skin_name(), DEFAULT_SKIN)

    @app.route("/", methods=["POST"], strict_slashes=False)
    def create_skin(self, request):
        name, values = self._skin_values(request)
        try:
            skin = self.widgets.create_skin(name, values)
        except REFUSED as problem:
            return self._skin_form(request, None, name, values, status=400, error=problem)
        return self._done(request, f"Saved the widget {skin.name}.", f"/admin/widgets/{skin.id}")

    @app.route("/<int:skin_id>", methods=["GET"])
    def skin(self, request, skin_id):
        skin = self.widgets.skin(skin_id)
        return self._skin_form(request, skin, skin.name, dict(DEFAULT_SKIN, **skin.settings))

    @app.route("/<int:skin_id>", methods=["POST"])
    def update_skin(self, request, skin_id):
        skin = self.widgets.skin(skin_id)
        name, values = self._skin_values(request)
        try:
            skin = self.widgets.update_skin(skin_id, name, values)
        except REFUSED as problem:
            return self._skin_form(request, skin, name, values, status=400, error=problem)
        return self._done(request, f"Saved the widget {skin.name}.", f"/admin/widgets/{skin_id}")

    @app.route("/<int:skin_id>/delete", methods=["GET"])
    def confirm_delete_skin(self, request, skin_id):
        skin = self.widgets.skin(skin_id)
        return self._skins_page(request, "widgets/skin-delete.html", selected=skin, error=None)

    @app.route("/<int:skin_id>/delete", methods=["POST"])
    def delete_skin(self, request, skin_id):
        skin = self.widgets.skin(skin_id)
        try:
            self.widgets.remove_skin(skin_id)
        except REFUSED as problem:
            return self._skins_page(
                request, "widgets/skin-delete.html", status=400, selected=skin, error=problem
            )
        return self._done(request, f"Deleted the widget {skin.name}.", "/admin/widgets")

    # The Code sub-tab: snippets

    def _code_page(self, request, template, status=200, selected=None, **context):
        return self._page(
            request,
            template,
            "code",
            status=status,
            snippets=self.widgets.snippets(),
            selected=selected,
            type_names=WIDGET_TYPE_NAMES,
            **context,
        )

    def _snippet_form(self, request, snippet, values, status=200, moved=False, error=None):
        base_url = self.public_url()
        skins = self.widgets.skins()
        level_skin = self.widgets.first_skin(snippet)
        return self._code_page(
            request,
            "widgets/snippet.html",
            status=status,
            selected=snippet,
            values=values,
            moved=moved,
            error=error,
            widget_types=WIDGET_TYPES,
            without_online=WITHOUT_ONLINE_HTML,
            queues=self.site.queues.all(),
            users=self.site.accounts.all(),
            skins=skins,
            first_skin=str(skins[0].id) if skins else "",
            code=generated_code(base_url, snippet, level_skin),
            frame=frame_code(base_url, snippet, level_skin),
            url=chat_url(base_url, snippet),
        )

    @app.route("/code", methods=["GET"])
    def snippets(self, request):
        return self._code_page(request, "widgets/code.html")

    @app.route("/code", methods=["POST"])
    def create_snippet(self, request):
        snippet = self.widgets.create_snippet()
        return self._done(
            request,
            f"Added {snippet.name}. Choose its widget type and service levels, then save.",
            f"/admin/widgets/code/{snippet.id}",
        )

    @app.route("/code/<int:snippet_id>", methods=["GET"])
    def snippet(self, request, snippet_id):
        snippet = self.widgets.snippet(snippet_id)
        return self._snippet_form(request, snippet, _snippet_values(snippet))

    @app.route("/code/<int:snippet_id>", methods=["POST"])
    def save_snippet(self, request, snippet_id):
        snippet = self.widgets.snippet(snippet_id)
        values = {
            name: form_text(request, name)
            for name in ("name", "widget_type", "no_javascript", "offline", "online")
        }
        values["levels"] = list(zip(form_list(request, "target"), form_list(request, "skin")))
        action = form_text(request, "level")
        if action:
            _rearrange(values["levels"], action, self.widgets.skins())
            return self._snippet_form(request, snippet, values, moved=True)
        try:
            snippet = self.widgets.save_snippet(
                snippet_id,
                values["name"],
                values["widget_type"],
                {name: values[name] for name in ("no_javascript", "offline", "online")},
                [_level(target, skin) for target, skin in values["levels"]],
            )
        except REFUSED as problem:
            return self._snippet_form(request, snippet, values, status=400, error=problem)
        return self._done(
            request, f"Saved the code snippet {snippet.name}.", f"/admin/widgets/code/{snippet_id}"
        )

    @app.route("/code/<int:snippet_id>/delete", methods=["GET"])
    def confirm_delete_snippet(self, request, snippet_id):
        snippet = self.widgets.snippet(snippet_id)
        return self._code_page(request, "widgets/snippet-delete.html", selected=snippet)

    @app.route("/code/<int:snippet_id>/delete", methods=["POST"])
    def delete_snippet(self, request, snippet_id):
        snippet = self.widgets.snippet(snippet_id)
        self.widgets.remove_snippet(snippet_id)
        return self._done(
            request, f"Deleted the code snippet {snippet.name}.", "/admin/widgets/code"
        )


def is_loopback(url):
    """
    Whether C{url} names this machine only (C{localhost}, C{127.0.0.1},
    C{::1}): code naming it works in no visitor's browser.
    """
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _snippet_values(snippet):
    return {
        "name": snippet.name,
        "widget_type": snippet.widget_type,
        "no_javascript": snippet.no_javascript_html,
        "offline": snippet.offline_html,
        "online": snippet.online_html,
        "levels": [(_target_value(level), str(level.skin_id)) for level in snippet.levels],
    }


def _target_value(level):
    """
    How a service level's queue or user is chosen in the form.
    """
    if level.queue_id is not None:
        return f"queue:{level.queue_id}"
    return f"user:{level.username}"


def _level(target, skin):
    kind, _, value = target.partition(":")
    skin_id = int(skin) if skin.isdigit() else None
    if kind == "queue" and value.isdigit():
        return Level(skin_id, queue_id=int(value))
    if kind == "user" and value:
        return Level(skin_id, username=value)
    return Level(skin_id)


def _rearrange(levels, action, skins):
    """
    Apply a service level button (C{add}, or C{up}, C{down} or C{remove}
    with a row index) to the rows in the form, in place.
    """
    verb, _, index = action.partition(":")
    if verb == "add":
        levels.append(("", str(skins[0].id) if skins else ""))
        return
    if not index.isdigit() or int(index) >= len(levels):
        return
    row = int(index)
    if verb == "remove":
        del levels[row]
    elif verb == "up" and row > 0:
        levels[row - 1], levels[row] = levels[row], levels[row - 1]
    elif verb == "down" and row + 1 < len(levels):
        levels[row], levels[row + 1] = levels[row + 1], levels[row]

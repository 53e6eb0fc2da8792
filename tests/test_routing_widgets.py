"""
Tests for L{mcc.routing.widgets}: the rules for skins and snippets, rollover
between service levels by the chat router's availability, and the long poll
that tells open pages about changes.
"""

import itertools

import pytest
from twisted.internet.task import Clock

from mcc.routing.availability import Availability
from mcc.routing.chats import ChatService, Timeouts
from mcc.routing.queues import Queues
from mcc.routing.widgets import (
    CONTRAST_PAIRS,
    DEFAULT_SKIN,
    MIN_CONTRAST,
    SKIN_SETTINGS,
    WIDGET_TYPES,
    ConfigurationWatch,
    Level,
    Widgets,
    WidgetError,
    contrast,
    skin_settings,
)
from mcc.store import DuplicateSkin, SkinInUse, Store, UnknownSnippet

POLL = 25.0


class World:
    def __init__(self):
        self.clock = Clock()
        self.store = Store.open(":memory:")
        self.availability = Availability()
        self.queues = Queues(self.store, self.clock)
        chats = ChatService(
            self.store, self.availability, self.queues.operators_of, self.clock, str,
            Timeouts(answer=120, visitor=90, poll=25, reconnect=30),
        )
        keys = itertools.count(1)
        self.widgets = Widgets(self.store, chats.is_available, self.clock, lambda: f"key{next(keys)}")
        self.watch = ConfigurationWatch(self.widgets, self.availability, self.clock, POLL)
        self.watch.startService()
        for name in ("olive", "bob"):
            self.store.users.add(name, "pw", now=0, display_name=name.title())
        self.billing = self.queue("Billing", "bob")
        self.support = self.queue("Support", "olive")
        self.blue = self.widgets.create_skin("Blue", {"title": "Billing desk"})
        self.green = self.widgets.create_skin("Green", {"title": "Support desk", "colour_primary": "#0b6e4f"})

    def queue(self, name, *operators):
        queue = self.queues.create(name)
        return self.queues.assign(queue.id, list(operators))

    def snippet(self, widget_type="floating", levels=(), **html):
        created = self.widgets.create_snippet()
        return self.widgets.save_snippet(created.id, created.name, widget_type, html, list(levels))

    def rollover(self, **html):
        """
        Billing first (Blue), Support second (Green).
        """
        return self.snippet(
            levels=[Level(self.blue.id, queue_id=self.billing.id), Level(self.green.id, queue_id=self.support.id)],
            **html,
        )


@pytest.fixture
def world():
    world = World()
    yield world
    world.watch.stopService()
    world.store.close()


# Skin settings


def test_blank_settings_take_their_defaults():
    settings = skin_settings({"title": "  ", "greeting": "Hi!"})
    assert settings == dict(DEFAULT_SKIN, greeting="Hi!")
    assert settings["offline_text"] == "chat is offline"
    assert set(settings) == {setting.name for setting in SKIN_SETTINGS}


@pytest.mark.parametrize("text, background", CONTRAST_PAIRS)
def test_default_colours_meet_wcag_aa_contrast(text, background):
    assert contrast(DEFAULT_SKIN[text], DEFAULT_SKIN[background]) >= MIN_CONTRAST


def test_contrast_ratios():
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#ffffff", "#ffffff") == pytest.approx(1)
    assert contrast("#ffffff", "#1f56c9") == pytest.approx(6.5, abs=0.05)


def test_colours_are_normalised():
    settings = skin_settings({"colour_primary": "#06C", "colour_text": "#1C2430"})
    assert (settings["colour_primary"], settings["colour_text"]) == ("#0066cc", "#1c2430")


def test_low_contrast_is_refused_with_the_ratio():
    with pytest.raises(WidgetError) as raised:
        skin_settings({"colour_primary": "#7aa0e6"})
    assert str(raised.value) == (
        "Text on the header and buttons (#ffffff) on Header and button colour (#7aa0e6) "
        "has a contrast of 2.6:1; WCAG 2.2 AA needs at least 4.5:1 for text"
    )


@pytest.mark.parametrize(
    "values, message",
    [
        ({"colour_text": "navy"}, "Panel text: 'navy' is not a colour like #1f56c9"),
        (
            {"logo_url": "javascript:alert(1)"},
            "Logo or avatar URL: 'javascript:alert(1)' is not an http or https address",
        ),
        ({"language": "english!"}, "Language of the texts: 'english!' is not a language tag like en or pt-BR"),
        ({"position": "middle"}, "Corner (floating widgets): 'middle' is not one of the choices"),
        ({"field_email": "maybe"}, "E-mail: 'maybe' is not one of the choices"),
        ({"font": "Comic Sans MS"}, "Font: 'Comic Sans MS' is not one of the choices"),
        ({"title": "x" * 81}, "Title: at most 80 characters"),
    ],
)
def test_invalid_settings_are_refused_with_a_clear_message(values, message):
    with pytest.raises(WidgetError) as raised:
        skin_settings(values)
    assert str(raised.value) == message


def test_texts_for_another_language():
    settings = skin_settings({"language": "pt-BR", "text_send": "Enviar", "offline_text": "chat fechado"})
    assert (settings["language"], settings["text_send"], settings["offline_text"]) == (
        "pt-BR", "Enviar", "chat fechado"
    )


# Skins and snippets


def test_skins_need_a_unique_name_and_checked_settings(world):
    with pytest.raises(WidgetError, match="^a widget needs a name$"):
        world.widgets.create_skin(" ", {})
    with pytest.raises(DuplicateSkin):
        world.widgets.create_skin("BLUE", {})
    with pytest.raises(WidgetError, match="contrast"):
        world.widgets.update_skin(world.blue.id, "Blue", {"colour_background": "#222222"})
    assert world.widgets.skin(world.blue.id).settings == world.blue.settings
    renamed = world.widgets.update_skin(world.blue.id, " Navy ", {"title": "Hello"})
    assert (renamed.name, renamed.settings["title"]) == ("Navy", "Hello")


def test_new_snippets_are_floating_with_a_fresh_key_and_name(world):
    first = world.widgets.create_snippet()
    second = world.widgets.create_snippet()
    assert (first.name, first.key, first.widget_type, first.levels) == ("Snippet 1", "key1", "floating", ())
    assert (second.name, second.key) == ("Snippet 2", "key2")
    world.widgets.save_snippet(first.id, "Snippet 3", "floating", {}, [])
    assert world.widgets.create_snippet().name == "Snippet 4"


def test_new_widgets_are_proposed_a_free_name(world):
    assert world.widgets.new_skin_name() == "Widget 3"
    world.widgets.update_skin(world.blue.id, "widget 3", {})
    assert world.widgets.new_skin_name() == "Widget 4"


@pytest.mark.parametrize(
    "levels, message",
    [
        ([Level(1)], "service level 1 needs a queue or a user"),
        ([Level(1, queue_id=1, username="olive")], "service level 1 needs a queue or a user"),
        ([Level(1, queue_id=99)], "service level 1: that queue no longer exists"),
        ([Level(1, queue_id=1), Level(1, username="nobody")], "service level 2: no user named 'nobody'"),
        ([Level(1, username="olive"), Level(2, username="OLIVE")], "service level 2 repeats olive"),
        ([Level(99, username="olive")], "service level 1 needs a widget"),
        ([Level(None, username="olive")], "service level 1 needs a widget"),
        ([Level(1, username="olive")] * 21, "a code snippet has at most 20 service levels"),
    ],
)
def test_service_levels_are_checked(world, levels, message):
    snippet = world.widgets.create_snippet()
    with pytest.raises(WidgetError) as raised:
        world.widgets.save_snippet(snippet.id, "Shop", "floating", {}, levels)
    assert str(raised.value) == message
    assert world.widgets.snippet(snippet.id) == snippet


def test_snippet_rules(world):
    snippet = world.widgets.create_snippet()
    for name, widget_type, html, message in (
        (" ", "floating", {}, "a code snippet needs a name"),
        ("Shop", "sideways", {}, "'sideways' is not a widget type"),
        ("Shop", "popup", {"offline": "x" * 20001}, "Offline: at most 20000 characters of HTML"),
    ):
        with pytest.raises(WidgetError) as raised:
            world.widgets.save_snippet(snippet.id, name, widget_type, html, [])
        assert str(raised.value) == message
    assert set(WIDGET_TYPES) == {"embedded", "floating", "popup", "direct"}


@pytest.mark.parametrize("widget_type", ["embedded", "direct"])
def test_embedded_widgets_and_direct_urls_keep_no_online_option(world, widget_type):
    snippet = world.widgets.create_snippet()
    html = {"no_javascript": " <p>JS please</p> ", "offline": "<p>Away</p>", "online": "<p>Here</p>"}
    saved = world.widgets.save_snippet(snippet.id, "Shop", widget_type, html, [])
    assert (saved.no_javascript_html, saved.offline_html, saved.online_html) == (
        "<p>JS please</p>", "<p>Away</p>", ""
    )
    saved = world.widgets.save_snippet(snippet.id, "Shop", "popup", html, [])
    assert saved.online_html == "<p>Here</p>"


def test_a_skin_in_use_stays(world):
    world.rollover()
    with pytest.raises(SkinInUse):
        world.widgets.remove_skin(world.blue.id)
    unused = world.widgets.create_skin("Unused", {})
    world.widgets.remove_skin(unused.id)
    assert [skin.name for skin in world.widgets.skins()] == ["Blue", "Green"]


# Rollover


def test_nobody_available_shows_the_offline_contingency_and_the_first_skin(world):
    snippet = world.rollover(offline="<p>Away</p>", online="<p>Here</p>")
    configuration = world.widgets.configuration(snippet.key)
    assert configuration["online"] is False
    assert configuration["target"] is None
    assert configuration["html"] == "<p>Away</p>"
    assert configuration["skin"]["title"] == "Billing desk"
    assert configuration["type"] == "floating"


def test_the_first_level_with_somebody_available_is_shown(world):
    snippet = world.rollover(online="<p>Here</p>")
    world.availability.resource_available("olive", "desk")
    configuration = world.widgets.configuration(snippet.key)
    assert (configuration["online"], configuration["target"]) == (True, {"queue": "Support"})
    assert configuration["skin"]["title"] == "Support desk"
    assert configuration["skin"]["colour_primary"] == "#0b6e4f"
    assert configuration["html"] == "<p>Here</p>"

    world.availability.resource_available("bob", "desk")
    configuration = world.widgets.configuration(snippet.key)
    assert (configuration["target"], configuration["skin"]["title"]) == ({"queue": "Billing"}, "Billing desk")


def test_away_operators_and_users_as_levels(world):
    snippet = world.snippet(levels=[Level(world.green.id, username="olive")])
    world.availability.resource_available("olive", "desk", show="away")
    assert world.widgets.configuration(snippet.key)["online"] is False
    world.availability.resource_available("olive", "phone")
    assert world.widgets.configuration(snippet.key)["target"] == {"user": "olive"}
    world.store.users.set_disabled("olive", True)
    assert world.widgets.configuration(snippet.key)["online"] is False


def test_a_snippet_without_levels_is_offline_in_the_default_skin(world):
    snippet = world.snippet()
    configuration = world.widgets.configuration(snippet.key)
    assert (configuration["online"], configuration["skin"]) == (False, DEFAULT_SKIN)


def test_the_version_follows_what_is_shown(world):
    snippet = world.rollover()
    before = world.widgets.configuration(snippet.key)["version"]
    assert world.widgets.configuration(snippet.key)["version"] == before
    world.availability.resource_available("olive", "desk")
    online = world.widgets.configuration(snippet.key)["version"]
    assert online != before
    world.widgets.update_skin(world.green.id, "Green", {"title": "Support team"})
    assert world.widgets.configuration(snippet.key)["version"] not in (before, online)


def test_visitors_get_the_contingency_html_without_scripts(world):
    snippet = world.rollover(
        offline=(
            '<h2>Away</h2><p onclick="steal()" style="color:red">Call <b>us</b> or '
            '<a href="https://example.org/help" target="_blank" rel="noopener">read</a>, '
            '<a href="mailto:help@example.org">write</a>, <a href="tel:+15550100">call</a>, '
            '<a href="javascript:steal()">not this</a>.</p>'
            '<ul><li>Mondays</li></ul><img src="x:" onerror="steal()">'
            '<img src="https://example.org/logo.png" alt="Logo">'
            "<script>steal()</script><style>p{}</style>"
            '<iframe src="https://evil.example"></iframe><object data="x.swf"></object>'
        ),
        no_javascript='<p>JavaScript is off<img src="x:" onerror="steal()"></p>',
    )
    configuration = world.widgets.configuration(snippet.key)
    assert configuration["html"] == (
        '<h2>Away</h2><p>Call <b>us</b> or '
        '<a href="https://example.org/help" target="_blank" rel="noopener">read</a>, '
        '<a href="mailto:help@example.org">write</a>, <a href="tel:+15550100">call</a>, '
        '<a>not this</a>.</p>'
        '<ul><li>Mondays</li></ul><img><img src="https://example.org/logo.png" alt="Logo">'
    )
    assert configuration["no_javascript_html"] == "<p>JavaScript is off<img></p>"
    assert "onerror" in world.widgets.snippet(snippet.id).offline_html


def test_a_button_in_the_contingency_html_keeps_only_safe_attributes(world):
    snippet = world.rollover(
        online=(
            '<p aria-hidden="false">Questions? <button type="submit" form="checkout" formaction='
            '"https://evil.example" name="n" value="v" onclick="steal()" style="color:red" '
            'class="talk" title="Chat now" aria-label="Talk to us" disabled>Talk</button>'
            "<button>Or here</button></p>"
        ),
    )
    world.availability.resource_available("olive", "desk")
    assert world.widgets.configuration(snippet.key)["html"] == (
        '<p aria-hidden="false">Questions? <button class="talk" title="Chat now" '
        'aria-label="Talk to us" type="button">Talk</button>'
        '<button type="button">Or here</button></p>'
    )


def test_unknown_key(world):
    with pytest.raises(UnknownSnippet):
        world.widgets.configuration("nonesuch")


# Long polling


def results_of(deferred):
    results = []
    deferred.addBoth(results.append)
    return results


def test_a_page_with_an_older_version_hears_at_once(world):
    snippet = world.rollover()
    answers = results_of(world.watch.wait(snippet.key, "old"))
    assert answers == [world.widgets.configuration(snippet.key)]


def test_a_page_hears_when_somebody_becomes_available(world):
    snippet = world.rollover()
    version = world.widgets.configuration(snippet.key)["version"]
    answers = results_of(world.watch.wait(snippet.key, version))
    world.availability.resource_available("carol", "desk")
    assert answers == []
    world.availability.resource_available("olive", "desk")
    assert len(answers) == 1
    assert (answers[0]["online"], answers[0]["target"]) == (True, {"queue": "Support"})
    assert world.clock.getDelayedCalls() == []


def test_a_page_hears_of_the_admins_edits(world):
    snippet = world.rollover()
    version = world.widgets.configuration(snippet.key)["version"]
    answers = results_of(world.watch.wait(snippet.key, version))
    world.widgets.update_skin(world.blue.id, "Blue", {"title": "Billing team"})
    assert answers[0]["skin"]["title"] == "Billing team"


def test_a_page_without_news_hears_after_the_timeout(world):
    snippet = world.rollover()
    version = world.widgets.configuration(snippet.key)["version"]
    answers = results_of(world.watch.wait(snippet.key, version))
    world.clock.advance(POLL - 1)
    assert answers == []
    world.clock.advance(1)
    assert answers[0]["version"] == version


def test_a_page_that_goes_away_is_forgotten(world):
    snippet = world.rollover()
    version = world.widgets.configuration(snippet.key)["version"]
    waiting = world.watch.wait(snippet.key, version)
    waiting.addErrback(lambda failure: None)
    waiting.cancel()
    assert world.clock.getDelayedCalls() == []
    world.availability.resource_available("olive", "desk")


def test_a_deleted_snippet_ends_the_wait_with_unknown_snippet(world):
    snippet = world.rollover()
    version = world.widgets.configuration(snippet.key)["version"]
    answers = results_of(world.watch.wait(snippet.key, version))
    world.widgets.remove_snippet(snippet.id)
    assert answers[0].check(UnknownSnippet)
    assert world.clock.getDelayedCalls() == []


def test_stopping_answers_every_waiting_page(world):
    snippet = world.rollover()
    version = world.widgets.configuration(snippet.key)["version"]
    answers = results_of(world.watch.wait(snippet.key, version))
    world.watch.stopService()
    assert answers[0]["version"] == version
    assert world.clock.getDelayedCalls() == []
    assert results_of(world.watch.wait(snippet.key, version))[0]["version"] == version

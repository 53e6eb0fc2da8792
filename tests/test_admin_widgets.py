"""
Tests for L{mcc.admin.widgets}: the Design Widgets tab of the admin site,
driven synchronously with treq's StubTreq like the rest of the admin site.
"""

import functools
import json
import re
from html import unescape

import pytest

from mcc.admin.widgets import WIDGET_TYPES, DesignWidgets
from mcc.routing.chats import ChatService, Timeouts
from mcc.routing.widgets import DEFAULT_SKIN, WIDGET_TYPES as RULE_TYPES, Level, Widgets
from tests.test_admin import World

PUBLIC_URL = "https://chat.example.org"


class WidgetWorld(World):
    def __init__(self):
        World.__init__(self)
        chats = ChatService(
            self.store, self.availability, self.queues.operators_of, self.clock, str,
            Timeouts(answer=120, visitor=90, poll=25, reconnect=30),
        )
        self.widgets = Widgets(self.store, chats.is_available, self.clock, lambda: "pUbL1c-k3y")
        self.site.sections["widgets"] = functools.partial(
            DesignWidgets, self.widgets, lambda: PUBLIC_URL
        )
        self.support = self.queues.create("Support")
        self.sales = self.queues.create("Sales")


@pytest.fixture
def world():
    world = WidgetWorld()
    yield world
    world.store.close()


def skin_form(**overrides):
    form = {"name": "Blue", "title": "Support chat", "colour_primary": "#1f56c9"}
    form.update(overrides)
    return form


def snippet_form(**overrides):
    form = {"name": "Shop", "widget_type": "floating", "no_javascript": "", "offline": "", "online": ""}
    form.update(overrides)
    return form


def textarea(page, field_id):
    found = re.search(rf'<textarea id="{field_id}"[^>]*>(.*?)</textarea>', page.text, re.S)
    return unescape(found.group(1))


# The tab


def test_design_widgets_has_the_widgets_and_code_sub_tabs(world):
    browser = world.admin()
    page = browser.get("/admin/widgets")
    assert page.code == 200
    assert '<a href="/admin/widgets" aria-current="page">Design Widgets</a>' in page.text
    assert '<a href="/admin/widgets" aria-current="page">Widgets</a>' in page.text
    assert '<a href="/admin/widgets/code">Code</a>' in page.text
    assert 'href="/admin/widgets/new">New Widget</a>' in page.text
    assert "img-src 'self' https: http: data:" in page.header("content-security-policy")
    assert "frame-ancestors 'none'" in page.header("content-security-policy")
    code = browser.get("/admin/widgets/code")
    assert '<a href="/admin/widgets/code" aria-current="page">Code</a>' in code.text
    assert "Choose Code Snippet" in code.text
    assert 'aria-label="Add code snippet"' in code.text


def test_without_its_section_the_tab_is_a_placeholder():
    world = World()
    try:
        browser = world.admin()
        page = browser.get("/admin/widgets")
        assert page.code == 200
        assert "This tab is not available yet." in page.text
        assert browser.post("/admin/reports", {}).code == 404
        assert browser.get("/admin/reports/more").code == 404
    finally:
        world.store.close()


def test_pages_need_a_session_and_posts_their_token(world):
    browser = world.browser()
    for path in ("/admin/widgets", "/admin/widgets/new", "/admin/widgets/code"):
        assert browser.get(path).location == "/admin/sign-in"
    browser = world.admin()
    browser.get("/admin/widgets/new")
    assert browser.post("/admin/widgets", skin_form(), csrf=False).code == 403
    assert browser.post("/admin/widgets/code", {}, csrf="0" * 64).code == 403
    assert world.widgets.skins() == [] and world.widgets.snippets() == []


# The Widgets sub-tab


def test_new_widget_starts_from_the_defaults_beside_a_live_preview(world):
    page = world.admin().get("/admin/widgets/new")
    assert page.code == 200
    assert 'value="Widget 1"' in page.text
    assert 'value="chat is offline"' in page.text
    assert '<button type="submit" class="button button-primary">Save Skin</button>' in page.text
    assert 'data-widget-preview="/widget/widget.js"' in page.text
    defaults = re.search(r'data-defaults="([^"]*)"', page.text).group(1)
    assert json.loads(unescape(defaults)) == DEFAULT_SKIN
    for choice in ("off", "optional", "required"):
        assert f'<option value="{choice}"' in page.text
    assert "<summary>Visitor-facing text</summary>" in page.text


def test_new_widget_proposes_a_name_no_widget_has(world):
    first = world.widgets.create_skin("Widget 1", {})
    world.widgets.create_skin("Widget 2", {})
    world.widgets.remove_skin(first.id)
    page = world.admin().get("/admin/widgets/new")
    assert 'value="Widget 3"' in page.text


def test_save_skin_then_change_it(world):
    browser = world.admin()
    browser.get("/admin/widgets/new")
    page = browser.post("/admin/widgets", skin_form(field_email="required", text_send="Enviar"))
    skin = world.widgets.skins()[0]
    assert page.location == f"/admin/widgets/{skin.id}"
    assert (skin.name, skin.settings["title"], skin.settings["field_email"]) == (
        "Blue", "Support chat", "required"
    )
    assert skin.settings["text_send"] == "Enviar"
    assert skin.settings["offline_text"] == "chat is offline"
    page = browser.follow()
    assert "Saved the widget Blue." in page.text
    page = browser.post(f"/admin/widgets/{skin.id}", skin_form(title="Help desk", colour_primary="#0b6e4f"))
    assert page.location == f"/admin/widgets/{skin.id}"
    changed = world.widgets.skin(skin.id).settings
    assert (changed["title"], changed["colour_primary"]) == ("Help desk", "#0b6e4f")
    assert 'value="Help desk"' in browser.follow().text


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"colour_primary": "#9db6e8"}, "has a contrast of 2.0:1; WCAG 2.2 AA needs at least 4.5:1 for text."),
        ({"name": " "}, "A widget needs a name."),
        ({"logo_url": "ftp://example.org/logo.png"}, "is not an http or https address."),
    ],
)
def test_a_refused_skin_keeps_what_was_typed(world, overrides, message):
    browser = world.admin()
    browser.get("/admin/widgets/new")
    page = browser.post("/admin/widgets", skin_form(title="Typed title", **overrides))
    assert page.code == 400
    assert 'role="alert"' in page.text
    assert message in unescape(page.text)
    assert 'value="Typed title"' in page.text
    assert world.widgets.skins() == []


def test_a_skin_in_use_cannot_be_deleted(world):
    blue = world.widgets.create_skin("Blue", {})
    spare = world.widgets.create_skin("Spare", {})
    snippet = world.widgets.create_snippet()
    world.widgets.save_snippet(snippet.id, "Shop", "floating", {}, [Level(blue.id, username="olive")])
    browser = world.admin()
    assert "Delete the widget Blue?" in browser.get(f"/admin/widgets/{blue.id}/delete").text
    page = browser.post(f"/admin/widgets/{blue.id}/delete")
    assert page.code == 400
    assert "The widget &#39;Blue&#39; is used by the code snippet Shop." in page.text
    assert "Choose another widget in its service levels first." in page.text
    page = browser.post(f"/admin/widgets/{spare.id}/delete")
    assert page.location == "/admin/widgets"
    assert [skin.name for skin in world.widgets.skins()] == ["Blue"]


def test_unknown_widget_and_snippet_are_not_found(world):
    browser = world.admin()
    page = browser.get("/admin/widgets/42")
    assert page.code == 404
    assert "No widget 42." in page.text
    assert browser.get("/admin/widgets/code/42").code == 404


# The Code sub-tab


def test_the_green_plus_adds_a_snippet_and_opens_it(world):
    browser = world.admin()
    browser.get("/admin/widgets/code")
    page = browser.post("/admin/widgets/code")
    snippet = world.widgets.snippets()[0]
    assert page.location == f"/admin/widgets/code/{snippet.id}"
    page = browser.follow()
    assert "Added Snippet 1. Choose its widget type and service levels, then save." in page.text
    assert '<legend>Widget Type</legend>' in page.text
    for value, label, _ in WIDGET_TYPES:
        assert f'<label for="type-{value}">{label}</label>' in page.text
    assert [value for value, _, _ in WIDGET_TYPES] == list(RULE_TYPES)
    assert 'value="floating" checked' in page.text
    assert re.findall(r'value="(\w+)"[^>]* data-without-online', page.text) == ["embedded", "direct"]
    for option in ("No JavaScript", "Offline", "Online"):
        assert f">{option}</label>" in page.text
    assert "Chat Service Levels" in page.text
    assert 'aria-label="Add service level"' in page.text
    assert textarea(page, "generated-code") == (
        '<div id="mcc-chat-pUbL1c-k3y"></div>\n'
        '<script async src="https://chat.example.org/widget/loader.js" data-mcc="pUbL1c-k3y"></script>\n'
        '<noscript><iframe src="https://chat.example.org/widget/pUbL1c-k3y/noscript" title="Chat"'
        ' style="width:100%;height:6em;border:0"></iframe></noscript>'
    )


def test_save_a_snippet_with_its_service_levels_in_order(world):
    blue = world.widgets.create_skin("Blue", {})
    green = world.widgets.create_skin("Green", {})
    snippet = world.widgets.create_snippet()
    browser = world.admin()
    browser.get(f"/admin/widgets/code/{snippet.id}")
    form = snippet_form(
        widget_type="popup",
        no_javascript="<p>Turn on JavaScript</p>",
        offline="<p>Away</p>",
        online="<a href='#'>Chat now</a>",
        target=[f"queue:{world.sales.id}", "user:olive"],
        skin=[str(green.id), str(blue.id)],
    )
    page = browser.post(f"/admin/widgets/code/{snippet.id}", form)
    assert page.location == f"/admin/widgets/code/{snippet.id}"
    saved = world.widgets.snippet(snippet.id)
    assert (saved.name, saved.widget_type) == ("Shop", "popup")
    assert (saved.no_javascript_html, saved.offline_html, saved.online_html) == (
        "<p>Turn on JavaScript</p>", "<p>Away</p>", "<a href='#'>Chat now</a>"
    )
    assert [(level.queue_name, level.username, level.skin_id) for level in saved.levels] == [
        ("Sales", None, green.id), (None, "olive", blue.id)
    ]
    page = browser.follow()
    assert "Saved the code snippet Shop." in page.text
    assert f'<option value="queue:{world.sales.id}" selected>Sales</option>' in page.text
    assert '<option value="user:olive" selected>Olive Operator (olive)</option>' in page.text
    assert textarea(page, "offline") == "<p>Away</p>"


def test_level_buttons_without_javascript_rearrange_the_rows_unsaved(world):
    blue = world.widgets.create_skin("Blue", {})
    green = world.widgets.create_skin("Green", {})
    snippet = world.widgets.create_snippet()
    browser = world.admin()
    browser.get(f"/admin/widgets/code/{snippet.id}")
    rows = {"target": [f"queue:{world.support.id}", f"queue:{world.sales.id}"], "skin": [str(blue.id), str(green.id)]}
    page = browser.post(f"/admin/widgets/code/{snippet.id}", snippet_form(level="up:1", **rows))
    assert page.code == 200
    assert "Not saved yet" in page.text and "data-unsaved hidden" not in page.text
    chosen = re.findall(r'<option value="(queue:\d+)" selected>', page.text)
    assert chosen == [f"queue:{world.sales.id}", f"queue:{world.support.id}"]

    page = browser.post(f"/admin/widgets/code/{snippet.id}", snippet_form(level="add", **rows))
    assert page.text.count("<tr data-level>") == 3 + 1
    assert 'aria-label="Name, service level 3"' in page.text
    page = browser.post(f"/admin/widgets/code/{snippet.id}", snippet_form(level="remove:0", **rows))
    assert re.findall(r'<option value="(queue:\d+)" selected>', page.text) == [f"queue:{world.sales.id}"]
    page = browser.post(f"/admin/widgets/code/{snippet.id}", snippet_form(level="down:1", **rows))
    assert re.findall(r'<option value="(queue:\d+)" selected>', page.text) == [
        f"queue:{world.support.id}", f"queue:{world.sales.id}"
    ]
    assert world.widgets.snippet(snippet.id).levels == ()


def test_a_level_without_a_queue_or_user_is_refused(world):
    blue = world.widgets.create_skin("Blue", {})
    snippet = world.widgets.create_snippet()
    browser = world.admin()
    browser.get(f"/admin/widgets/code/{snippet.id}")
    page = browser.post(
        f"/admin/widgets/code/{snippet.id}",
        snippet_form(name="Kept", target=["", "user:olive"], skin=[str(blue.id), str(blue.id)]),
    )
    assert page.code == 400
    assert "Service level 1 needs a queue or a user." in page.text
    assert 'value="Kept"' in page.text
    assert world.widgets.snippet(snippet.id) == snippet


def test_without_widgets_the_levels_panel_says_to_make_one_first(world):
    snippet = world.widgets.create_snippet()
    page = world.admin().get(f"/admin/widgets/code/{snippet.id}")
    assert "Create a widget in the" in page.text
    assert 'aria-label="Add service level" title="Add service level" disabled' in page.text


def test_a_direct_chat_url_is_shown_with_a_link_and_a_frame(world):
    snippet = world.widgets.create_snippet()
    world.widgets.save_snippet(snippet.id, "Help page", "direct", {}, [])
    page = world.admin().get(f"/admin/widgets/code/{snippet.id}")
    assert 'value="https://chat.example.org/widget/pUbL1c-k3y/chat" readonly' in page.text
    assert textarea(page, "generated-code") == (
        '<a href="https://chat.example.org/widget/pUbL1c-k3y/chat" target="_blank"'
        ' rel="noopener">Chat with us</a>'
    )
    assert textarea(page, "frame-code").startswith(
        '<iframe src="https://chat.example.org/widget/pUbL1c-k3y/chat" title="Chat"'
    )


def test_the_code_uses_the_words_of_the_first_service_levels_widget(world):
    first = world.widgets.create_skin("Dutch", {"title": "Hulp", "text_launcher": "Chat met ons"})
    second = world.widgets.create_skin("Blue", {})
    snippet = world.widgets.create_snippet()
    levels = [Level(first.id, username="olive"), Level(second.id, queue_id=world.support.id)]
    world.widgets.save_snippet(snippet.id, "Help page", "direct", {}, levels)
    page = world.admin().get(f"/admin/widgets/code/{snippet.id}")
    assert textarea(page, "generated-code").endswith('rel="noopener">Chat met ons</a>')
    assert ' title="Hulp" ' in textarea(page, "frame-code")


def test_delete_a_snippet_after_confirmation(world):
    snippet = world.widgets.create_snippet()
    browser = world.admin()
    page = browser.get(f"/admin/widgets/code/{snippet.id}/delete")
    assert "Delete the code snippet Snippet 1?" in page.text
    page = browser.post(f"/admin/widgets/code/{snippet.id}/delete")
    assert page.location == "/admin/widgets/code"
    assert world.widgets.snippets() == []
    assert "Deleted the code snippet Snippet 1." in browser.follow().text


def test_every_field_has_a_label(world):
    blue = world.widgets.create_skin("Blue", {})
    snippet = world.widgets.create_snippet()
    world.widgets.save_snippet(snippet.id, "Shop", "floating", {}, [Level(blue.id, username="olive")])
    browser = world.admin()
    for path in ("/admin/widgets/new", f"/admin/widgets/{blue.id}", f"/admin/widgets/code/{snippet.id}"):
        text = browser.get(path).text
        fields = [
            match
            for match in re.finditer(r"<(?:input|textarea|select)\b[^>]*>", text)
            if 'type="hidden"' not in match.group(0)
        ]
        assert fields, path
        for match in fields:
            tag = match.group(0)
            field_id = re.search(r'id="([^"]+)"', tag)
            assert "aria-label=" in tag or (
                field_id and f'<label for="{field_id.group(1)}"' in text
            ), (path, tag)


def test_the_code_sub_tab_says_when_the_public_url_is_a_loopback_address(world):
    browser = world.admin()
    assert "--public-url" not in browser.get("/admin/widgets/code").text
    for url in ("http://localhost:8080", "http://127.0.0.1:8080", "http://[::1]:8080"):
        world.site.sections["widgets"] = functools.partial(DesignWidgets, world.widgets, lambda url=url: url)
        page = browser.get("/admin/widgets/code")
        assert f"The generated code names {url}, an address of this machine only" in page.text
        assert "<code>--public-url</code>" in page.text
        assert "--public-url" not in browser.get("/admin/widgets").text

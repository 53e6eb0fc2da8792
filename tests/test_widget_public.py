"""
Tests for L{mcc.widget.public}, L{mcc.widget.assets} and L{mcc.widget.code}:
what websites fetch under /widget, driven synchronously with treq's
StubTreq; the size budget of the scripts; the code admins paste.
"""

import gzip
import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
import treq
from treq.testing import RequestTraversalAgent, StubTreq
from twisted.python import usage
from twisted.web.http_headers import Headers
from twisted.web.resource import Resource

from mcc.config import Options
from mcc.routing.widgets import DEFAULT_SKIN, Level
from mcc.widget.assets import accepts_gzip, load_assets
from mcc.widget.code import chat_url, frame_code, generated_code
from mcc.widget.public import LOADER_LIFETIME, PINNED_LIFETIME, WidgetSite
from tests.test_admin import done
from tests.test_routing_widgets import POLL, World

SITE = "http://mcc.example"
LOADER_BUDGET = 2 * 1024
WIDGET_BUDGET = 15 * 1024


class Site(World):
    def __init__(self):
        World.__init__(self)
        root = Resource()
        root.putChild(b"widget", WidgetSite(self.widgets, self.watch).resource())
        self.stub = StubTreq(root)
        self.raw = RequestTraversalAgent(root)

    def get(self, path, **headers):
        """
        The response to a GET, decoded by treq (which asks for gzip).
        """
        response = done(self.stub.get(SITE + path, headers=headers))
        return response, done(response.content())

    def get_raw(self, path, **headers):
        """
        The response as it goes over the wire: no decoding.
        """
        encoded = Headers({name.replace("_", "-"): [value] for name, value in headers.items()})
        response = done(self.raw.request(b"GET", (SITE + path).encode(), encoded))
        return response, done(treq.content(response))

    def json(self, path):
        response, body = self.get(path)
        return response, json.loads(body)


def header(response, name):
    values = response.headers.getRawHeaders(name)
    return None if values is None else values[0]


@pytest.fixture
def site():
    site = Site()
    yield site
    site.watch.stopService()
    site.store.close()


# Scripts


def test_scripts_go_out_gzip_compressed_to_browsers_that_accept_it(site):
    assets = load_assets()
    response, body = site.get_raw("/widget/loader.js", accept_encoding="gzip, deflate, br")
    assert response.code == 200
    assert header(response, "content-encoding") == "gzip"
    assert header(response, "vary") == "accept-encoding"
    assert header(response, "content-type") == "text/javascript; charset=utf-8"
    assert header(response, "cache-control") == f"public, max-age={LOADER_LIFETIME}"
    assert gzip.decompress(body) == assets["loader.js"].body

    response, body = site.get_raw("/widget/loader.js")
    assert header(response, "content-encoding") is None
    assert body == assets["loader.js"].body


def test_scripts_answer_not_modified_to_a_matching_validator(site):
    response, _ = site.get_raw("/widget/loader.js")
    etag = header(response, "etag")
    assert etag == f'W/"{load_assets()["loader.js"].version}"'
    response, body = site.get_raw("/widget/loader.js", if_none_match=etag)
    assert (response.code, body) == (304, b"")


def test_the_widget_named_by_its_version_is_kept_for_a_year(site):
    version = load_assets()["widget.js"].version
    response, _ = site.get_raw(f"/widget/widget.js?v={version}")
    assert header(response, "cache-control") == f"public, max-age={PINNED_LIFETIME}, immutable"
    response, _ = site.get_raw("/widget/widget.js?v=older")
    assert header(response, "cache-control") == f"public, max-age={LOADER_LIFETIME}"


def test_size_budget_gzip_compressed():
    assets = load_assets()
    loader = len(assets["loader.js"].gzipped)
    widget = len(assets["widget.js"].gzipped)
    assert loader <= LOADER_BUDGET, f"loader.js is {loader} bytes gzip-compressed"
    assert loader + widget <= WIDGET_BUDGET, f"the widget is {loader + widget} bytes gzip-compressed"


@pytest.mark.parametrize(
    "header_value, accepted",
    [
        (None, False),
        (b"", False),
        (b"gzip", True),
        (b"deflate, gzip;q=0.5", True),
        (b"GZIP", True),
        (b"gzip;q=0", False),
        (b"identity", False),
        (b"*", True),
        (b"gzip;q=nonsense", False),
    ],
)
def test_accepts_gzip(header_value, accepted):
    assert accepts_gzip(header_value) is accepted


# A snippet's configuration


def test_configuration_for_any_origin(site):
    snippet = site.rollover(offline="<p>Away</p>")
    response, answer = site.json(f"/widget/{snippet.key}/config.json")
    assert response.code == 200
    assert header(response, "access-control-allow-origin") == "*"
    assert header(response, "cache-control") == "no-store"
    assert (answer["type"], answer["online"], answer["html"]) == ("floating", False, "<p>Away</p>")
    assert answer["skin"]["title"] == "Billing desk"
    assert answer["script"] == f"widget.js?v={load_assets()['widget.js'].version}"
    assert answer["version"] == site.widgets.configuration(snippet.key)["version"]


def test_configuration_names_the_file_size_limit_and_whether_visitors_may_send_files(site):
    """
    The widget checks a file's size itself: a larger declared body is
    refused by the HTTP server without CORS headers.
    """
    snippet = site.rollover()
    _, answer = site.json(f"/widget/{snippet.key}/config.json")
    assert answer["max_file_size"] == 10 * 1000 * 1000
    assert answer["skin"]["visitor_files"] == "off"
    root = Resource()
    root.putChild(b"widget", WidgetSite(site.widgets, site.watch, max_file_size=5000).resource())
    response = done(StubTreq(root).get(f"{SITE}/widget/{snippet.key}/config.json"))
    assert json.loads(done(response.content()))["max_file_size"] == 5000


def test_configuration_names_the_visitor_api_limits(site):
    snippet = site.rollover()
    _, answer = site.json(f"/widget/{snippet.key}/config.json")
    assert (answer["max_message_size"], answer["max_field_size"]) == (4000, 200)
    root = Resource()
    root.putChild(b"widget", WidgetSite(site.widgets, site.watch, max_message_size=120).resource())
    response = done(StubTreq(root).get(f"{SITE}/widget/{snippet.key}/config.json"))
    answer = json.loads(done(response.content()))
    assert (answer["max_message_size"], answer["max_field_size"]) == (120, 200)
    assert answer["version"] == site.widgets.configuration(snippet.key)["version"]


def test_configuration_waits_for_a_change_of_the_version_a_page_shows(site):
    snippet = site.rollover()
    version = site.widgets.configuration(snippet.key)["version"]
    waiting = site.stub.get(f"{SITE}/widget/{snippet.key}/config.json?version={version}")
    answers = []
    waiting.addBoth(answers.append)
    assert answers == []
    site.availability.resource_available("olive", "desk")
    site.stub.flush()
    answer = json.loads(done(answers[0].content()))
    assert (answer["online"], answer["target"]) == (True, {"queue": "Support"})
    assert answer["skin"]["title"] == "Support desk"


def test_configuration_answers_after_the_poll_timeout(site):
    snippet = site.rollover()
    version = site.widgets.configuration(snippet.key)["version"]
    answers = []
    site.stub.get(f"{SITE}/widget/{snippet.key}/config.json?version={version}").addBoth(answers.append)
    site.clock.advance(POLL)
    site.stub.flush()
    assert json.loads(done(answers[0].content()))["version"] == version


def test_unknown_snippet(site):
    response, answer = site.json("/widget/nonesuch/config.json")
    assert response.code == 404
    assert header(response, "access-control-allow-origin") == "*"
    assert answer == {"error": "unknown-snippet", "message": "no code snippet 'nonesuch'"}
    response, body = site.get("/widget/nonesuch/chat")
    assert response.code == 404
    assert body == b"This chat is not available any more.\n"


# mcc's own pages


def test_chat_page_loads_the_widget_in_page_mode_and_may_be_framed(site):
    snippet = site.rollover(no_javascript="<p>Call 555 0100</p>")
    response, body = site.get(f"/widget/{snippet.key}/chat")
    page = body.decode("utf-8")
    assert response.code == 200
    assert f'<script async src="../loader.js" data-mcc="{snippet.key}" data-mcc-mode="page">' in page
    assert f'<div id="mcc-chat-{snippet.key}"></div>' in page
    assert "<noscript><div><p>Call 555 0100</p></div></noscript>" in page
    assert "<title>Billing desk</title>" in page
    policy = header(response, "content-security-policy")
    assert "script-src 'self'" in policy and "frame-ancestors" not in policy
    assert header(response, "x-frame-options") is None


def test_no_javascript_page_shows_the_contingency_or_the_skins_words(site):
    snippet = site.rollover(
        no_javascript="<p onclick='steal()'>Write to <a href='mailto:help@example.org'>us</a></p>"
        "<script>steal()</script>"
    )
    response, body = site.get(f"/widget/{snippet.key}/noscript")
    page = body.decode("utf-8")
    assert '<p>Write to <a href="mailto:help@example.org">us</a></p>' in page
    assert "steal" not in page
    assert '<base target="_top">' in page
    plain = site.snippet()
    _, body = site.get(f"/widget/{plain.key}/noscript")
    assert "<p>Turn on JavaScript to chat with us.</p>" in body.decode("utf-8")


def test_page_text_is_escaped_but_the_font_stack_is_css(site):
    skin = site.widgets.create_skin(
        "Odd", {"title": "<b>Help</b>", "font": "Georgia, Cambria, 'Times New Roman', serif"}
    )
    snippet = site.snippet(levels=[Level(skin.id, username="olive")])
    _, body = site.get(f"/widget/{snippet.key}/chat")
    page = body.decode("utf-8")
    assert "<title>&lt;b&gt;Help&lt;/b&gt;</title>" in page
    assert "font: 15px/1.45 Georgia, Cambria, 'Times New Roman', serif;" in page


# The code admins paste


def test_generated_code_names_the_snippet_by_its_public_key(site):
    snippet = site.rollover()
    assert generated_code("https://chat.example.org", snippet) == (
        '<div id="mcc-chat-key1"></div>\n'
        '<script async src="https://chat.example.org/widget/loader.js" data-mcc="key1"></script>\n'
        '<noscript><iframe src="https://chat.example.org/widget/key1/noscript" title="Chat"'
        ' style="width:100%;height:6em;border:0"></iframe></noscript>'
    )


def test_a_direct_chat_url_is_a_link_or_a_frame(site):
    snippet = site.snippet("direct")
    assert chat_url("https://chat.example.org", snippet) == "https://chat.example.org/widget/key1/chat"
    assert generated_code("https://chat.example.org", snippet) == (
        '<a href="https://chat.example.org/widget/key1/chat" target="_blank" rel="noopener">'
        "Chat with us</a>"
    )
    assert frame_code("https://chat.example.org", snippet) == (
        '<iframe src="https://chat.example.org/widget/key1/chat" title="Chat"'
        ' style="width:380px;max-width:100%;height:560px;border:0"></iframe>'
    )


def test_the_code_speaks_with_the_first_levels_skin(site):
    skin = site.widgets.create_skin(
        "Portuguese", {"title": "Fale <connosco>", "text_launcher": "Converse \"já\""}
    )
    snippet = site.snippet("direct", levels=[Level(skin.id, username="olive")])
    words = site.widgets.first_skin(snippet)
    assert generated_code(SITE, snippet, words) == (
        f'<a href="{SITE}/widget/{snippet.key}/chat" target="_blank" rel="noopener">'
        "Converse &quot;já&quot;</a>"
    )
    assert 'title="Fale &lt;connosco&gt;"' in frame_code(SITE, snippet, words)
    embedded = site.snippet("embedded", levels=[Level(skin.id, username="olive")])
    noscript = generated_code(SITE, embedded, site.widgets.first_skin(embedded))
    assert '/noscript" title="Fale &lt;connosco&gt;"' in noscript
    assert site.widgets.first_skin(site.snippet()) is None


# Where websites reach mcc


def parse(*arguments):
    options = Options()
    options.parseOptions(list(arguments))
    return options.to_config()


def test_the_public_url_defaults_to_the_http_port():
    assert parse().base_url() == "http://localhost:8080"
    assert parse("--http-port=8443").base_url() == "http://localhost:8443"
    assert parse("--interface=127.0.0.1", "--http-port=0").base_url(port=41234) == (
        "http://127.0.0.1:41234"
    )
    assert parse("--interface=::1").base_url() == "http://[::1]:8080"


def test_a_public_url_given_is_used_as_it_is():
    config = parse("--public-url=https://chat.example.org/mcc/", "--http-port=0")
    assert config.public_url == "https://chat.example.org/mcc"
    assert config.base_url(port=41234) == "https://chat.example.org/mcc"


@pytest.mark.parametrize(
    "value", ["chat.example.org", "ftp://chat.example.org", "https://", "https://x.org/?a=1"]
)
def test_a_public_url_must_be_a_base_url(value):
    with pytest.raises(usage.UsageError) as raised:
        parse(f"--public-url={value}")
    assert str(raised.value) == (
        f"--public-url: {value!r} is not a base URL like https://chat.example.org"
    )


def test_the_readme_shows_generated_code_exactly(site):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    shown = "\n".join(
        line[4:] for line in readme.splitlines() if re.match(r"    <(div|script|noscript)\b", line)
    )
    key = re.search(r'data-mcc="([\w-]+)"', shown).group(1)
    snippet = replace(site.snippet("floating"), key=key)
    assert shown == generated_code("http://localhost:8080", snippet, DEFAULT_SKIN)

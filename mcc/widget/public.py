# -*- test-case-name: tests.test_widget_public -*-
"""
What websites and their visitors fetch under C{/widget}, from any origin:

    GET /widget/loader.js                  the script a website's code names
    GET /widget/widget.js?v=VERSION        the widget itself
    GET /widget/KEY/config.json?version=V  what snippet KEY shows now; given the
                                           version a page shows, the answer
                                           waits for a change (long polling)
    GET /widget/KEY/chat                   the chat page: the direct chat URL,
                                           also the pop-up and pop-out window
    GET /widget/KEY/noscript               the No JavaScript contingency, which
                                           the code's <noscript> frame shows

Scripts go out gzip-compressed to browsers that accept it, with a validator
and a lifetime: the loader's is short, because published pages name it by
a fixed URL; the widget's is a year, because the loader names it by version.
"""

import json

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from klein import Klein
from twisted.web import http

from mcc import resources
from mcc.routing.errors import UnknownSnippet
from mcc.routing.files import DEFAULT_MAX_SIZE
from mcc.widget.assets import SCRIPT_TYPE, accepts_gzip, load_assets
from mcc.widget.visitor_api import FIELD_LIMIT, MAX_MESSAGE_SIZE

TEMPLATES = resources.TEMPLATES / "widget"
LOADER_LIFETIME = 600
"""
Seconds browsers keep the loader: a new mcc reaches published pages within it.
"""
PINNED_LIFETIME = 365 * 24 * 3600
PAGE_POLICY = (
    b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline';"
    b" img-src * data:; base-uri 'none'"
)
"""
mcc's own pages show admins' contingency HTML, already sanitised by the
widget rules; the policy keeps scripts out all the same.  Any site may frame
them (the direct chat URL in an iframe).
"""


class WidgetSite:
    """
    @param widgets: the L{mcc.routing.widgets.Widgets} rules.
    @param watch: the L{mcc.routing.widgets.ConfigurationWatch} for long polls.
    @param max_message_size: the visitor API's limit on a question or
        message, in characters, which the widget's fields keep to.
    @param max_file_size: the largest file a chat takes, in bytes, which
        the widget checks before sending one: the HTTP server refuses a
        larger declared body before the visitor API, without CORS headers,
        so the widget would not learn why.
    """

    app = Klein()

    def __init__(
        self, widgets, watch, assets=None, max_message_size=MAX_MESSAGE_SIZE,
        max_file_size=DEFAULT_MAX_SIZE,
    ):
        self.widgets = widgets
        self.watch = watch
        self.max_message_size = max_message_size
        self.max_file_size = max_file_size
        self.assets = assets or load_assets()
        self._templates = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def resource(self):
        return self.app.resource()

    @app.handle_errors(UnknownSnippet)
    def unknown_snippet(self, request, failure):
        request.setResponseCode(404)
        request.setHeader(b"cache-control", b"no-store")
        if request.path.endswith(b".json"):
            request.setHeader(b"access-control-allow-origin", b"*")
            request.setHeader(b"content-type", b"application/json")
            return json.dumps({"error": "unknown-snippet", "message": str(failure.value)}).encode()
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return b"This chat is not available any more.\n"

    # Scripts

    @app.route("/loader.js", methods=["GET"])
    def loader(self, request):
        return self._script(request, "loader.js", LOADER_LIFETIME)

    @app.route("/widget.js", methods=["GET"])
    def widget(self, request):
        pinned = request.args.get(b"v", [b""])[0].decode("ascii", "replace")
        if pinned == self.assets["widget.js"].version:
            return self._script(request, "widget.js", PINNED_LIFETIME, immutable=True)
        return self._script(request, "widget.js", LOADER_LIFETIME)

    def _script(self, request, name, lifetime, immutable=False):
        asset = self.assets[name]
        request.setHeader(b"content-type", SCRIPT_TYPE)
        control = f"public, max-age={lifetime}" + (", immutable" if immutable else "")
        request.setHeader(b"cache-control", control.encode("ascii"))
        request.setHeader(b"vary", b"accept-encoding")
        request.setHeader(b"x-content-type-options", b"nosniff")
        if request.setETag(f'W/"{asset.version}"'.encode("ascii")) == http.CACHED:
            return b""
        if accepts_gzip(request.getHeader(b"accept-encoding")):
            request.setHeader(b"content-encoding", b"gzip")
            return asset.gzipped
        return asset.body

    # A snippet's configuration

    @app.route("/<key>/config.json", methods=["GET"])
    def configuration(self, request, key):
        request.setHeader(b"access-control-allow-origin", b"*")
        version = request.args.get(b"version", [b""])[0].decode("ascii", "replace")
        # Klein cancels the wait when the page goes away.
        waiting = self.watch.wait(key, version)
        return waiting.addCallback(self._configuration_answer, request)

    def _configuration_answer(self, configuration, request):
        request.setHeader(b"content-type", b"application/json")
        request.setHeader(b"cache-control", b"no-store")
        answer = dict(
            configuration,
            script=f"widget.js?v={self.assets['widget.js'].version}",
            max_message_size=self.max_message_size,
            max_field_size=FIELD_LIMIT,
            max_file_size=self.max_file_size,
        )
        return json.dumps(answer).encode("utf-8")

    # mcc's own pages

    @app.route("/<key>/chat", methods=["GET"])
    def chat_page(self, request, key):
        return self._page(request, "chat.html", key)

    @app.route("/<key>/noscript", methods=["GET"])
    def no_javascript_page(self, request, key):
        return self._page(request, "noscript.html", key)

    def _page(self, request, template, key):
        configuration = self.widgets.configuration(key)
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        request.setHeader(b"cache-control", b"no-store")
        request.setHeader(b"x-content-type-options", b"nosniff")
        request.setHeader(b"content-security-policy", PAGE_POLICY)
        page = self._templates.get_template(template).render(
            key=key,
            skin=configuration["skin"],
            no_javascript_html=configuration["no_javascript_html"],
        )
        return page.encode("utf-8")

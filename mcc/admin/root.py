# -*- test-case-name: tests.test_admin_root -*-
"""
The root of mcc's HTTP port: a landing page at C{/} that leads to the
admin site and the chat test page, the icon browsers ask for, and a page in
the site's layout for any address nobody serves.
"""

from twisted.web import resource

from mcc.admin.pages import Pages
from mcc.admin.shell import SECURITY_HEADERS


class Root(resource.Resource):
    """
    The parent of everything mcc serves over HTTP; the services are
    mounted with C{putChild}.
    """

    def __init__(self, pages=None):
        resource.Resource.__init__(self)
        self.pages = pages or Pages()

    def getChild(self, name, request):
        if name == b"" and not request.postpath:
            return _Page(self.pages, "landing.html", 200)
        if name == b"favicon.ico" and not request.postpath:
            return _Favicon(self.pages)
        return _Page(self.pages, "not-found.html", 404, problem="no such page")


class _Page(resource.Resource):
    isLeaf = True

    def __init__(self, pages, template, status, **context):
        resource.Resource.__init__(self)
        self.pages = pages
        self.template = template
        self.status = status
        self.context = context

    def render(self, request):
        request.setResponseCode(self.status)
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        for name, value in SECURITY_HEADERS.items():
            request.setHeader(name, value)
        return self.pages.render(self.template, **self.context)


class _Favicon(resource.Resource):
    isLeaf = True

    def __init__(self, pages):
        resource.Resource.__init__(self)
        self.pages = pages

    def render_GET(self, request):
        body, content_type = self.pages.assets["favicon.svg"]
        request.setHeader(b"content-type", content_type)
        request.setHeader(b"cache-control", b"max-age=86400")
        return body

# -*- test-case-name: tests.test_admin -*-
"""
A tab still to be built: its one page says what it will do.
"""

import functools

from klein import Klein
from werkzeug.exceptions import NotFound


class Placeholder:
    """
    The tab C{visit.tab} of the admin site C{site}, saying C{summary}.
    """

    app = Klein()

    def __init__(self, summary, site, visit):
        self.summary = summary
        self.site = site
        self.visit = visit

    def resource(self):
        return self.app.resource()

    @app.handle_errors(NotFound)
    def not_found(self, request, failure):
        return self.site.not_found(request)

    @app.route("/", methods=["GET"], strict_slashes=False)
    def summary_page(self, request):
        title = dict((tab.key, tab.label) for tab in self.site.tabs)[self.visit.tab]
        return self.site.page(
            request, self.visit, "placeholder.html", title=title, summary=self.summary
        )


def placeholder(summary):
    """
    The server of a tab still to come, for L{Tab}.
    """
    return functools.partial(Placeholder, summary)

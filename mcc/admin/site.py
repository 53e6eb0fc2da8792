# -*- test-case-name: tests.test_admin -*-
"""
The admin site under C{/admin/}: administrators manage accounts, queues and
widgets here.  It is never used for chat.  Pages are rendered on the server
and work without JavaScript; the script only refreshes presence and moves
operators between columns without a round trip.

This module only wires the tabs into the frame (L{mcc.admin.shell}): a new
tab is a module of its own and one line in L{TABS}.
"""

from mcc.admin.activity import ActivityTab, LiveSections
from mcc.admin.gateways import gateways_tab
from mcc.admin.placeholder import Placeholder, placeholder
from mcc.admin.queues import QueuesTab
from mcc.admin.reports import reports_tab
from mcc.admin.shell import AdminShell, Tab
from mcc.admin.users import UsersTab

__all__ = ["AdminSite", "TABS"]


def activity_tab(site, visit):
    """
    The Activity tab, once the site has the chat history to show.
    """
    if site.history is None:
        return Placeholder("The Activity tab needs the chat history.", site, visit)
    return ActivityTab(site, visit)


TABS = (
    Tab("users", "Users", UsersTab),
    Tab("queues", "Queues", QueuesTab),
    # Served by mcc.admin.widgets.DesignWidgets, which tap gives its rules.
    Tab(
        "widgets",
        "Design Widgets",
        placeholder("Design chat widgets that match your website, and get the code to embed them."),
    ),
    Tab("activity", "Activity", activity_tab),
    # Served with the reports rules, which tap gives it.
    Tab("reports", "Reports", reports_tab()),
    # Served with the SMS gateways' rules, which tap gives it.
    Tab("gateways", "Gateways", gateways_tab()),
)


class AdminSite(AdminShell):
    """
    The admin site with its tabs; see L{AdminShell} for its parameters.

    @param history: the L{ChatHistory} the Activity tab reads and changes.
    @param monitor: the L{LiveMonitor} the Activity tab watches.
    @param operations: the L{ChatOperations} through which the Activity
        tab transfers and ends chats.
    """

    tabs = TABS

    def __init__(self, *args, history=None, monitor=None, operations=None, **kwargs):
        AdminShell.__init__(self, *args, **kwargs)
        self.history = history
        self.monitor = monitor
        self.operations = operations
        self.live_sections = LiveSections()

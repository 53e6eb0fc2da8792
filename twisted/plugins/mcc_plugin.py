"""
C{twistd mcc}: the whole service in one process.
"""

from twisted.application.service import ServiceMaker

mcc = ServiceMaker(
    "mcc",
    "mcc.plugin_entry",
    "My Customer Cloud: live chat answered from XMPP clients",
    "mcc",
)

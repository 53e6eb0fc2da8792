# -*- test-case-name: tests.test_xmpp_management,tests.test_xmpp_mobile -*-
"""
Client state indication (XEP-0352): a phone in a pocket says it is
inactive, and the server holds back what it need not wake it for.
"""

NS_CSI = "urn:xmpp:csi:0"


def client_state(session, element):
    """
    C{<active/>} or C{<inactive/>} from the client of C{session}.
    """
    session.set_inactive(element.name == "inactive")


NONZAS = {(NS_CSI, "active"): client_state, (NS_CSI, "inactive"): client_state}

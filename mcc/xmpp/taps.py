# -*- test-case-name: tests.test_xmpp_carbons,tests.test_xmpp_archive -*-
"""
One place that sees every message an account sends or is given, whichever
path delivers it (a full JID, the bare JID, a guest's chat), for what must
follow each one: the archive (XEP-0313) and carbon copies (XEP-0280).
"""


class MessageTaps:
    """
    @ivar observers: objects with C{sent(message)}, C{receiving(message,
        owner)} and C{received(message, owner, sessions)}; C{owner} is the
        bare JID of the account given the message and C{sessions} those of
        its resources it was sent to.
    """

    def __init__(self):
        self.observers = []

    def sent(self, message):
        """
        A session's client sent C{message} (stamped, with C{.session}).
        """
        for observer in self.observers:
            observer.sent(message)

    def receiving(self, message, owner):
        """
        C{message} is about to be given to C{owner}; observers may add to it.
        """
        for observer in self.observers:
            observer.receiving(message, owner)

    def received(self, message, owner, sessions):
        for observer in self.observers:
            observer.received(message, owner, sessions)

    def deliver(self, message, owner, sessions):
        """
        Give C{message} to C{sessions} of C{owner}, as it is addressed.
        """
        self.receiving(message, owner)
        for session in sessions:
            session.send(message)
        self.received(message, owner, sessions)

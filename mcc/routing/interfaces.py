"""
The boundaries of the routing layer, kept together.
"""

from zope.interface import Interface


class IOperatorChannel(Interface):
    """
    How the router reaches operators; the XMPP server implements it, where
    every chat appears as a guest JID in the operator's own client.
    """

    def offer(chat, operators, transcript):
        """
        Ring C{operators} (usernames) with a new or returning C{chat};
        C{transcript} holds the messages said so far (chat events), for an
        operator who joins a conversation under way.
        """

    def resume(chat, operator, missed):
        """
        C{operator} of C{chat} is back after going offline: show the guest
        again and pass on C{missed}, what the visitor said meanwhile.
        """

    def deliver(chat, operator, text):
        """
        Pass the visitor's message C{text} to C{operator}.
        """

    def typing(chat, operator, state):
        """
        Show the visitor's chat state (C{"composing"} or C{"paused"}).
        """

    def notify(chat, operators, text):
        """
        Tell C{operators} something about C{chat} from the system.
        """

    def withdraw(chat, operators):
        """
        C{chat} is no longer there for C{operators}: it ended or went elsewhere.
        """


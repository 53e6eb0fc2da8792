"""
The boundaries of the routing layer, kept together.
"""

from zope.interface import Interface


class IOperatorChannel(Interface):
    """
    How the router reaches operators; the XMPP server implements it, where
    every chat appears as a guest JID in the operator's own client.
    """

    def offer(chat, operators):
        """
        Ring C{operators} (usernames) with a new or returning C{chat}.
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


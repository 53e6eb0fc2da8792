# -*- test-case-name: tests.test_webclient_desk -*-
"""
Several ways to reach operators at once: the XMPP server and the web chat
client.  The router has one channel; this one passes everything to each of
its members, so a chat rings wherever the operator is, and the first reply
wins wherever it comes from.
"""

from zope.interface import implementer

from mcc.routing.interfaces import IOperatorChannel


@implementer(IOperatorChannel)
class Channels:
    def __init__(self, *members):
        self.members = list(members)

    def offer(self, chat, operators, transcript):
        for member in self.members:
            member.offer(chat, operators, transcript)

    def resume(self, chat, operator, missed):
        for member in self.members:
            member.resume(chat, operator, missed)

    def deliver(self, chat, operator, text):
        for member in self.members:
            member.deliver(chat, operator, text)

    def typing(self, chat, operator, state):
        for member in self.members:
            member.typing(chat, operator, state)

    def notify(self, chat, operators, text):
        for member in self.members:
            member.notify(chat, operators, text)

    def withdraw(self, chat, operators):
        for member in self.members:
            member.withdraw(chat, operators)

    def acknowledge(self, chat, operator, ref, how):
        for member in self.members:
            member.acknowledge(chat, operator, ref, how)

# -*- test-case-name: tests.test_xmpp_commands -*-
"""
Ad-hoc commands (XEP-0050): the protocol only.  L{AdHocCommands} lists a
JID's commands in service discovery, keeps the sessions of multi-stage
commands and turns refusals into XMPP errors; an L{ICommandSet} decides
which commands there are and what they do, as wokkel's C{PubSubService}
leaves the decisions to its resource.

A command runs in one step (the answer is L{Done}) or two: the first
answer L{Ask}s with a data form (XEP-0004), and the form the client
submits with the session's id completes it.
"""

from dataclasses import dataclass, field

from twisted.internet import defer
from twisted.words.protocols.jabber import error
from twisted.words.xish import domish
from wokkel import data_form, disco
from wokkel.iwokkel import IDisco
from wokkel.subprotocols import IQHandlerMixin, XMPPHandler
from zope.interface import Interface, implementer

from mcc.routing.chats import ChatError, ChatOver, UnknownChat
from mcc.routing.errors import MailNotConfigured, NotPermitted, NotYourChat, UnknownCanned
from mcc.xmpp import jids

NS_COMMANDS = "http://jabber.org/protocol/commands"
COMMAND = f"/iq[@type='set']/command[@xmlns='{NS_COMMANDS}']"
SESSION_TIMEOUT = 600.0
"""
Seconds a form may wait for its answer.
"""
MAX_SESSIONS = 16
"""
Unanswered forms one requester may have open; one more drops the oldest.
"""
ACTIONS = ("execute", "next", "complete", "prev", "cancel")


class UnknownCommand(ChatError):
    reason = "unknown-command"


@dataclass(frozen=True)
class Ask:
    """
    A command's first stage: the form to fill in.
    """

    form: data_form.Form


@dataclass(frozen=True)
class Done:
    """
    A finished command: what to tell the operator, and a result form.
    """

    note: str = ""
    form: data_form.Form = None
    table: tuple = ()
    """
    For a multi-item result: the columns, C{(var, label)} pairs, then the
    rows, each a dict of var to text; C{()} for none.
    """


class ICommandSet(Interface):
    """
    The commands of some JIDs, for L{AdHocCommands}.  Requesters and targets
    are L{jid.JID}s; refusals raise a L{ChatError} or L{UnknownCanned}.
    """

    def listed(requester, target):
        """
        The C{(node, name)} of the commands C{requester} may run on C{target}.
        """

    def start(node, requester, target):
        """
        Run the command C{node}: an L{Ask} or a L{Done}.
        """

    def submit(node, requester, target, form):
        """
        Complete C{node} with the submitted L{data_form.Form}: a L{Done}.
        """


@dataclass
class _Session:
    requester: str
    target: str
    node: str
    started_at: float
    ids: list = field(default_factory=list)


def stanza_error(problem):
    """
    The XMPP error for a refusal; its message is the error text.
    """
    text = str(problem)
    if isinstance(problem, (UnknownChat, UnknownCommand)):
        return error.StanzaError("item-not-found", text=text)
    if isinstance(problem, (NotYourChat, NotPermitted)):
        return error.StanzaError("forbidden", text=text)
    if isinstance(problem, ChatOver):
        return error.StanzaError("not-allowed", text=text)
    if isinstance(problem, MailNotConfigured):
        return error.StanzaError("service-unavailable", text=text)
    return error.StanzaError("bad-request", text=text)


def _command_error(condition, app_condition, text=None):
    return error.StanzaError(
        condition, text=text, appCondition=domish.Element((NS_COMMANDS, app_condition))
    )


@implementer(IDisco)
class AdHocCommands(XMPPHandler, IQHandlerMixin):
    """
    XEP-0050 on the JIDs of one handler collection.
    """

    iqHandlers = {COMMAND: "on_command"}

    def __init__(self, commands, clock, new_id, session_timeout=SESSION_TIMEOUT):
        XMPPHandler.__init__(self)
        self.commands = commands
        self.clock = clock
        self.new_id = new_id
        self.session_timeout = session_timeout
        self._sessions = {}

    def connectionInitialized(self):
        self.xmlstream.addObserver(COMMAND, self.handleRequest)

    # Discovery

    def getDiscoInfo(self, requestor, target, nodeIdentifier=""):
        if not nodeIdentifier:
            return defer.succeed([disco.DiscoFeature(NS_COMMANDS)])
        if nodeIdentifier == NS_COMMANDS:
            return defer.succeed([disco.DiscoIdentity("automation", "command-list")])
        names = dict(self.commands.listed(requestor, target))
        if nodeIdentifier not in names:
            return defer.succeed([])
        return defer.succeed([
            disco.DiscoIdentity("automation", "command-node", names[nodeIdentifier]),
            disco.DiscoFeature(NS_COMMANDS),
            disco.DiscoFeature(data_form.NS_X_DATA),
        ])

    def getDiscoItems(self, requestor, target, nodeIdentifier=""):
        if nodeIdentifier != NS_COMMANDS:
            return defer.succeed([])
        return defer.succeed([
            disco.DiscoItem(target, node, name)
            for node, name in self.commands.listed(requestor, target)
        ])

    # Execution

    def on_command(self, iq):
        request = iq.command
        node = request.getAttribute("node")
        action = request.getAttribute("action") or "execute"
        if not node:
            raise _command_error("bad-request", "malformed-action", "a command needs a node")
        if action not in ACTIONS:
            raise _command_error("bad-request", "malformed-action", f"no action {action!r}")
        requester, target = jids.parse(iq["from"]), jids.parse(iq["to"])
        sessionid = request.getAttribute("sessionid")
        try:
            if sessionid is None:
                if action == "cancel":
                    raise _command_error("bad-request", "bad-sessionid", "nothing to cancel")
                return self._start(node, requester, target)
            session = self._session(sessionid, node, requester, target)
            if action == "cancel":
                return self._answer(node, sessionid, "canceled")
            if action == "prev":
                raise _command_error("bad-request", "bad-action", "this command has one form")
            form = data_form.findForm(request, None)
            if form is None or form.formType != "submit":
                raise _command_error("bad-request", "bad-payload", "submit the command's form")
            done = self.commands.submit(node, requester, target, form)
            del self._sessions[session]
            return self._done(node, sessionid, done)
        except (ChatError, UnknownCanned) as problem:
            raise stanza_error(problem) from None

    def _start(self, node, requester, target):
        stage = self.commands.start(node, requester, target)
        sessionid = self._open(node, requester, target)
        if isinstance(stage, Done):
            self._sessions.pop(sessionid, None)
            return self._done(node, sessionid, stage)
        answer = self._answer(node, sessionid, "executing")
        actions = answer.addElement("actions")
        actions["execute"] = "complete"
        actions.addElement("complete")
        answer.addChild(stage.form.toElement())
        return answer

    def _answer(self, node, sessionid, status):
        answer = domish.Element((NS_COMMANDS, "command"))
        answer["node"] = node
        answer["sessionid"] = sessionid
        answer["status"] = status
        return answer

    def _done(self, node, sessionid, done):
        answer = self._answer(node, sessionid, "completed")
        if done.note:
            answer.addElement("note", content=done.note)["type"] = "info"
        if done.form is not None:
            element = done.form.toElement()
            if done.table:
                _add_table(element, *done.table)
            answer.addChild(element)
        return answer

    # Sessions

    def _open(self, node, requester, target):
        self._expire()
        own = [key for key, s in self._sessions.items() if s.requester == requester.full()]
        for key in own[: max(0, len(own) - MAX_SESSIONS + 1)]:
            del self._sessions[key]
        sessionid = self.new_id()
        self._sessions[sessionid] = _Session(
            requester.full(), target.full(), node, self.clock.seconds()
        )
        return sessionid

    def _expire(self):
        oldest = self.clock.seconds() - self.session_timeout
        for key, session in list(self._sessions.items()):
            if session.started_at < oldest:
                del self._sessions[key]

    def _session(self, sessionid, node, requester, target):
        session = self._sessions.get(sessionid)
        if session is None or (session.requester, session.target, session.node) != (
            requester.full(), target.full(), node,
        ):
            raise _command_error("bad-request", "bad-sessionid", "no such command session")
        if session.started_at < self.clock.seconds() - self.session_timeout:
            del self._sessions[sessionid]
            raise _command_error("not-allowed", "session-expired", "this form has expired")
        return sessionid


def _add_table(form, columns, rows):
    """
    XEP-0004 multi-item results: the C{reported} columns, then one C{item}
    a row.
    """
    reported = form.addElement("reported")
    for var, label in columns:
        column = reported.addElement("field")
        column["var"], column["label"], column["type"] = var, label, "text-single"
    for row in rows:
        item = form.addElement("item")
        for var, _ in columns:
            cell = item.addElement("field")
            cell["var"] = var
            cell.addElement("value", content=row.get(var, ""))


def values(form, var):
    """
    What a submitted form holds for C{var}: a list of strings, empty for
    a field left out.
    """
    found = form.fields.get(var)
    return [] if found is None else [str(value) for value in found.values]


def value(form, var):
    found = values(form, var)
    return found[0].strip() if found else ""

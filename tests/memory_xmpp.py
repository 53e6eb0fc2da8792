"""
An mcc XMPP server in memory, for unit tests without sockets: a :memory:
store, a L{Clock}, client connections over L{StringTransport}, and bound
sessions whose stream only records what the server sends them.
"""

import itertools
from pathlib import Path

from twisted.internet import address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.words.protocols.jabber import jid
from twisted.words.xish import domish, utility
from wokkel.generic import parseXml

from mcc.config import Config
from mcc.routing.accounts import Accounts
from mcc.routing.archive import Archive
from mcc.routing.availability import Availability
from mcc.routing.chats import ChatService, Timeouts
from mcc.routing.components import RemoteVisitors
from mcc.routing.offline import OfflineStorage
from mcc.routing.personal import Blocklists, LastActivity, PersonalEvents, PrivateStorage
from mcc.routing.rosters import Rosters
from mcc.routing.vcards import VCards
from mcc.store import Store
from mcc.xmpp.guests import OperatorChannel
from mcc.xmpp.namespaces import NS_CLIENT
from mcc.xmpp.server import XMPPServer
from mcc.xmpp.sessions import SessionRegistry

DOMAIN = "example.org"
TLS_OPTIONS = object()
"""
Stands for the server's TLS context: the fake transport only records it.
"""


class TLSStringTransport(StringTransport):
    """
    A transport that notes when STARTTLS begins instead of doing TLS.

    @ivar tls_started_at: how many bytes had been written when C{startTLS}
        was called, or C{None}.
    """

    def __init__(self, peer_host="192.0.2.7"):
        StringTransport.__init__(
            self, peerAddress=address.IPv4Address("TCP", peer_host, 40000)
        )
        self.tls_options = None
        self.tls_started_at = None

    def startTLS(self, options):
        self.tls_options = options
        self.tls_started_at = len(self.value())


class RecordingStream(utility.EventDispatcher):
    """
    Stands for a bound client's XML stream: keeps copies of what is sent
    to it.
    """

    def __init__(self, clock):
        utility.EventDispatcher.__init__(self)
        self.sent = []
        self.closed_with = None
        self.last_activity = clock.seconds()

    def send(self, element):
        # A copy, as a real stream writes the element out at once: the
        # server may change the same element for the next recipient.  Text
        # is read as the client would, inside a jabber:client stream.
        xml = element if isinstance(element, str) else element.toXml()
        context = parseXml(f"<stream xmlns='{NS_CLIENT}'>{xml}</stream>")
        self.sent.append(context.firstChildElement())

    def close_with_error(self, condition, text=None):
        self.closed_with = condition

    def take(self):
        """
        What was sent since the last call.
        """
        sent, self.sent = self.sent, []
        return sent


def make_server(
    clock=None, users=(), offline_limits=None, archive_options=None, queues=None,
    password_checks=None, **config_overrides
):
    """
    A started L{XMPPServer} for L{DOMAIN} as C{makeService} builds it, with
    accounts C{users} (names; each one's password is the name reversed), and
    ids C{id1}, C{id2}...; C{offline_limits} are keyword arguments of
    L{OfflineStorage}, C{archive_options} those of L{Archive}; C{queues}
    maps queue names to their operators; C{password_checks} runs PLAIN's
    password checks (by default at once).  Its C{store} is there for tests
    to read; C{remote_visitors} holds the queue addresses and components.
    """
    clock = Clock() if clock is None else clock
    config = Config(data_dir=Path("unused"), domain=DOMAIN, **config_overrides)
    store = Store.open(":memory:")
    accounts = Accounts(store, clock)
    availability = Availability()
    counter = itertools.count(1)

    def new_id():
        return f"id{next(counter)}"

    queues = queues or {}
    timeouts = Timeouts(
        config.answer_timeout, config.visitor_timeout, config.poll_timeout, config.reconnect_timeout
    )
    # Built as mcc.tap builds them: the chats reach operators through the
    # sessions the server binds.
    sessions = SessionRegistry()
    channel = OperatorChannel(sessions, DOMAIN, new_id)
    chats = ChatService(store, availability, queues.__getitem__, clock, new_id, timeouts, channel)
    remote_visitors = RemoteVisitors(store, chats, clock, DOMAIN, new_secret=lambda: "s3cret")
    server = XMPPServer(
        config,
        accounts,
        Rosters(store),
        OfflineStorage(store, clock, **(offline_limits or {})),
        VCards(store),
        availability,
        chats,
        clock,
        TLS_OPTIONS,
        new_id=new_id,
        sessions=sessions,
        operator_channel=channel,
        archive=Archive(store, clock, new_id, **(archive_options or {})),
        private=PrivateStorage(store),
        pep=PersonalEvents(store, clock),
        blocklists=Blocklists(store),
        last_activity=LastActivity(store, clock),
        remote_visitors=remote_visitors,
        password_checks=password_checks,
    )
    server.remote_visitors = remote_visitors
    accounts.reserved = remote_visitors.reserves
    server.store = store
    server.chats = chats
    # What presence feeds the router, for tests to read.
    server.availability = availability
    for name in users:
        accounts.add(name, name[::-1])
    for name in queues:
        store.queues.add(name, "", 0)
    server.startService()
    remote_visitors.startService()
    return server


def bind(server, full):
    """
    Bind C{full} (C{"alice@example.org/desk"}) on a L{RecordingStream}.
    """
    address = jid.JID(full)
    return server.bind(RecordingStream(server.clock), address.user, address.resource)


def send(session, xml):
    """
    What C{session}'s client sends: C{xml} parsed as a C{jabber:client} stanza.
    """
    session.stanza_received(parseXml(xml))


def available(session, priority=None):
    """
    C{session}'s client sends available presence, with C{priority} if given.
    """
    priority = "" if priority is None else f"<priority>{priority}</priority>"
    send(session, f"<presence xmlns='jabber:client'>{priority}</presence>")


class ClientSide:
    """
    Reads what the server wrote to a L{StringTransport} as a client would,
    starting a new document at each stream header.
    """

    def __init__(self, transport):
        self.transport = transport
        self.headers = []
        self._read = 0
        self._stream = None
        self._elements = []

    def _new_document(self):
        self._stream = domish.elementStream()
        self._stream.DocumentStartEvent = self.headers.append
        self._stream.ElementEvent = lambda element: self._elements.append(element)
        self._stream.DocumentEndEvent = lambda: None

    def elements(self):
        """
        Top-level elements received since the last call.
        """
        written = self.transport.value()
        data = written[self._read :].decode("utf-8")
        self._read = len(written)
        marker = "<stream:stream"
        pieces = data.split(marker)
        if pieces[0]:
            self._stream.parse(pieces[0].encode("utf-8"))
        for piece in pieces[1:]:
            self._new_document()
            self._stream.parse((marker + piece).encode("utf-8"))
        elements, self._elements = self._elements, []
        return elements

# -*- test-case-name: tests.test_xmpp_clients,tests.test_xmpp_router,tests.test_xmpp_limits,tests.test_components -*-
"""
The XMPP server of one domain: client connections, the router, and the
handler collections that do the server's share of the work.
"""

import collections
import secrets

from twisted.application import service
from twisted.internet import protocol
from twisted.logger import Logger
from twisted.words.protocols.jabber import xmlstream
from twisted.words.xish import domish
from wokkel.component import InternalComponent
from wokkel.disco import DiscoHandler
from wokkel.generic import FallbackHandler, VersionHandler
from wokkel.ping import PingHandler

from mcc import __version__
from mcc.credentials import SECRET_BYTES, MadeUpCredentials
from mcc.throttle import LoginThrottle
from mcc.xmpp import jids
from mcc.xmpp.chatcommands import ChatCommands, OwnCommands
from mcc.xmpp.commands import AdHocCommands
from mcc.xmpp.components import ComponentFactory, RemoteOutlet
from mcc.xmpp.discovery import AccountInfo, DomainInfo, LegacySession
from mcc.xmpp import clientstate
from mcc.xmpp.guest_contact import GuestContact, GuestIntroductions, roster_extras
from mcc.xmpp.guests import GuestService, OperatorChannel
from mcc.xmpp.management import NS_SM, RESUME_TIMEOUT, SessionResumption
from mcc.xmpp.messages import MessageDelivery
from mcc.xmpp.namespaces import NS_CLIENT
from mcc.xmpp.negotiation import ClientNegotiation
from mcc.xmpp.presence import PresenceService, Subscriptions
from mcc.xmpp.roster import RosterService
from mcc.xmpp.router import ACCOUNTS, DOMAIN, GUESTS, StanzaRouter
from mcc.xmpp.sessions import ClientSession, SessionRegistry
from mcc.xmpp.stream import MAX_DEPTH, GuardedXmlStream
from mcc.xmpp.textcommands import TextCommands
from mcc.xmpp.vcard import VCardService

log = Logger()


def new_id():
    return secrets.token_hex(8)


MAX_CONNECTIONS_PER_ADDRESS = 32
"""
How many XMPP connections one address may hold open: room for a team of
operators behind one office NAT, each with a phone and a desktop, and far
from the thousands of idle sockets that would exhaust the process's files.
"""


class ClientConnectionFactory(protocol.ServerFactory):
    """
    Client streams, at most C{max_connections_per_address} open at once from
    one address; one more gets a C{policy-violation} stream error.
    """

    def __init__(
        self, server, max_connections_per_address=MAX_CONNECTIONS_PER_ADDRESS, max_depth=MAX_DEPTH
    ):
        self.server = server
        self.max_connections_per_address = max_connections_per_address
        self.max_depth = max_depth
        self._open = collections.Counter()

    def buildProtocol(self, addr):
        xs = GuardedXmlStream(
            ClientNegotiation(self.server),
            self.server.clock,
            self.server.config.max_stanza_size,
            self.max_depth,
        )
        xs.factory = self
        host = addr.host
        if self._open[host] >= self.max_connections_per_address:
            xs.addOnetimeObserver(
                xmlstream.STREAM_CONNECTED_EVENT,
                lambda _: xs.close_with_error(
                    "policy-violation", "too many connections from this address"
                ),
            )
            return xs
        self._open[host] += 1
        xs.addOnetimeObserver(xmlstream.STREAM_END_EVENT, lambda _: self._closed(host))
        return xs

    def _closed(self, host):
        self._open[host] -= 1
        if not self._open[host]:
            del self._open[host]


class XMPPServer(service.MultiService):
    """
    The server reaches what it keeps through the routing layer's services
    alone: C{accounts} (L{IAccounts}), C{rosters} (L{IRosters}), C{offline}
    (L{IOfflineStorage}), C{vcards} (L{IVCards}), C{availability} and
    C{chats}.

    @ivar sessions: the bound resources, a L{SessionRegistry}.
    """

    def __init__(
        self,
        config,
        accounts,
        rosters,
        offline,
        vcards,
        availability,
        chats,
        clock,
        tls_options,
        new_id=new_id,
        sessions=None,
        operator_channel=None,
        made_up_credentials=None,
        throttle=None,
        resume_timeout=RESUME_TIMEOUT,
        operations=None,
        transcripts=None,
        remote_visitors=None,
    ):
        """
        @param sessions: the L{SessionRegistry} to bind sessions in, shared
            with the chat router's L{OperatorChannel}; a new one if C{None}.
        @param operator_channel: that L{OperatorChannel}, through which the
            router reaches operators' XMPP clients and which guests answer
            through; one of C{sessions} if C{None}.
        @param made_up_credentials: C{name -> Credentials} for names no
            account has (a L{MadeUpCredentials} of the server's kept secret);
            by default one of a secret made for this process, which answers
            the same for the same name until the server restarts.
        @param throttle: the L{LoginThrottle} of failed logins; by default
            one of the configured per-address limits.
        @param resume_timeout: seconds a session whose connection dropped
            may be resumed within (XEP-0198).
        @param operations: the L{IChatOperations} behind the operators'
            commands (ad-hoc and typed), with C{transcripts}, the
            L{ITranscriptMailer}; without them, there are no commands.
        @param remote_visitors: the L{RemoteVisitors} of queue addresses
            and components, whose replies go out through this server; without
            it, no component attaches.
        """
        service.MultiService.__init__(self)
        self.config = config
        self.domain = config.domain
        self.accounts = accounts
        self.clock = clock
        self.tls_options = tls_options
        self.new_id = new_id
        self.sessions = SessionRegistry() if sessions is None else sessions
        accounts.on_sessions_ended.append(self.disconnect_user)
        self.router = StanzaRouter(self.domain, self.sessions, self.account_exists)
        self.remote_visitors = remote_visitors
        if remote_visitors is not None:
            remote_visitors.outlet = RemoteOutlet(self.router, new_id)
        if throttle is None:
            throttle = LoginThrottle(clock, config.auth_failures_allowed, config.auth_failure_window)
        self.throttle = throttle
        if made_up_credentials is None:
            made_up_credentials = MadeUpCredentials(secrets.token_bytes(SECRET_BYTES))
        self.made_up_credentials = made_up_credentials
        self.resumption = SessionResumption(self, availability, offline, clock, resume_timeout)
        subscriptions = Subscriptions(
            rosters, self.sessions, self.domain, self.account_exists, new_id
        )
        if operator_channel is None:
            operator_channel = OperatorChannel(self.sessions, self.domain, new_id)
        self.operator_channel = operator_channel
        own_commands, guest_commands, text_commands = [], None, None
        if operations is not None:
            own_commands = [AdHocCommands(
                OwnCommands(operations, availability, self.sessions, self.domain), clock, new_id
            )]
            guest_commands = AdHocCommands(ChatCommands(operations, chats, transcripts), clock, new_id)
            text_commands = TextCommands(operations, chats, transcripts)
        self._collection(
            DOMAIN,
            [
                *own_commands,
                DiscoHandler(),
                DomainInfo(),
                PingHandler(),
                VersionHandler("mcc", __version__),
                LegacySession(),
                FallbackHandler(),
            ],
        )
        self._collection(
            ACCOUNTS,
            [
                RosterService(
                    rosters, self.sessions, subscriptions, new_id, roster_extras(chats, self.domain)
                ),
                PresenceService(rosters, self.sessions, subscriptions, availability),
                MessageDelivery(offline, self.sessions, clock, self.domain),
                GuestIntroductions(chats, self.operator_channel),
                VCardService(vcards),
                DiscoHandler(),
                AccountInfo(),
                PingHandler(),
                LegacySession(),
                FallbackHandler(),
            ],
        )
        self._collection(
            GUESTS,
            [
                GuestService(chats, self.operator_channel, text_commands),
                # A guest answers disco itself, its commands' nodes included.
                GuestContact(chats, guest_commands),
                *([guest_commands] if guest_commands else []),
                FallbackHandler(),
            ],
        )

    def _collection(self, destination, handlers):
        collection = InternalComponent(self.router, destination)
        for handler in handlers:
            handler.setHandlerParent(collection)
        collection.setServiceParent(self)

    def stopService(self):
        """
        Tell every client the server is going away before the handlers stop.
        """
        for session in self.sessions.all():
            self.end_session(session, "system-shutdown")
            session.close("system-shutdown")
        return service.MultiService.stopService(self)

    def factory(self, **limits):
        """
        The factory of client connections; C{limits} are
        L{ClientConnectionFactory}'s keyword arguments.
        """
        return ClientConnectionFactory(self, **limits)

    def component_factory(self, **limits):
        """
        The factory of XEP-0114 component connections; C{limits} are
        L{ComponentFactory}'s keyword arguments.
        """
        return ComponentFactory(self, self.remote_visitors, **limits)

    def account_exists(self, username):
        return self.accounts.find(username) is not None

    def find_credentials(self, username):
        user = self.accounts.find(username)
        return None if user is None else user.credentials

    def is_disabled(self, username):
        user = self.accounts.find(username)
        return user is None or user.disabled

    def bind(self, xs, username, resource):
        """
        Bind a resource for an authenticated stream; an older session with
        the same full JID is closed with a C{conflict} error.

        Raises L{jid.InvalidFormat} for a resource the router could not
        parse back, such as one over 1023 bytes: nobody could reach it.
        """
        resource = resource or new_resource(self.new_id)
        full = jids.parse(f"{username}@{self.domain}/{resource}")
        session = ClientSession(full, xs, self.router, self.clock)
        replaced = self.sessions.add(session)
        if replaced is not None:
            self.end_session(replaced, "conflict")
            replaced.close("conflict", "replaced by a new connection")
        session.nonzas = dict(clientstate.NONZAS)
        for name in ("enable", "r", "a"):
            session.nonzas[(NS_SM, name)] = self.resumption.received
        self._attach(session, xs)
        return session

    def _attach(self, session, xs):
        xs.element_handler = session.element_received
        xs.addObserver(
            xmlstream.STREAM_END_EVENT, lambda _: self.resumption.stream_ended(session, xs)
        )
        session.start_keepalive(
            self.config.keepalive_interval, self.config.keepalive_grace, self.new_id
        )

    def resume(self, xs, username, element):
        """
        Resume on C{xs} the detached session of C{username} that the
        C{<resume/>} C{element} names (XEP-0198); the session, or C{None}
        once the client is told why not.
        """
        session = self.resumption.resume(xs, username, element)
        if session is not None:
            self._attach(session, xs)
            session.set_inactive(False)
        return session

    def end_session(self, session, reason="ended"):
        """
        Take a session out: its contacts see it go unavailable.

        @param reason: why, for the log: a stream error's condition or
            C{"disconnected"}.
        """
        if session.ended:
            return
        session.ended = True
        log.info(
            "XMPP session {account}/{resource} ended: {reason}",
            account=session.jid.user, resource=session.jid.resource, reason=reason,
        )
        session.stop_keepalive()
        if session.available or session.directed_to:
            unavailable = domish.Element((NS_CLIENT, "presence"))
            unavailable["type"] = "unavailable"
            session.stanza_received(unavailable)
        self.sessions.remove(session)
        self.resumption.session_ended(session)

    def disconnect_user(self, username, text):
        """
        Close every session of C{username}, for example once disabled.
        """
        for session in self.sessions.sessions(f"{username}@{self.domain}"):
            self.end_session(session, text)
            session.close("not-authorized", text)


def new_resource(new_id):
    return f"mcc-{new_id()}"

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
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.words.protocols.jabber import xmlstream
from twisted.words.xish import domish
from wokkel.disco import DiscoHandler
from wokkel.generic import FallbackHandler, VersionHandler
from wokkel.ping import PingHandler

from mcc import __version__
from mcc.credentials import SECRET_BYTES, MadeUpCredentials
from mcc.throttle import LoginThrottle
from mcc.xmpp import jids
from mcc.xmpp.chatcommands import ChatCommands, OwnCommands
from mcc.xmpp.commands import AdHocCommands
from mcc.xmpp.activity import AccountLastActivity, EntityTime, ServerUptime
from mcc.xmpp.archive import ArchiveQueries, MessageArchiving
from mcc.xmpp.blocking import Blocking
from mcc.xmpp.caps import CapsPresence, CapsQueries, ClientCapabilities
from mcc.xmpp.carbons import Carbons
from mcc.xmpp.components import ComponentFactory, RemoteOutlet
from mcc.xmpp.discovery import AccountInfo, DomainInfo, LegacySession
from mcc.xmpp.dispatch import HandlerCollection
from mcc.xmpp import clientstate
from mcc.xmpp.guest_contact import GuestContact, GuestIntroductions, roster_extras
from mcc.xmpp.guests import GuestService, OperatorChannel
from mcc.xmpp.management import NS_SM, RESUME_TIMEOUT, SessionResumption
from mcc.xmpp.messages import MessageDelivery
from mcc.xmpp.namespaces import (
    NS_BLOCKING,
    NS_CARBONS,
    NS_CLIENT,
    NS_LAST,
    NS_MAM,
    NS_PRIVATE,
    NS_SID,
    NS_TIME,
)
from mcc.xmpp.pep import FEATURES as pep_features
from mcc.xmpp.pep import PersonalEventing
from mcc.xmpp.negotiation import ClientNegotiation
from mcc.xmpp.presence import PresenceService, Subscriptions
from mcc.xmpp.private import PrivateStorageService
from mcc.xmpp.push import PushNotifications
from mcc.xmpp.roster import RosterService
from mcc.xmpp.router import ACCOUNTS, DOMAIN, GUESTS, StanzaRouter
from mcc.xmpp.sessions import ClientSession, SessionRegistry
from mcc.xmpp.stream import MAX_DEPTH, GuardedXmlStream
from mcc.xmpp.textcommands import TextCommands
from mcc.xmpp.taps import MessageTaps
from mcc.xmpp.upload import HTTPUpload
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
        self,
        server,
        max_connections_per_address=MAX_CONNECTIONS_PER_ADDRESS,
        max_depth=MAX_DEPTH,
        direct_tls=False,
    ):
        """
        @param direct_tls: whether the connections are TLS from their first
            byte (XEP-0368), so that STARTTLS is neither offered nor needed.
        """
        self.server = server
        self.direct_tls = direct_tls
        self.max_connections_per_address = max_connections_per_address
        self.max_depth = max_depth
        self._open = collections.Counter()

    def buildProtocol(self, addr):
        negotiation = ClientNegotiation(self.server)
        negotiation.tls_active = self.direct_tls
        xs = GuardedXmlStream(
            negotiation,
            self.server.clock,
            self.server.config.max_stanza_size,
            self.max_depth,
        )
        xs.factory = self
        xs.group_commit = self.server.group_commit
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


def _call_now(function, *args):
    return function(*args)


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
        archive=None,
        private=None,
        pep=None,
        blocklists=None,
        last_activity=None,
        uploads=None,
        push=None,
        remote_visitors=None,
        password_checks=None,
        group_commit=None,
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
        @param archive: the L{IMessageArchive} of accounts' messages
            (XEP-0313); none is kept without it.
        @param private: the L{IPrivateStorage} of XEP-0049, if offered.
        @param pep: the L{IPersonalEvents} of XEP-0163, if offered.
        @param blocklists: the L{IBlocklists} of XEP-0191, if offered.
        @param last_activity: the L{ILastActivity} of accounts (XEP-0012),
            if offered; the server's uptime is told in any case.
        @param uploads: the L{mcc.routing.uploads.Uploads} behind HTTP
            upload (XEP-0363), or C{None} for none.
        @param push: the L{mcc.routing.push.PushServices} behind push
            (XEP-0357), or C{None} for none.
        @param remote_visitors: the L{RemoteVisitors} of queue addresses
            and components, whose replies go out through this server; without
            it, no component attaches.
        @param password_checks: C{run(function, *args)} that runs PLAIN's
            password check (PBKDF2) and returns a Deferred of its result,
            in a bounded thread pool so that a flood of logins cannot
            starve the reactor; by default it is called at once.
        @param group_commit: the store's L{mcc.store.GroupCommit}, if its
            writes of a turn share a transaction: what streams send waits
            for it.
        """
        service.MultiService.__init__(self)
        self.config = config
        self.domain = config.domain
        self.accounts = accounts
        self.clock = clock
        self.group_commit = group_commit
        self.tls_options = tls_options
        self.new_id = new_id
        self.uploads = uploads
        self.sessions = SessionRegistry() if sessions is None else sessions
        accounts.on_sessions_ended.append(self.disconnect_user)
        self.taps = MessageTaps()
        if operator_channel is None:
            operator_channel = OperatorChannel(self.sessions, self.domain, new_id)
        # Guests' messages are copied (XEP-0280) and archived like any other.
        operator_channel.taps = self.taps
        self.operator_channel = operator_channel
        self.router = StanzaRouter(self.domain, self.sessions, self.account_exists, self.taps)
        self.remote_visitors = remote_visitors
        if remote_visitors is not None:
            remote_visitors.outlet = RemoteOutlet(self.router, new_id)
        if throttle is None:
            throttle = LoginThrottle(
                clock,
                config.auth_failures_allowed,
                config.auth_failure_window,
                logins_in_progress=config.logins_in_progress_per_address,
            )
        self.throttle = throttle
        if made_up_credentials is None:
            made_up_credentials = MadeUpCredentials(secrets.token_bytes(SECRET_BYTES))
        self.made_up_credentials = made_up_credentials
        self.password_checks = _call_now if password_checks is None else password_checks
        self.resumption = SessionResumption(self, availability, offline, clock, resume_timeout)
        subscriptions = Subscriptions(
            rosters, self.sessions, self.domain, self.account_exists, new_id
        )
        own_commands, guest_commands, text_commands = [], None, None
        if operations is not None:
            own_commands = [AdHocCommands(
                OwnCommands(operations, availability, self.sessions, self.domain), clock, new_id
            )]
            guest_commands = AdHocCommands(ChatCommands(operations, chats, transcripts), clock, new_id)
            text_commands = TextCommands(operations, chats, transcripts)
        self.last_activity = last_activity
        self.blocking = None
        extensions = self._extensions(rosters, archive, private, pep, blocklists, last_activity)
        domain_handlers, account_handlers, domain_features, account_features, identities = (
            extensions
        )
        self.domain_info = DomainInfo(domain_features)
        presence_service = PresenceService(rosters, self.sessions, subscriptions, availability)
        presence_service.blocking = self.blocking
        self._collection(
            DOMAIN,
            [
                *own_commands,
                *([HTTPUpload(uploads)] if uploads is not None else []),
                DiscoHandler(),
                self.domain_info,
                *domain_handlers,
                PingHandler(),
                VersionHandler("mcc", __version__),
                LegacySession(),
                FallbackHandler(),
            ],
        )
        self._collection(
            ACCOUNTS,
            [
                self.caps_presence,
                RosterService(
                    rosters, self.sessions, subscriptions, new_id, roster_extras(chats, self.domain)
                ),
                presence_service,
                *([PushNotifications(push, self.sessions)] if push is not None else []),
                MessageDelivery(offline, self.sessions, clock, self.domain, self.taps),
                GuestIntroductions(chats, self.operator_channel),
                *account_handlers,
                VCardService(vcards),
                DiscoHandler(),
                AccountInfo(account_features, identities),
                PingHandler(),
                LegacySession(),
                FallbackHandler(),
            ],
        )
        self._collection(
            GUESTS,
            [
                GuestService(chats, self.operator_channel, text_commands, uploads),
                # A guest answers disco itself, its commands' nodes included.
                GuestContact(chats, guest_commands),
                *([guest_commands] if guest_commands else []),
                FallbackHandler(),
            ],
        )

    def _extensions(self, rosters, archive, private, pep, blocklists, last_activity):
        """
        The handlers of the protocols beyond RFC 6120 and 6121, for the
        domain's collection and the accounts', and what disco#info lists
        for each: exactly what is offered.
        """
        carbons = Carbons(self.sessions)
        capabilities = ClientCapabilities()
        domain_handlers = [
            EntityTime(self.clock), ServerUptime(self.clock), CapsQueries(capabilities, self.domain, self.new_id)
        ]
        domain_features = list(DomainInfo.FEATURES) + [NS_CARBONS, NS_TIME, NS_LAST]
        account_handlers = [carbons]
        # Before presence is handled, which addresses it to each recipient.
        self.caps_presence = CapsPresence(capabilities)
        account_features = list(AccountInfo.FEATURES)
        identities = []
        if archive is not None:
            # First, so that the copies carry the archive's id.
            self.taps.observers.append(MessageArchiving(archive, self.domain))
            account_handlers.append(ArchiveQueries(archive))
            account_features += [NS_MAM, NS_SID]
        self.taps.observers.append(carbons)
        if private is not None:
            account_handlers.append(PrivateStorageService(private))
            domain_features.append(NS_PRIVATE)
        if pep is not None:
            account_handlers.append(
                PersonalEventing(pep, rosters, self.sessions, capabilities, self.new_id)
            )
            account_features += pep_features
            identities.append(("pubsub", "pep"))
        if blocklists is not None:
            self.blocking = Blocking(blocklists, self.sessions, self.new_id)
            self.router.blocking = self.blocking
            account_handlers.append(self.blocking)
            domain_features.append(NS_BLOCKING)
        if last_activity is not None:
            account_handlers.append(
                AccountLastActivity(last_activity, rosters, self.sessions, self.clock)
            )
            account_features.append(NS_LAST)
        return domain_handlers, account_handlers, domain_features, account_features, identities

    def _collection(self, destination, handlers):
        collection = HandlerCollection(self.router, destination)
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

    def tls_factory(self, **limits):
        """
        The factory of direct TLS client connections (XEP-0368): TLS with
        the server's certificate, then the same streams as L{factory}'s.
        """
        return TLSMemoryBIOFactory(
            self.tls_options, False, ClientConnectionFactory(self, direct_tls=True, **limits)
        )

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
        presence = session.presence
        if session.available or session.directed_to:
            unavailable = domish.Element((NS_CLIENT, "presence"))
            unavailable["type"] = "unavailable"
            session.stanza_received(unavailable)
        self.sessions.remove(session)
        self.resumption.session_ended(session)
        self._account_left(session, presence)

    def _account_left(self, session, presence):
        """
        What follows when an account's last session has gone: its time of
        leaving is kept (XEP-0012) and its blocklist leaves memory.
        """
        if self.sessions.is_connected(session.bare):
            return
        if self.last_activity is not None:
            status = presence is not None and presence.status
            self.last_activity.signed_out(session.jid.user, str(status).strip() if status else "")
        if self.blocking is not None:
            self.blocking.forget(session.bare)

    def disconnect_user(self, username, text):
        """
        Close every session of C{username}, for example once disabled.
        """
        for session in self.sessions.sessions(f"{username}@{self.domain}"):
            self.end_session(session, text)
            session.close("not-authorized", text)


def new_resource(new_id):
    return f"mcc-{new_id()}"

# -*- test-case-name: tests.test_xmpp_clients,tests.test_xmpp_router -*-
"""
The XMPP server of one domain: client connections, the router, and the
handler collections that do the server's share of the work.
"""

import secrets

from twisted.application import service
from twisted.internet import protocol
from twisted.words.protocols.jabber import xmlstream
from twisted.words.xish import domish
from wokkel.component import InternalComponent
from wokkel.disco import DiscoHandler
from wokkel.generic import FallbackHandler, VersionHandler
from wokkel.ping import PingHandler

from mcc import __version__
from mcc.throttle import Throttle
from mcc.xmpp import jids
from mcc.xmpp.discovery import AccountInfo, DomainInfo, LegacySession
from mcc.xmpp.guests import GuestService
from mcc.xmpp.messages import MessageDelivery
from mcc.xmpp.namespaces import NS_CLIENT
from mcc.xmpp.negotiation import ClientNegotiation
from mcc.xmpp.presence import PresenceService, Subscriptions
from mcc.xmpp.roster import RosterService
from mcc.xmpp.router import ACCOUNTS, DOMAIN, GUESTS, StanzaRouter
from mcc.xmpp.sessions import ClientSession, SessionRegistry
from mcc.xmpp.stream import GuardedXmlStream
from mcc.xmpp.vcard import VCardService


def new_id():
    return secrets.token_hex(8)


class ClientConnectionFactory(protocol.ServerFactory):
    def __init__(self, server):
        self.server = server

    def buildProtocol(self, addr):
        xs = GuardedXmlStream(
            ClientNegotiation(self.server), self.server.clock, self.server.config.max_stanza_size
        )
        xs.factory = self
        return xs


class XMPPServer(service.MultiService):
    """
    @ivar sessions: the bound resources, a L{SessionRegistry}.
    """

    def __init__(
        self,
        config,
        store,
        accounts,
        availability,
        chats,
        clock,
        tls_options,
        new_id=new_id,
        sessions=None,
    ):
        """
        @param sessions: the L{SessionRegistry} to bind sessions in, shared
            with the chat router's L{OperatorChannel}; a new one if C{None}.
        """
        service.MultiService.__init__(self)
        self.config = config
        self.domain = config.domain
        self.store = store
        self.accounts = accounts
        self.clock = clock
        self.tls_options = tls_options
        self.new_id = new_id
        self.sessions = SessionRegistry() if sessions is None else sessions
        accounts.on_sessions_ended.append(self.disconnect_user)
        self.router = StanzaRouter(self.domain, self.sessions, self.account_exists)
        self.throttle = Throttle(
            clock, config.auth_failures_allowed, config.auth_failure_window
        )
        subscriptions = Subscriptions(
            store, self.sessions, self.domain, self.account_exists, new_id
        )
        self._collection(
            DOMAIN,
            [
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
                RosterService(store, self.sessions, subscriptions, new_id),
                PresenceService(store, self.sessions, subscriptions, availability),
                MessageDelivery(store, self.sessions, clock, self.domain),
                VCardService(store),
                DiscoHandler(),
                AccountInfo(),
                PingHandler(),
                LegacySession(),
                FallbackHandler(),
            ],
        )
        self._collection(GUESTS, [GuestService(chats), FallbackHandler()])

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
            self.end_session(session)
            session.close("system-shutdown")
        return service.MultiService.stopService(self)

    def factory(self):
        return ClientConnectionFactory(self)

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
            self.end_session(replaced)
            replaced.close("conflict", "replaced by a new connection")
        xs.element_handler = session.stanza_received
        xs.addObserver(xmlstream.STREAM_END_EVENT, lambda _: self.end_session(session))
        session.start_keepalive(
            self.config.keepalive_interval, self.config.keepalive_grace, self.new_id
        )
        return session

    def end_session(self, session):
        """
        Take a session out: its contacts see it go unavailable.
        """
        if session.ended:
            return
        session.ended = True
        session.stop_keepalive()
        if session.available or session.directed_to:
            unavailable = domish.Element((NS_CLIENT, "presence"))
            unavailable["type"] = "unavailable"
            session.stanza_received(unavailable)
        self.sessions.remove(session)

    def disconnect_user(self, username, text):
        """
        Close every session of C{username}, for example once disabled.
        """
        for session in self.sessions.sessions(f"{username}@{self.domain}"):
            self.end_session(session)
            session.close("not-authorized", text)


def new_resource(new_id):
    return f"mcc-{new_id()}"

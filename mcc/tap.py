# -*- test-case-name: tests.test_twistd -*-
"""
The whole mcc process on one screen: store, XMPP server, listeners.
"""

import functools
import os
import secrets

from twisted.application import service
from twisted.internet import endpoints, threads
from twisted.python import log
from twisted.web import server, static

from mcc import resources
from mcc.admin import AdminSite, Root
from mcc.admin.widgets import DesignWidgets
from mcc.routing.accounts import Accounts
from mcc.routing.availability import Availability
from mcc.routing.chats import ChatService, Timeouts
from mcc.routing.history import ChatHistory, Retention, zone_named
from mcc.routing.monitor import LiveMonitor
from mcc.routing.offline import OfflineStorage
from mcc.routing.queues import Queues
from mcc.routing.rosters import Rosters
from mcc.routing.vcards import VCards
from mcc.routing.widgets import ConfigurationWatch, Widgets
from mcc.store import Store
from mcc.throttle import Throttle
from mcc.tls import ensure_self_signed, server_tls_options
from mcc.web import BoundedRequest
from mcc.widget.public import WidgetSite
from mcc.widget.visitor_api import VisitorAPI
from mcc.xmpp.server import XMPPServer

FIRST_ADMIN = "admin"
FIRST_ADMIN_FILE = "first-admin.txt"


class Listener(service.Service):
    """
    Listens on an endpoint while running; C{listening} fires with the port,
    so that a caller that asked for port 0 can learn the real one, which is
    then C{bound_port}.
    """

    def __init__(self, endpoint, factory):
        self.endpoint = endpoint
        self.factory = factory
        self.listening = None
        self.bound_port = None

    def startService(self):
        service.Service.startService(self)
        self.listening = self.endpoint.listen(self.factory)
        self.listening.addCallback(self._bound)

    def _bound(self, port):
        self.bound_port = port.getHost().port
        return port

    def stopService(self):
        service.Service.stopService(self)
        return self.listening.addCallback(lambda port: port.stopListening())


def ensure_first_admin(store, accounts, data_dir):
    """
    While no administrator exists, create the installer's one with a random
    password, written to a private file in the data dir.  Returns the
    password when it was created now, else C{None}.
    """
    users = store.users.all()
    if any(user.is_admin for user in users):
        return None
    if any(user.username == FIRST_ADMIN for user in users):
        log.msg(f"No administrator, and {FIRST_ADMIN!r} is taken: use 'mcc user add NAME --admin'")
        return None
    password = secrets.token_urlsafe(12)
    accounts.add(FIRST_ADMIN, password, is_admin=True, display_name="Administrator")
    path = data_dir / FIRST_ADMIN_FILE
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(f"{password}\n")
    return password


def admin_url(config):
    """
    Where browsers reach the admin site.
    """
    return f"{config.base_url()}/admin/"


def makeService(config, reactor=None):
    if reactor is None:
        from twisted.internet import reactor
    config.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store.open(config.database_path)
    accounts = Accounts(store, reactor)
    availability = Availability()
    password = ensure_first_admin(store, accounts, config.data_dir)
    if config.tls_cert is None:
        ensure_self_signed(config.certificate_path, config.key_path, config.domain, reactor.seconds())
    tls_options = server_tls_options(config.certificate_path, config.key_path)

    queues = Queues(store, reactor)
    chats = ChatService(
        store,
        availability,
        queues.operators_of,
        reactor,
        lambda: secrets.token_urlsafe(24),
        Timeouts(
            config.answer_timeout,
            config.visitor_timeout,
            config.poll_timeout,
            config.reconnect_timeout,
        ),
    )

    mcc = service.MultiService()
    mcc.setName("mcc")
    xmpp = XMPPServer(
        config,
        accounts,
        Rosters(store),
        OfflineStorage(store, reactor),
        VCards(store),
        availability,
        chats,
        reactor,
        tls_options,
    )
    xmpp.setName("xmpp-server")
    xmpp.setServiceParent(mcc)
    accounts.on_sessions_ended.append(xmpp.disconnect_user)
    chats.channel = xmpp.operator_channel
    chats.setName("chats")
    chats.setServiceParent(mcc)
    history = ChatHistory(store, reactor, zone_named(config.time_zone))
    chats.on_finished.append(history.chat_finished)
    retention = Retention(history, reactor)
    retention.setName("retention")
    retention.setServiceParent(mcc)
    monitor = LiveMonitor(store, availability, reactor, config.poll_timeout)
    chats.on_changed.append(monitor.chat_changed)

    web = Root()
    visitor_api = VisitorAPI(
        chats,
        reactor,
        config.trusted_proxies,
        config.max_message_size,
        start_limit=(config.chat_start_limit, config.chat_start_window),
    )
    web.putChild(b"api", visitor_api.app.resource())
    test_page = resources.TEMPLATES / "visitor" / "test-page.html"
    web.putChild(b"chat-test", static.File(str(test_page)))
    widgets = Widgets(store, chats.is_available, reactor, lambda: secrets.token_urlsafe(12))
    watch = ConfigurationWatch(widgets, availability, reactor, config.poll_timeout)
    watch.setName("widget-watch")
    watch.setServiceParent(mcc)
    web.putChild(b"widget", WidgetSite(widgets, watch).resource())

    def public_url():
        return config.base_url(mcc.getServiceNamed("http-listener").bound_port)

    admin = AdminSite(
        config.domain,
        accounts,
        queues,
        availability,
        reactor,
        Throttle(reactor, config.auth_failures_allowed, config.auth_failure_window),
        config.admin_session_timeout,
        sections={"widgets": functools.partial(DesignWidgets, widgets, public_url)},
        trusted_proxies=config.trusted_proxies,
        public_url=config.public_url,
        snippets_serving=widgets.snippets_serving,
        run_in_thread=functools.partial(threads.deferToThreadPool, reactor, reactor.getThreadPool()),
        history=history,
        monitor=monitor,
    )
    web.putChild(b"admin", admin.resource())

    for name, port, factory in (
        ("xmpp-listener", config.xmpp_port, xmpp.factory()),
        ("http-listener", config.http_port, server.Site(web, requestFactory=BoundedRequest)),
    ):
        listener = Listener(
            endpoints.TCP4ServerEndpoint(reactor, port, interface=config.interface), factory
        )
        listener.setName(name)
        listener.setServiceParent(mcc)

    log.msg(f"mcc {config.domain}: XMPP on {config.interface}:{config.xmpp_port}")
    log.msg(f"mcc {config.domain}: HTTP on {config.interface}:{config.http_port}")
    log.msg(f"mcc {config.domain}: admin site at {admin_url(config)}")
    if password is not None:
        log.msg(
            f"First start: created the administrator {FIRST_ADMIN}@{config.domain} "
            f"with password {password} (also in {config.data_dir / FIRST_ADMIN_FILE})"
        )
    elif (config.data_dir / FIRST_ADMIN_FILE).exists():
        log.msg(
            f"The first administrator, {FIRST_ADMIN}@{config.domain}, has the password "
            f"in {config.data_dir / FIRST_ADMIN_FILE} unless it was changed since"
        )
    return mcc

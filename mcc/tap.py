# -*- test-case-name: tests.test_twistd -*-
"""
The whole mcc process on one screen: data dir, store, routing, XMPP server,
web sites, listeners.  Each object gets what it needs as it is constructed;
the XMPP server and the chat router share the session registry, through
which the router reaches operators.
"""

import functools
import hmac
import os
import secrets

from twisted.application import service, strports
from twisted.internet import threads
from twisted.internet.endpoints import HostnameEndpoint
from twisted.internet.interfaces import IStreamServerEndpoint
from twisted.python import log
from twisted.python.threadpool import ThreadPool
from treq.client import HTTPClient
from twisted.web import resource, static
from twisted.web.client import Agent
from zope.interface import implementer

from mcc import datadir, resources
from mcc.admin import AdminSite, Root
from mcc.admin.gateways import gateways_tab
from mcc.admin.queues import queues_tab
from mcc.admin.reports import reports_tab
from mcc.admin.widgets import DesignWidgets
from mcc.collector import GarbageCollection
from mcc.credentials import MadeUpCredentials, ensure_server_secret
from mcc.datadir import ServiceLock
from mcc.gateways.sms import Webhooks
from mcc.gateways.telnyx import Telnyx
from mcc.gateways.twilio import Twilio
from mcc.login_gate import LoginGate
from mcc.routing.accounts import Accounts
from mcc.routing.archive import Archive
from mcc.routing.availability import Availability
from mcc.routing.channels import Channels
from mcc.routing.chats import ChatService, Timeouts
from mcc.routing.files import ChatFiles
from mcc.routing.components import RemoteVisitors
from mcc.routing.gateways import PROTOCOL as SMS, SMSGateways
from mcc.routing.history import ChatHistory, Retention, zone_named
from mcc.routing.monitor import LiveMonitor
from mcc.routing.offline import OfflineStorage
from mcc.routing.operations import ChatOperations
from mcc.routing.personal import Blocklists, LastActivity, PersonalEvents, PrivateStorage
from mcc.routing.push import PushServices
from mcc.routing.queues import Queues
from mcc.routing.reports import Reports
from mcc.routing.rosters import Rosters
from mcc.routing.transcripts import SMTPMailer, TranscriptMailer
from mcc.routing.uploads import SlotSweeper, Uploads
from mcc.routing.vcards import VCards
from mcc.routing.widgets import ConfigurationWatch, Widgets
from mcc.store import Checkpoints, HistoryReaders, Store
from mcc.store.reports import ThreadReaders
from mcc.throttle import LoginThrottle
from mcc.tls import ensure_self_signed, server_tls_options
from mcc.transports import drop_unacknowledged
from mcc.web import BoundedSite, bounded_request, quiet_log
from mcc.webclient.desk import WebChannel, WebPresence
from mcc.webclient.site import UPLOAD_PATH as CLIENT_UPLOAD_PATH
from mcc.webclient.site import WebClient
from mcc.widget.public import WidgetSite
from mcc.widget.visitor_api import HOT_REQUESTS, UPLOAD_PATH, VisitorAPI
from mcc.xmpp.guests import OperatorChannel
from mcc.xmpp.s2s.federation import DomainPolicy, Federation, SRVTargets
from mcc.xmpp.s2s.identity import TrustStore
from mcc.xmpp.server import XMPPServer, new_id
from mcc.xmpp.sessions import SessionRegistry
from mcc.xmpp.upload import PUT_PATH, UploadResource

FIRST_ADMIN = "admin"
FIRST_ADMIN_FILE = "first-admin.txt"
SERVER_SECRET_FILE = "server-secret"
"""
What made-up credentials of unknown names derive from (see
L{MadeUpCredentials}).
"""
FILES_SECRET_FILE = "files-secret"
"""
What the links to files sent in chats are signed with.
"""


@implementer(IStreamServerEndpoint)
class NamedEndpoint:
    """
    An endpoint that says in the log what it failed to listen on, and keeps
    the port it listens on: C{bound_port}, the real number when the
    description asked for port 0.
    """

    def __init__(self, purpose, description, endpoint):
        self.purpose = purpose
        self.description = description
        self.endpoint = endpoint
        self.port = None

    def listen(self, factory):
        return self.endpoint.listen(factory).addCallbacks(self._bound, self._failed)

    def _bound(self, port):
        self.port = port
        return port

    def _failed(self, reason):
        log.msg(f"mcc cannot listen for {self.purpose} on {self.description}: {reason.value}")
        return reason

    @property
    def bound_port(self):
        return None if self.port is None else self.port.getHost().port


def listener(reactor, name, purpose, description, factory):
    """
    The service that listens on C{description} for C{purpose}.  Like every
    strports service, it raises when listening fails as twistd starts it,
    and twistd then exits with an error.
    """
    listening = strports.service(description, factory, reactor)
    listening.endpoint = NamedEndpoint(purpose, description, listening.endpoint)
    listening.setName(name)
    return listening


def bound_port(mcc, name):
    """
    The port number the listener C{name} (C{"xmpp-listener"},
    C{"http-listener"}, C{"s2s-listener"}...) listens on, once started.
    """
    return mcc.getServiceNamed(name).endpoint.bound_port


class DataDirLockService(service.Service):
    """
    Holds the data dir's lock until the process stops: the last service to
    stop, being the first added.
    """

    name = "data-dir-lock"

    def __init__(self, lock):
        self.lock = lock

    def stopService(self):
        service.Service.stopService(self)
        self.lock.release()


class ThreadPoolService(service.Service):
    """
    A pool of C{size} threads of its own for one kind of blocking work,
    started and stopped with the process, so that this work neither waits
    behind nor crowds out the reactor's pool.

    @ivar run: C{run(function, *args)} calls C{function} in the pool and
        returns a Deferred of its result.
    """

    def __init__(self, reactor, name, size):
        self.setName(f"{name}-threads")
        self.pool = ThreadPool(minthreads=0, maxthreads=size, name=f"mcc-{name}")
        self.run = functools.partial(threads.deferToThreadPool, reactor, self.pool)

    def startService(self):
        service.Service.startService(self)
        self.pool.start()

    def stopService(self):
        service.Service.stopService(self)
        self.pool.stop()


class LastCommit(service.Service):
    """
    Commits the store's last turn when the service stops: the reactor may
    not run another turn.
    """

    def __init__(self, group_commit):
        self._group_commit = group_commit

    def stopService(self):
        service.Service.stopService(self)
        self._group_commit.commit()


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


def mailer(config, reactor):
    """
    The SMTP client of the options, or C{None} when e-mail is not set up.
    """
    if not config.smtp_host:
        return None
    return SMTPMailer(
        reactor, config.smtp_host, config.smtp_from, config.smtp_port, config.smtp_starttls,
        config.smtp_user or None, config.smtp_password_file, helo=config.domain,
    )


def access_log(config):
    """
    Whether a finished HTTP request goes to the access log, as the option
    C{--access-log} says.
    """
    if config.access_log == "all":
        return lambda request: True
    if config.access_log == "none":
        return lambda request: False
    return quiet_log(HOT_REQUESTS)


def admin_url(config):
    """
    Where browsers reach the admin site.
    """
    return f"{config.base_url()}/admin/"


def federation(config, reactor, xmpp, remote_visitors, server_secret, resolver=None):
    """
    The server-to-server links of C{xmpp}, SRV records looked up with
    C{resolver} (by default the system's DNS servers).
    """
    return Federation(
        xmpp,
        remote_visitors,
        TrustStore(config.certificate_path, config.key_path, config.s2s_ca_file),
        hmac.digest(server_secret, b"dialback", "sha256"),
        SRVTargets(resolver),
        connect=lambda host, port: HostnameEndpoint(reactor, host, port, timeout=config.auth_timeout),
        policy=DomainPolicy(True, config.s2s_allow, config.s2s_deny),
        allow_unverified=config.s2s_allow_unverified,
        idle_timeout=config.s2s_idle_timeout,
        max_depth=config.max_stanza_depth,
    )


def makeService(config, reactor=None, resolver=None):
    """
    The whole process for C{config}; raises L{DataDirInUse} when another
    service runs on the same data dir.

    @param resolver: the C{IResolver} federation finds other domains'
        servers with (SRV records); tests give a L{StaticResolver}.
    """
    if reactor is None:
        from twisted.internet import reactor
    datadir.create(config.data_dir)
    mcc = service.MultiService()
    mcc.setName("mcc")
    DataDirLockService(ServiceLock.acquire(config.data_dir)).setServiceParent(mcc)

    store = Store.open(config.database_path, background_checkpoints=True)
    # The chat path's writes of a reactor turn share one transaction,
    # committed once the turn's reads are handled; what the streams and the
    # web site answer waits for it.
    group_commit = store.commit_per_turn(
        lambda commit: reactor.callLater(0, commit), on_failure=drop_unacknowledged
    )
    LastCommit(group_commit).setServiceParent(mcc)  # Stopped last: after every other write.
    checkpoint_threads = ThreadPoolService(reactor, "checkpoint", 1)
    checkpoint_threads.setServiceParent(mcc)
    checkpoints = Checkpoints(config.database_path, store.changes, checkpoint_threads.run, reactor)
    checkpoints.setName("checkpoints")
    checkpoints.setServiceParent(mcc)
    availability = Availability()
    sessions = SessionRegistry()
    server_secret = ensure_server_secret(config.data_dir / SERVER_SECRET_FILE)
    made_up_credentials = MadeUpCredentials(server_secret)
    accounts = Accounts(store, reactor, made_up_credentials=made_up_credentials)
    password = ensure_first_admin(store, accounts, config.data_dir)
    if config.tls_cert is None:
        ensure_self_signed(config.certificate_path, config.key_path, config.domain, reactor.seconds())
    tls_options = server_tls_options(config.certificate_path, config.key_path)

    def login_throttle():
        return LoginThrottle(
            reactor,
            config.auth_failures_allowed,
            config.auth_failure_window,
            account_failures_allowed=config.account_failures_allowed,
            account_max_backoff=config.account_max_backoff,
            logins_in_progress=config.logins_in_progress_per_address,
        )

    # PLAIN's PBKDF2 runs in two threads: a flood of logins waits there
    # rather than on the reactor, which goes on serving the chats.
    login_threads = ThreadPoolService(reactor, "login", 2)
    login_threads.setServiceParent(mcc)
    # And they wait while the reactor is behind (see mcc.login_gate).
    login_gate = LoginGate(login_threads.run, reactor)
    login_gate.setServiceParent(mcc)
    queues = Queues(store, reactor)
    xmpp_channel = OperatorChannel(sessions, config.domain, new_id)
    web_channel = WebChannel(reactor, lambda chat: chats.history(chat), config.poll_timeout)
    web_channel.setName("web-channel")
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
        # The visitor's side reaches operators wherever they are: their XMPP
        # sessions and their open web clients alike.
        Channels(xmpp_channel, web_channel),
    )
    chats.setName("chats")
    operations = ChatOperations(store, chats, reactor)  # For the web client, XMPP commands, Activity.

    def public_url():
        return config.base_url(bound_port(mcc, "http-listener"))

    files_secret = ensure_server_secret(config.data_dir / FILES_SECRET_FILE)
    files = ChatFiles(
        store, chats, config.data_dir / "files", reactor, lambda: secrets.token_urlsafe(24),
        files_secret, config.max_file_size, base_url=public_url,
    )
    # HTTP upload (XEP-0363) keeps its files with the chats' files.
    uploads = Uploads(
        store, files, reactor, lambda: secrets.token_urlsafe(24), files_secret, public_url,
        config.max_file_size,
    )
    transcripts = TranscriptMailer(store, chats, reactor, mailer(config, reactor), site_name=config.domain)
    transcripts.setName("transcripts")

    # Queue addresses and the components remote JIDs reach them through.
    remote_visitors = RemoteVisitors(store, chats, reactor, config.domain)
    remote_visitors.setName("remote-visitors")
    accounts.reserved = remote_visitors.reserves
    xmpp = XMPPServer(
        config,
        accounts,
        Rosters(store),
        OfflineStorage(
            store,
            reactor,
            max_messages=config.offline_max_messages,
            max_bytes=config.offline_max_bytes,
            sender_limit=config.offline_sender_limit,
            sender_window=config.offline_sender_window,
        ),
        VCards(store),
        availability,
        chats,
        reactor,
        tls_options,
        sessions=sessions,
        operator_channel=xmpp_channel,
        operations=operations,
        transcripts=transcripts,
        uploads=uploads,
        push=PushServices(store, reactor),
        made_up_credentials=made_up_credentials,
        throttle=login_throttle(),
        archive=(
            None
            if config.no_message_archive
            else Archive(store, reactor, lambda: secrets.token_urlsafe(12))
        ),
        private=PrivateStorage(store),
        pep=PersonalEvents(store, reactor),
        blocklists=Blocklists(store),
        last_activity=LastActivity(store, reactor),
        remote_visitors=remote_visitors,
        password_checks=login_gate,
        group_commit=group_commit,
    )
    xmpp.setName("xmpp-server")
    # SMS gateways: texters reach the router through them, and they get
    # what the operators answer.
    http_client = HTTPClient(Agent(reactor))
    sms_providers = {"twilio": Twilio(http_client), "telnyx": Telnyx(http_client, reactor)}
    gateways = SMSGateways(store, chats, reactor, sms_providers)
    gateways.setName("sms-gateways")
    chats.visitor_channels[SMS] = gateways
    for part in (xmpp, chats, transcripts, web_channel, gateways, remote_visitors):
        part.setServiceParent(mcc)
    zone = zone_named(config.time_zone)
    run_in_thread = functools.partial(threads.deferToThreadPool, reactor, reactor.getThreadPool())
    history = ChatHistory(
        store, reactor, zone, files=files, readers=HistoryReaders(config.database_path),
        run_in_thread=run_in_thread,
    )
    chats.on_finished.append(history.chat_finished)
    retention = Retention(history, reactor)
    retention.setName("retention")
    retention.setServiceParent(mcc)
    SlotSweeper(uploads, reactor).setServiceParent(mcc)
    monitor = LiveMonitor(store, availability, reactor, config.poll_timeout)
    chats.on_changed.append(monitor.chat_changed)

    web = Root()
    visitor_api = VisitorAPI(
        chats,
        reactor,
        config.trusted_proxies,
        config.max_message_size,
        (config.chat_start_limit, config.chat_start_window),
        files=files,
    )
    web.putChild(b"api", visitor_api.app.resource())
    web.putChild(b"upload", upload_resource := UploadResource(uploads))
    web.putChild(b"gateways", resource.Resource())
    web.children[b"gateways"].putChild(
        b"sms", Webhooks(gateways, sms_providers, public_url).resource()
    )
    web.putChild(b"chat-test", static.File(str(resources.TEMPLATES / "visitor" / "test-page.html")))
    widgets = Widgets(store, chats.is_available, reactor, lambda: secrets.token_urlsafe(12))
    watch = ConfigurationWatch(widgets, availability, reactor, config.poll_timeout)
    watch.setName("widget-watch")
    watch.setServiceParent(mcc)
    web.putChild(
        b"widget",
        WidgetSite(
            widgets, watch, max_message_size=config.max_message_size, max_file_size=files.max_size
        ).resource(),
    )

    # One throttle for both sites that sign in with a password.
    throttle = login_throttle()
    client = WebClient(
        config.domain, accounts, chats, web_channel,
        WebPresence(availability, reactor, lambda: secrets.token_urlsafe(12), config.poll_timeout + 20),
        reactor, throttle, config.admin_session_timeout, os.urandom, run_in_thread,
        config.trusted_proxies, config.public_url, config.max_message_size,
        operations=operations, files=files, transcripts=transcripts,
    )
    chats.on_event.append(web_channel.recorded)
    web.putChild(b"client", client.resource())
    reports = Reports(ThreadReaders(config.database_path), run_in_thread, zone, reactor)
    admin = AdminSite(
        config.domain,
        accounts,
        queues,
        availability,
        reactor,
        throttle,
        config.admin_session_timeout,
        config.poll_timeout,
        sections={
            "queues": queues_tab(operations),
            "widgets": functools.partial(DesignWidgets, widgets, public_url),
            "reports": reports_tab(reports),
            "gateways": gateways_tab(gateways, public_url, remote_visitors),
        },
        trusted_proxies=config.trusted_proxies,
        public_url=config.public_url,
        snippets_serving=widgets.snippets_serving,
        run_in_thread=run_in_thread,
        history=history,
        monitor=monitor,
        operations=operations,
    )
    web.putChild(b"admin", admin.resource())

    # STARTTLS and direct TLS clients are held to the same limits.
    client_limits = dict(
        max_connections_per_address=config.max_xmpp_connections_per_address,
        max_depth=config.max_stanza_depth,
    )
    listener(
        reactor, "xmpp-listener", "XMPP", config.xmpp_endpoint(), xmpp.factory(**client_limits)
    ).setServiceParent(mcc)
    listener(
        reactor,
        "xmpp-tls-listener",
        "XMPP direct TLS",
        config.xmpp_tls_endpoint(),
        xmpp.tls_factory(**client_limits),
    ).setServiceParent(mcc)
    site = BoundedSite(
        web,
        reactor,
        header_timeout=config.http_header_timeout,
        max_connections_per_address=config.max_http_connections_per_address,
        trusted_proxies=config.trusted_proxies,
        requestFactory=bounded_request(
            [
                (b"POST", UPLOAD_PATH, files.max_size),
                (b"POST", CLIENT_UPLOAD_PATH, files.max_size),
                (b"PUT", PUT_PATH, uploads.max_size),
            ],
            [(b"PUT", PUT_PATH, upload_resource.early_check)],
        ),
        logged=access_log(config),
        lean=visitor_api.lean_routes(b"/api"),
    )
    site.group_commit = group_commit
    listener(reactor, "http-listener", "HTTP", config.http_endpoint(), site).setServiceParent(mcc)
    listener(
        reactor, "component-listener", "XMPP components", config.component_listen,
        xmpp.component_factory(max_depth=config.max_stanza_depth),
    ).setServiceParent(mcc)

    if not config.no_federation:
        links = federation(config, reactor, xmpp, remote_visitors, server_secret, resolver)
        links.setName("federation")
        links.setServiceParent(mcc)
        listener(
            reactor, "s2s-listener", "XMPP servers", config.s2s_endpoint(), links.factory()
        ).setServiceParent(mcc)

    GarbageCollection(reactor).setServiceParent(mcc)  # Last: start-up is done.

    log.msg(f"mcc {config.domain}: XMPP on {config.xmpp_endpoint()}")
    log.msg(f"mcc {config.domain}: HTTP on {config.http_endpoint()}")
    if not config.no_federation:
        log.msg(f"mcc {config.domain}: XMPP servers on {config.s2s_endpoint()}")
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

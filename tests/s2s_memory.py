"""
Server-to-server streams on in-memory transports: a L{Federation} of a
stub server whose router records what it is given, and transports that
pretend to start TLS with the peer certificate a test chooses.
"""

import contextlib
from types import SimpleNamespace

from OpenSSL import crypto
from twisted.internet import defer
from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import formatEvent, globalLogPublisher
from twisted.words.xish import domish

from mcc.xmpp.namespaces import NS_CLIENT
from mcc.xmpp.s2s.federation import DomainPolicy, Federation, SRVTargets, StaticResolver
from tests.s2s_certificates import Authority, dns_names, server_certificate

DOMAIN = "one.test"
PEER = "peer.test"
SECRET = b"dialback secret"
HEADER = (
    "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams'"
    " xmlns:db='jabber:server:dialback' to='{to}' from='{sender}' version='1.0'{extra}>"
)


class TLSTransport(StringTransport):
    """
    A transport whose TLS starts at once and shows C{peer} (a pyOpenSSL
    certificate, or C{None}).
    """

    def __init__(self, peer=None):
        StringTransport.__init__(self, peerAddress=IPv4Address("TCP", "127.0.0.9", 40000))
        self.peer = peer
        self.tls = None

    def startTLS(self, creator):
        self.tls = creator

    def getPeerCertificate(self):
        return self.peer if self.tls is not None else None


class Router:
    def __init__(self):
        self.routed = []
        self.from_remote = []
        self.default_remote = None

    def route(self, stanza):
        self.routed.append(stanza)

    def route_from_remote(self, stanza, sender, recipient):
        self.from_remote.append((stanza, sender, recipient))


class Trust:
    def __init__(self, own_valid=False):
        self.own_valid = own_valid
        self.context = None

    def own_certificate_valid(self, domain):
        return self.own_valid


def peer_certificate(tmp_path, domain=PEER):
    """
    A pyOpenSSL certificate for C{domain} of a test CA.
    """
    cert_path, _ = server_certificate(tmp_path / domain, dns_names(domain), Authority())
    return crypto.load_certificate(crypto.FILETYPE_PEM, cert_path.read_bytes())


class Endpoint:
    """
    Connects a factory to a L{TLSTransport} of C{peer}, or fails with
    C{failure}, or never answers when C{hang}.
    """

    def __init__(self, peer=None, failure=None, hang=False):
        self.peer, self.failure, self.hang = peer, failure, hang
        self.streams = []

    def connect(self, factory):
        if self.failure is not None:
            return defer.fail(self.failure)
        if self.hang:
            return defer.Deferred()
        xs = factory.buildProtocol(None)
        transport = TLSTransport(self.peer)
        xs.makeConnection(transport)
        self.streams.append((xs, transport))
        return defer.succeed(xs)


def federation(endpoint=None, targets=None, own_valid=False, **options):
    clock = Clock()
    ids = iter(f"id{n}" for n in range(1, 1000))
    server = SimpleNamespace(
        router=Router(), domain=DOMAIN, clock=clock, new_id=lambda: next(ids), group_commit=None,
        config=SimpleNamespace(auth_timeout=60.0, max_stanza_size=65536),
    )
    endpoints = []

    def connect(host, port):
        endpoints.append((host, port))
        return endpoint

    links = Federation(
        server, None, Trust(own_valid), SECRET,
        SRVTargets(StaticResolver(targets if targets is not None else {PEER: [("10.0.0.1", 5270)]})),
        connect=connect, policy=options.pop("policy", DomainPolicy()), **options,
    )
    links.endpoints = endpoints
    return links


def message(sender, recipient, text="hi", kind="chat"):
    stanza = domish.Element((NS_CLIENT, "message"))
    stanza["from"], stanza["to"], stanza["type"] = sender, recipient, kind
    stanza.addElement("body", content=text)
    return stanza


def header(to=DOMAIN, sender=PEER, stream_id=None):
    extra = f" id='{stream_id}'" if stream_id else ""
    return HEADER.format(to=to, sender=sender, extra=extra).encode()


@contextlib.contextmanager
def log_lines():
    """
    The lines logged meanwhile, as a list that grows.
    """
    lines = []

    def observe(event):
        lines.append(formatEvent(event))

    globalLogPublisher.addObserver(observe)
    try:
        yield lines
    finally:
        globalLogPublisher.removeObserver(observe)

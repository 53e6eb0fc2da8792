# -*- test-case-name: tests.test_s2s_identity -*-
"""
Whose certificate a peer server showed: its chain against a trust store
(the system's CAs and an optional extra CA file), and its names against
the domain it claims, as RFC 6125 and RFC 7590 define them for XMPP
(DNS-ID, SRV-ID C{_xmpp-server.DOMAIN}, XmppAddr; the common name only when
the certificate has no subjectAltName at all).
"""

import ssl

from cryptography import x509
from cryptography.x509.oid import ExtensionOID, NameOID, ObjectIdentifier
from OpenSSL import SSL, crypto
from twisted.internet import ssl as twisted_ssl
from twisted.internet.interfaces import IOpenSSLClientConnectionCreator, IOpenSSLServerConnectionCreator
from zope.interface import implementer

from mcc.tls import INTERMEDIATE_CIPHERS

ID_ON_XMPPADDR = ObjectIdentifier("1.3.6.1.5.5.7.8.5")
ID_ON_DNSSRV = ObjectIdentifier("1.3.6.1.5.5.7.8.7")
ALPN = b"xmpp-server"
INVALID_PURPOSE = 26
"""
OpenSSL's X509_V_ERR_INVALID_PURPOSE: a server's certificate verified as a
client's lacks the clientAuth usage, which public CAs no longer grant; the
names are what count between servers.
"""


def _der_string(value):
    """
    The text of a DER UTF8String or IA5String, as otherName values hold.
    """
    if len(value) < 2 or value[0] not in (0x0C, 0x16):
        return None
    length, start = value[1], 2
    if length & 0x80:
        size = length & 0x7F
        length, start = int.from_bytes(value[2 : 2 + size], "big"), 2 + size
    try:
        return value[start : start + length].decode("utf-8")
    except UnicodeDecodeError:
        return None


def _dns_matches(pattern, domain):
    pattern = pattern.lower().rstrip(".")
    if pattern == domain:
        return True
    if pattern.startswith("*.") and "*" not in pattern[2:]:
        head, _, rest = domain.partition(".")
        return bool(head) and rest == pattern[2:]
    return False


def names_of(certificate):
    """
    What a L{cryptography.x509.Certificate} is for:
    C{(dns_ids, srv_ids, xmpp_addrs, common_names)}, the last only without
    a subjectAltName.
    """
    dns, srv, xmpp = [], [], []
    try:
        alternative = certificate.extensions.get_extension_for_oid(
            ExtensionOID.SUBJECT_ALTERNATIVE_NAME
        ).value
    except x509.ExtensionNotFound:
        common = [a.value for a in certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        return dns, srv, xmpp, common
    dns = alternative.get_values_for_type(x509.DNSName)
    for other in alternative.get_values_for_type(x509.OtherName):
        text = _der_string(other.value)
        if text is None:
            continue
        if other.type_id == ID_ON_XMPPADDR:
            xmpp.append(text)
        elif other.type_id == ID_ON_DNSSRV:
            srv.append(text)
    return dns, srv, xmpp, []


def certificate_names_domain(certificate, domain):
    """
    Whether C{certificate} (cryptography's) is for the XMPP server of
    C{domain}.
    """
    domain = domain.lower().rstrip(".")
    dns, srv, xmpp, common = names_of(certificate)
    if any(_dns_matches(name, domain) for name in dns + common):
        return True
    if any(name.lower() == domain for name in xmpp):
        return True
    return any(
        name.lower().startswith("_xmpp-server.") and _dns_matches(name[len("_xmpp-server.") :], domain)
        for name in srv
    )


class PeerCertificate:
    """
    What TLS showed of one peer: its leaf certificate and whether its chain
    verified against the trust store.
    """

    def __init__(self):
        self.errors = []
        self.certificate = None

    def seen(self, transport):
        """
        Take the peer's certificate from C{transport} once TLS is up.
        """
        peer = transport.getPeerCertificate() if hasattr(transport, "getPeerCertificate") else None
        self.certificate = None if peer is None else peer.to_cryptography()

    @property
    def trusted(self):
        return self.certificate is not None and not self.errors

    def valid_for(self, domain):
        """
        Whether the chain verified and the certificate names C{domain}.
        """
        return self.trusted and certificate_names_domain(self.certificate, domain)


def _record(connection, certificate, errno, depth, ok):
    if not ok and errno != INVALID_PURPOSE:
        connection.get_app_data().peer_certificate.errors.append((depth, errno))
    # The handshake goes on: dialback may still authenticate the peer.
    return True


def _alpn(connection, offered):
    return ALPN if ALPN in offered else SSL.NO_OVERLAPPING_PROTOCOLS


@implementer(IOpenSSLClientConnectionCreator, IOpenSSLServerConnectionCreator)
class StreamTLS:
    """
    The TLS of one server-to-server stream, either side, recording the
    peer's certificate in C{peer} (a L{PeerCertificate}).
    """

    def __init__(self, trust, server_name=None):
        self.trust = trust
        self.server_name = server_name
        self.peer = PeerCertificate()

    def _connection(self, protocol):
        protocol.peer_certificate = self.peer
        return SSL.Connection(self.trust.context, None)

    def clientConnectionForTLS(self, protocol):
        connection = self._connection(protocol)
        if self.server_name:
            connection.set_tlsext_host_name(self.server_name.encode("idna"))
        return connection

    def serverConnectionForTLS(self, protocol):
        return self._connection(protocol)


def _certificates(pem):
    return [
        crypto.load_certificate(crypto.FILETYPE_PEM, part)
        for part in pem.split(b"-----END CERTIFICATE-----")[:-1]
        if b"-----BEGIN CERTIFICATE-----" in part
        for part in [part + b"-----END CERTIFICATE-----\n"]
    ]


class TrustStore:
    """
    The server's own certificate and key, and the CAs peers' certificates
    must chain to: the system's, and C{extra_ca_file} if given.

    @ivar context: the one OpenSSL context of every server-to-server stream.
    """

    def __init__(self, cert_path, key_path, extra_ca_file=None, system_cas=True):
        self.cert_path = cert_path
        self.key_path = key_path
        self.extra_ca_file = extra_ca_file
        self.system_cas = system_cas
        self.context = self._context()

    def _locations(self):
        if self.system_cas:
            paths = ssl.get_default_verify_paths()
            yield paths.cafile, paths.capath
        if self.extra_ca_file:
            yield str(self.extra_ca_file), None

    def _context(self):
        options = twisted_ssl.CertificateOptions(
            raiseMinimumTo=twisted_ssl.TLSVersion.TLSv1_2,
            acceptableCiphers=twisted_ssl.AcceptableCiphers.fromOpenSSLCipherString(INTERMEDIATE_CIPHERS),
        )
        context = options.getContext()
        context.use_certificate_chain_file(str(self.cert_path))
        context.use_privatekey_file(str(self.key_path))
        for cafile, capath in self._locations():
            context.load_verify_locations(cafile, capath)
        context.set_verify(SSL.VERIFY_PEER, _record)
        # Servers such as Prosody (and XEP-0368 peers) offer ALPN
        # xmpp-server; Twisted's own callback would end the handshake with
        # internal_error when it knows no protocol, and a peer offering
        # only others goes on without one.
        context.set_alpn_select_callback(_alpn)
        return context

    def own_certificate_valid(self, domain):
        """
        Whether our certificate chains to the trust store and names
        C{domain}: then peers may authenticate us by SASL EXTERNAL.
        """
        chain = _certificates(self.cert_path.read_bytes())
        if not chain:
            return False
        store = crypto.X509Store()
        for cafile, capath in self._locations():
            try:
                store.load_locations(cafile, capath)
            except crypto.Error:
                continue
        try:
            crypto.X509StoreContext(store, chain[0], chain[1:]).verify_certificate()
        except crypto.X509StoreContextError:
            return False
        return certificate_names_domain(chain[0].to_cryptography(), domain)

# -*- test-case-name: tests.test_tls -*-
"""
The server's TLS certificate: the configured one, or a self-signed one made
on first start so that STARTTLS works out of the box.
"""

import datetime
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from twisted.internet import ssl

VALID_DAYS = 3650

INTERMEDIATE_CIPHERS = ":".join(
    [
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-CHACHA20-POLY1305",
    ]
)
"""
The TLS 1.2 suites of Mozilla's "intermediate" profile without the DHE ones:
forward secret and authenticated encryption only, no CBC and no SHA-1 MAC.
TLS 1.3 has only such suites and is not restricted by this list.
"""


def ensure_self_signed(cert_path, key_path, domain, now):
    """
    Write a self-signed certificate for C{domain} unless one exists.
    """
    if cert_path.exists() and key_path.exists():
        return False
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
    start = datetime.datetime.fromtimestamp(now, datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start - datetime.timedelta(days=1))
        .not_valid_after(start + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    key_path.parent.mkdir(parents=True, exist_ok=True)
    key_bytes = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    # The mode above applies to a new file only: a leftover key keeps its own.
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "wb") as key_file:
        key_file.write(key_bytes)
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return True


def server_tls_options(cert_path, key_path):
    """
    Context options for the server side of STARTTLS: TLS 1.2 at least, with
    L{INTERMEDIATE_CIPHERS}.

    Clients such as go-sendxmpp offer ALPN C{xmpp-client} (XEP-0368); with
    no protocol of its own to choose, Twisted's ALPN callback would abort
    their handshake with an C{internal_error} alert.
    """
    pem = cert_path.read_bytes() + b"\n" + key_path.read_bytes()
    certificate = ssl.PrivateCertificate.loadPEM(pem)
    return ssl.CertificateOptions(
        privateKey=certificate.privateKey.original,
        certificate=certificate.original,
        raiseMinimumTo=ssl.TLSVersion.TLSv1_2,
        acceptableCiphers=ssl.AcceptableCiphers.fromOpenSSLCipherString(INTERMEDIATE_CIPHERS),
        acceptableProtocols=[b"xmpp-client"],
    )

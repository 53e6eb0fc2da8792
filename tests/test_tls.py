"""
Tests for L{mcc.tls}: the self-signed certificate made on first start, and
the TLS versions and suites STARTTLS agrees to.
"""

import datetime
import ssl as std_ssl
import stat

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_private_key
import pytest
from twisted.internet import ssl
from twisted.internet.error import VerifyError

from mcc.tls import VALID_DAYS, ensure_self_signed, server_tls_options
from tests.conftest import asyncio_test
from tests.raw_xmpp import NS_TLS, RawClient, tag

NOW = 1_700_000_000


def paths(tmp_path):
    return tmp_path / "tls" / "cert.pem", tmp_path / "tls" / "key.pem"


def test_certificate_names_the_domain(tmp_path):
    cert_path, key_path = paths(tmp_path)
    assert ensure_self_signed(cert_path, key_path, "chat.example.org", NOW) is True
    certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert san.value.get_values_for_type(x509.DNSName) == ["chat.example.org"]
    common_names = certificate.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)
    assert [name.value for name in common_names] == ["chat.example.org"]
    start = datetime.datetime.fromtimestamp(NOW, datetime.UTC)
    assert certificate.not_valid_before_utc < start
    assert certificate.not_valid_after_utc == start + datetime.timedelta(days=VALID_DAYS)


def test_key_is_private_and_matches(tmp_path):
    cert_path, key_path = paths(tmp_path)
    ensure_self_signed(cert_path, key_path, "localhost", NOW)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    key = load_pem_private_key(key_path.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    assert certificate.public_key() == key.public_key()


def test_existing_certificate_is_kept(tmp_path):
    cert_path, key_path = paths(tmp_path)
    ensure_self_signed(cert_path, key_path, "localhost", NOW)
    cert, key = cert_path.read_bytes(), key_path.read_bytes()
    assert ensure_self_signed(cert_path, key_path, "localhost", NOW + 60) is False
    assert (cert_path.read_bytes(), key_path.read_bytes()) == (cert, key)


def test_missing_key_means_a_new_pair(tmp_path):
    cert_path, key_path = paths(tmp_path)
    ensure_self_signed(cert_path, key_path, "localhost", NOW)
    old_cert = cert_path.read_bytes()
    key_path.unlink()
    assert ensure_self_signed(cert_path, key_path, "localhost", NOW) is True
    assert cert_path.read_bytes() != old_cert
    certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    key = load_pem_private_key(key_path.read_bytes(), password=None)
    assert certificate.public_key() == key.public_key()


def test_a_leftover_key_is_replaced_by_a_private_one(tmp_path):
    cert_path, key_path = paths(tmp_path)
    key_path.parent.mkdir(parents=True)
    key_path.write_bytes(b"an old key without its certificate")
    key_path.chmod(0o644)
    ensure_self_signed(cert_path, key_path, "localhost", NOW)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    load_pem_private_key(key_path.read_bytes(), password=None)


def test_server_options_use_the_files(tmp_path):
    cert_path, key_path = paths(tmp_path)
    ensure_self_signed(cert_path, key_path, "localhost", NOW)
    options = server_tls_options(cert_path, key_path)
    assert isinstance(options, ssl.CertificateOptions)
    assert options.certificate.get_subject().CN == "localhost"


def test_server_options_refuse_a_key_of_another_certificate(tmp_path):
    cert_path, key_path = paths(tmp_path)
    other_cert, other_key = paths(tmp_path / "other")
    ensure_self_signed(cert_path, key_path, "localhost", NOW)
    ensure_self_signed(other_cert, other_key, "localhost", NOW)
    with pytest.raises(VerifyError):
        server_tls_options(cert_path, other_key)


async def starttls_with(server, context):
    """
    Open a stream on the XMPP port, ask for STARTTLS and shake hands with
    C{context}; return the cipher agreed.
    """
    client = await RawClient.connect(server)
    try:
        await client.open_stream()
        client.send(f"<starttls xmlns='{NS_TLS}'/>")
        assert (await client.receive()).tag == tag(NS_TLS, "proceed")
        await client._writer.start_tls(context, server_hostname="localhost")
        return client._writer.get_extra_info("ssl_object").cipher()
    finally:
        await client.close()


def client_context(server, ciphers=None, tls13=True):
    context = std_ssl.create_default_context(cafile=str(server.certificate))
    if not tls13:
        context.maximum_version = std_ssl.TLSVersion.TLSv1_2
    if ciphers:
        context.set_ciphers(ciphers)
    return context


@pytest.mark.parametrize("ciphers", ["ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0", "AES128-SHA256"])
@asyncio_test
async def test_tls_1_2_with_only_cbc_suites_is_refused(server, ciphers):
    with pytest.raises(std_ssl.SSLError):
        await starttls_with(server, client_context(server, ciphers, tls13=False))


@pytest.mark.parametrize(
    "ciphers, tls13, expected",
    [
        pytest.param(None, True, "TLSv1.3", id="tls-1.3"),
        pytest.param(None, False, "TLSv1.2", id="tls-1.2-default"),
        pytest.param("ECDHE-ECDSA-CHACHA20-POLY1305", False, "TLSv1.2", id="tls-1.2-chacha20"),
    ],
)
@asyncio_test
async def test_modern_clients_connect(server, ciphers, tls13, expected):
    name, version, _ = await starttls_with(server, client_context(server, ciphers, tls13))
    assert version == expected
    assert "GCM" in name or "CHACHA20" in name

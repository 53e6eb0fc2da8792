"""
Dialback keys (XEP-0185) and the names a peer's certificate is valid for
(RFC 6125, RFC 7590).
"""

from cryptography import x509
from cryptography.x509.oid import ObjectIdentifier

from mcc.xmpp.s2s.dialback import dialback_key, key_is_right
from mcc.xmpp.s2s.identity import TrustStore, certificate_names_domain
from tests.s2s_certificates import Authority, dns_names, server_certificate


def test_the_key_is_xep_0185s_example():
    key = dialback_key(b"s3cr3tf0rd14lb4ck", "xmpp.example.com", "example.org", "D60000229F")
    assert key == "37c69b1cf07a3f67c04a5ef5902fa5114f2c76fe4a2686482ba5b89323075643"


def test_a_key_holds_for_its_stream_and_domains_only():
    key = dialback_key(b"secret", "b.test", "a.test", "id1")
    assert key_is_right(b"secret", "b.test", "a.test", "id1", f"  {key.upper()}\n")
    assert not key_is_right(b"secret", "b.test", "a.test", "id2", key)
    assert not key_is_right(b"secret", "c.test", "a.test", "id1", key)
    assert not key_is_right(b"other", "b.test", "a.test", "id1", key)
    assert not key_is_right(b"secret", "b.test", "a.test", "id1", "")


def _certificate(tmp_path, names, common_name=None):
    cert_path, _ = server_certificate(tmp_path, names, common_name=common_name)
    return x509.load_pem_x509_certificates(cert_path.read_bytes())[0]


def _other_name(oid, tag, text):
    value = text.encode()
    return x509.OtherName(ObjectIdentifier(oid), bytes([tag, len(value)]) + value)


def test_dns_names_and_one_level_wildcards(tmp_path):
    certificate = _certificate(tmp_path, dns_names("chat.example.org", "*.example.net"))
    assert certificate_names_domain(certificate, "chat.example.org")
    assert certificate_names_domain(certificate, "CHAT.example.org.")
    assert certificate_names_domain(certificate, "xmpp.example.net")
    assert not certificate_names_domain(certificate, "example.net")
    assert not certificate_names_domain(certificate, "a.b.example.net")
    assert not certificate_names_domain(certificate, "example.org")


def test_xmpp_addresses_and_srv_ids(tmp_path):
    certificate = _certificate(
        tmp_path,
        [
            _other_name("1.3.6.1.5.5.7.8.5", 0x0C, "im.example.org"),
            _other_name("1.3.6.1.5.5.7.8.7", 0x16, "_xmpp-server.example.com"),
            _other_name("1.3.6.1.5.5.7.8.7", 0x16, "_xmpp-client.client-only.example"),
        ],
    )
    assert certificate_names_domain(certificate, "im.example.org")
    assert certificate_names_domain(certificate, "example.com")
    assert not certificate_names_domain(certificate, "client-only.example")


def test_the_common_name_counts_only_without_subject_alternative_names(tmp_path):
    without = _certificate(tmp_path / "a", [], common_name="old.example.org")
    assert certificate_names_domain(without, "old.example.org")
    with_names = _certificate(tmp_path / "b", dns_names("new.example.org"), common_name="old.example.org")
    assert not certificate_names_domain(with_names, "old.example.org")


def test_our_certificate_allows_sasl_external_once_a_trusted_ca_signed_it_for_our_domain(tmp_path):
    ca = Authority()
    ca_file = ca.write(tmp_path / "ca.pem")
    signed = server_certificate(tmp_path / "signed", dns_names("one.test"), ca)
    assert TrustStore(*signed, ca_file, system_cas=False).own_certificate_valid("one.test")
    assert not TrustStore(*signed, ca_file, system_cas=False).own_certificate_valid("two.test")
    assert not TrustStore(*signed, None, system_cas=False).own_certificate_valid("one.test")
    self_signed = server_certificate(tmp_path / "self", dns_names("one.test"))
    assert not TrustStore(*self_signed, ca_file, system_cas=False).own_certificate_valid("one.test")

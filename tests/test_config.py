"""
Tests for L{mcc.config}: the options of C{twistd mcc} and their defaults.
"""

from pathlib import Path

import pytest
from twisted.python import usage

from mcc.config import Config, Options


def parse(*arguments):
    options = Options()
    options.parseOptions(list(arguments))
    return options.to_config()


def test_defaults():
    config = parse()
    assert config == Config(data_dir=Path("./mcc-data"))
    assert (config.domain, config.xmpp_port, config.http_port) == ("localhost", 5222, 8080)
    assert config.max_stanza_size == 256 * 1024
    assert config.allow_plaintext_on_loopback is False
    assert config.auth_failures_allowed >= 1


def test_every_option():
    config = parse(
        "--data-dir=/srv/mcc",
        "--domain=Chat.Example.ORG",
        "--interface=127.0.0.1",
        "--xmpp-port=5223",
        "--http-port=0",
        "--tls-cert=/etc/cert.pem",
        "--tls-key=/etc/key.pem",
        "--max-stanza-size=1000",
        "--auth-timeout=2.5",
        "--allow-plaintext-on-loopback",
    )
    assert config == Config(
        data_dir=Path("/srv/mcc"),
        domain="chat.example.org",
        interface="127.0.0.1",
        xmpp_port=5223,
        http_port=0,
        tls_cert=Path("/etc/cert.pem"),
        tls_key=Path("/etc/key.pem"),
        allow_plaintext_on_loopback=True,
        max_stanza_size=1000,
        auth_timeout=2.5,
    )


def test_paths_inside_the_data_dir():
    config = parse("--data-dir=/srv/mcc")
    assert config.database_path == Path("/srv/mcc/mcc.sqlite")
    assert config.certificate_path == Path("/srv/mcc/tls/cert.pem")
    assert config.key_path == Path("/srv/mcc/tls/key.pem")


def test_own_certificate_paths():
    config = parse("--tls-cert=/etc/c.pem", "--tls-key=/etc/k.pem")
    assert config.certificate_path == Path("/etc/c.pem")
    assert config.key_path == Path("/etc/k.pem")


@pytest.mark.parametrize(
    "argument",
    [
        "--xmpp-port=-1",
        "--xmpp-port=65536",
        "--xmpp-port=http",
        "--http-port=70000",
        "--http-port=",
        "--max-stanza-size=0",
        "--max-stanza-size=big",
        "--auth-timeout=-1",
    ],
)
def test_bad_values_are_refused(argument):
    with pytest.raises(usage.UsageError):
        parse(argument)


@pytest.mark.parametrize(
    "arguments", [["--tls-cert=/etc/c.pem"], ["--tls-key=/etc/k.pem"]]
)
def test_certificate_and_key_go_together(arguments):
    with pytest.raises(usage.UsageError, match="go together"):
        parse(*arguments)


@pytest.mark.parametrize("domain", ["bob@example.org", "example.org/desk", "bad domain", ""])
def test_a_domain_that_is_no_domain_is_refused(domain):
    with pytest.raises(usage.UsageError, match="--domain"):
        Options().parseOptions(["--domain", domain])


def test_the_domain_is_kept_in_its_canonical_form():
    options = Options()
    options.parseOptions(["--domain", "Chat.Example.ORG"])
    assert options.to_config().domain == "chat.example.org"


def test_time_zone_is_the_systems_unless_named():
    assert parse().time_zone == ""
    assert parse("--time-zone=Europe/Paris").time_zone == "Europe/Paris"


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../etc/passwd", "CEST+2"])
def test_a_time_zone_that_is_none_is_a_usage_error(zone):
    with pytest.raises(usage.UsageError, match=f"--time-zone: '.*' is not an IANA time zone like Europe/Paris"):
        parse(f"--time-zone={zone}")

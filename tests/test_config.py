"""
Tests for L{mcc.config}: the options of C{twistd mcc} and their defaults.
"""

import re
from dataclasses import fields
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


def _help():
    """
    What C{twistd mcc --help} prints for each of mcc's options, by name, on
    one line.
    """
    entries = {}
    name = None
    for line in str(Options()).splitlines():
        # An option starts a line; a continuation is indented further, and
        # may itself begin with an option named in the help.
        start = re.match(r" {1,8}(?:-\w, )?--([a-z0-9-]+)(.*)", line)
        if start:
            name = start.group(1)
            entries[name] = start.group(2)
        elif name is not None:
            entries[name] += " " + line
    return {name: " ".join(text.split()) for name, text in entries.items()}


def test_every_field_has_an_option_whose_help_shows_its_default():
    entries = _help()
    for field in fields(Config):
        help_text = entries[field.name.replace("_", "-")]
        default = field.default
        if field.type is bool:
            assert default is False
        elif default in (None, "", ()):
            # No value to show: the help says what happens instead.
            assert "(default:" in help_text, field.name
        else:
            assert f"[default: {default}]" in help_text, field.name


def test_every_option_sets_its_field():
    values = {
        "auth-failures-allowed": ("7", 7),
        "auth-failure-window": ("12.5", 12.5),
        "logins-in-progress-per-address": ("30", 30),
        "keepalive-interval": ("100", 100.0),
        "keepalive-grace": ("9", 9.0),
        "admin-session-timeout": ("600", 600.0),
        "poll-timeout": ("10", 10.0),
        "chat-start-limit": ("3", 3),
        "chat-start-window": ("30", 30.0),
        "answer-timeout": ("5", 5.0),
        "visitor-timeout": ("50", 50.0),
        "reconnect-timeout": ("4", 4.0),
        "max-message-size": ("10", 10),
        "xmpp-listen": ("tcp6:5222:interface=\\:\\:", "tcp6:5222:interface=\\:\\:"),
        "http-listen": ("tcp:8081", "tcp:8081"),
        "trusted-proxies": ("10.0.0.0/8", ("10.0.0.0/8",)),
        "public-url": ("https://chat.example.org/", "https://chat.example.org"),
    }
    config = parse(*(f"--{name}={given}" for name, (given, _) in values.items()))
    for name, (_, expected) in values.items():
        assert getattr(config, name.replace("-", "_")) == expected, name


def test_the_listen_descriptions_default_to_tcp_on_the_interface_and_port():
    assert parse().xmpp_endpoint() == "tcp:5222:interface=0.0.0.0"
    assert parse().http_endpoint() == "tcp:8080:interface=0.0.0.0"
    config = parse("--interface=::1", "--xmpp-port=5333", "--http-port=0")
    assert config.xmpp_endpoint() == "tcp:5333:interface=\\:\\:1"
    assert config.http_endpoint() == "tcp:0:interface=\\:\\:1"
    config = parse("--xmpp-listen=unix:/run/mcc/xmpp.sock", "--http-port=9")
    assert config.xmpp_endpoint() == "unix:/run/mcc/xmpp.sock"
    assert config.http_endpoint() == "tcp:9:interface=0.0.0.0"


def test_the_s2s_listener_follows_the_interface_unless_given_an_endpoint():
    assert parse().s2s_endpoint() == "tcp:5269:interface=0.0.0.0"
    config = parse("--interface=127.0.0.2", "--s2s-port=5270")
    assert config.s2s_endpoint() == "tcp:5270:interface=127.0.0.2"
    config = parse("--interface=127.0.0.2", "--s2s-listen=tcp6:5269:interface=\\:\\:")
    assert config.s2s_endpoint() == "tcp6:5269:interface=\\:\\:"


@pytest.mark.parametrize(
    "argument", ["--xmpp-listen=nonsense:1", "--http-listen=tcp:port", "--xmpp-listen=tcp"]
)
def test_a_listen_option_that_is_no_endpoint_is_refused(argument):
    with pytest.raises(usage.UsageError, match="endpoint description"):
        parse(argument)


def test_the_visitor_timeout_outlasts_a_poll():
    with pytest.raises(usage.UsageError, match="--poll-timeout"):
        parse("--poll-timeout=60", "--visitor-timeout=60")
    assert parse("--poll-timeout=10", "--visitor-timeout=11").visitor_timeout == 11


def test_time_zone_is_the_systems_unless_named():
    assert parse().time_zone == ""
    assert parse("--time-zone=Europe/Paris").time_zone == "Europe/Paris"


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../etc/passwd", "CEST+2"])
def test_a_time_zone_that_is_none_is_a_usage_error(zone):
    with pytest.raises(usage.UsageError, match="--time-zone: '.*' is not an IANA time zone like Europe/Paris"):
        parse(f"--time-zone={zone}")


def test_the_access_log_is_quiet_unless_asked():
    assert parse().access_log == "quiet"
    assert parse("--access-log=all").access_log == "all"
    assert parse("--access-log=none").access_log == "none"
    with pytest.raises(usage.UsageError, match="--access-log is quiet, all or none"):
        parse("--access-log=some")


def test_message_archive_on_unless_switched_off():
    assert parse().no_message_archive is False
    assert parse("--no-message-archive").no_message_archive is True

# -*- test-case-name: tests.test_config -*-
"""
The one place where mcc's settings are declared, parsed and defaulted.

Both the twistd plugin and the C{mcc} command read their options from here, so
a setting has one name, one default and one help text.
"""

import ipaddress
import zoneinfo
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from twisted.python import usage
from twisted.words.protocols.jabber import jid


@dataclass(frozen=True)
class Config:
    data_dir: Path
    domain: str = "localhost"
    interface: str = "0.0.0.0"
    xmpp_port: int = 5222
    http_port: int = 8080
    tls_cert: Path | None = None
    tls_key: Path | None = None
    allow_plaintext_on_loopback: bool = False
    max_stanza_size: int = 256 * 1024
    auth_timeout: float = 60.0
    auth_failures_allowed: int = 5
    auth_failure_window: float = 60.0
    keepalive_interval: float = 300.0
    keepalive_grace: float = 60.0
    admin_session_timeout: float = 30 * 60.0
    answer_timeout: float = 120.0
    visitor_timeout: float = 90.0
    poll_timeout: float = 25.0
    reconnect_timeout: float = 30.0
    max_message_size: int = 4000
    chat_start_limit: int = 10
    chat_start_window: float = 60.0
    trusted_proxies: tuple = ()
    time_zone: str = ""
    """
    The IANA zone whose days and times the Activity tab shows; empty: the system's.
    """
    public_url: str = ""
    """
    Where browsers reach the HTTP port, for the code pasted into websites;
    empty: derived from the HTTP port (see L{base_url}).
    """

    def base_url(self, port=None):
        """
        The public base URL of mcc, without a trailing slash.

        @param port: the HTTP port really listened on, when C{http_port} is 0.
        """
        if self.public_url:
            return self.public_url
        host = "localhost" if self.interface in ("", "0.0.0.0", "::") else self.interface
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{port or self.http_port}"

    @property
    def database_path(self):
        return self.data_dir / "mcc.sqlite"

    @property
    def certificate_path(self):
        return self.tls_cert or self.data_dir / "tls" / "cert.pem"

    @property
    def key_path(self):
        return self.tls_key or self.data_dir / "tls" / "key.pem"


def _positive(convert):
    def check(value):
        number = convert(value)
        if number <= 0:
            raise ValueError(f"must be positive, not {value}")
        return number

    return check


def _port(value):
    number = int(value)
    if not 0 <= number <= 65535:
        raise ValueError(f"not a TCP port: {value}")
    return number


class Options(usage.Options):
    """
    Options of C{twistd mcc}.
    """

    optParameters = [
        ["data-dir", "d", "./mcc-data", "Folder for the database and TLS files."],
        ["domain", None, "localhost", "XMPP domain served; accounts are NAME@DOMAIN."],
        ["interface", None, "0.0.0.0", "Address to listen on."],
        ["xmpp-port", None, 5222, "XMPP client port (STARTTLS).", _port],
        ["http-port", None, 8080, "HTTP port for the admin site and widgets.", _port],
        ["tls-cert", None, None, "PEM certificate (default: self-signed, in the data dir)."],
        ["tls-key", None, None, "PEM private key for --tls-cert."],
        ["max-stanza-size", None, 256 * 1024, "Largest stanza accepted, in bytes.", _positive(int)],
        ["auth-timeout", None, 60.0, "Seconds a connection may stay unauthenticated.", _positive(float)],
        ["answer-timeout", None, 120.0, "Seconds a chat rings before it counts as missed.", _positive(float)],
        ["visitor-timeout", None, 90.0, "Seconds without a poll before a visitor counts as gone.", _positive(float)],
        [
            "reconnect-timeout",
            None,
            30.0,
            "Seconds an operator who went offline keeps their chats before they return to the queue.",
            _positive(float),
        ],
        ["max-message-size", None, 4000, "Longest visitor message, in characters.", _positive(int)],
        [
            "chat-start-limit",
            None,
            10,
            "Benchmarks only: new chats one address may start per minute.",
            _positive(int),
        ],
        ["trusted-proxies", None, "", "Comma-separated networks whose X-Forwarded-For is believed."],
        ["time-zone", None, "", "IANA time zone of the admin site's days and times, like Europe/Paris (default: the system's)."],
        [
            "public-url",
            None,
            "",
            "Base URL where browsers reach the HTTP port, used in the code for websites"
            " (default: http://localhost:HTTP-PORT).",
        ],
    ]
    optFlags = [
        [
            "allow-plaintext-on-loopback",
            None,
            "Benchmarks only: accept clients on 127.0.0.1 without TLS (PLAIN allowed).",
        ],
    ]

    def postOptions(self):
        if not self["domain"]:
            raise usage.UsageError("--domain cannot be empty")
        try:
            domain = jid.JID(self["domain"])
        except jid.InvalidFormat as problem:
            raise usage.UsageError(f"--domain: {problem}") from None
        if domain.user or domain.resource:
            raise usage.UsageError("--domain is a domain name like chat.example.org, not a JID")
        self["domain"] = domain.host
        if bool(self["tls-cert"]) != bool(self["tls-key"]):
            raise usage.UsageError("--tls-cert and --tls-key go together")
        try:
            self["trusted-proxies"] = tuple(
                str(ipaddress.ip_network(network.strip()))
                for network in self["trusted-proxies"].split(",")
                if network.strip()
            )
        except ValueError as problem:
            raise usage.UsageError(f"--trusted-proxies: {problem}") from None
        self["public-url"] = _public_url(self["public-url"])
        self["time-zone"] = _time_zone(self["time-zone"])
        if self["visitor-timeout"] <= Config.poll_timeout:
            raise usage.UsageError(
                f"--visitor-timeout must be longer than a poll ({Config.poll_timeout} s)"
            )

    def to_config(self):
        def optional_path(value):
            return Path(value) if value else None

        return Config(
            data_dir=Path(self["data-dir"]),
            domain=self["domain"],
            interface=self["interface"],
            xmpp_port=self["xmpp-port"],
            http_port=self["http-port"],
            tls_cert=optional_path(self["tls-cert"]),
            tls_key=optional_path(self["tls-key"]),
            allow_plaintext_on_loopback=bool(self["allow-plaintext-on-loopback"]),
            max_stanza_size=self["max-stanza-size"],
            auth_timeout=self["auth-timeout"],
            answer_timeout=self["answer-timeout"],
            visitor_timeout=self["visitor-timeout"],
            reconnect_timeout=self["reconnect-timeout"],
            max_message_size=self["max-message-size"],
            chat_start_limit=self["chat-start-limit"],
            trusted_proxies=self["trusted-proxies"],
            public_url=self["public-url"],
            time_zone=self["time-zone"],
        )


def _public_url(value):
    """
    C{value} without its trailing slash, once it is an http(s) base URL.
    """
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise usage.UsageError(
            f"--public-url: {value!r} is not a base URL like https://chat.example.org"
        )
    return value.rstrip("/")


def _time_zone(value):
    """
    C{value}, once it names an IANA time zone; empty stays empty.
    """
    if value:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise usage.UsageError(
                f"--time-zone: {value!r} is not an IANA time zone like Europe/Paris or UTC"
            ) from None
    return value

# -*- test-case-name: tests.test_config -*-
"""
The one place where mcc's settings are declared, parsed and defaulted.

Both the twistd plugin and the C{mcc} command read their options from here, so
a setting has one name, one default and one help text.
"""

import ipaddress
import zoneinfo
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import urlsplit

from twisted.internet import endpoints
from twisted.python import usage
from twisted.words.protocols.jabber import jid


ACCESS_LOGS = ("quiet", "all", "none")


@dataclass(frozen=True)
class Config:
    """
    Every setting of the process, with its default: the one place defaults
    are written.  L{Options} offers each field as C{--field-name}.
    """

    data_dir: Path = Path("mcc-data")
    domain: str = "localhost"
    interface: str = "0.0.0.0"
    xmpp_port: int = 5222
    http_port: int = 8080
    xmpp_listen: str = ""
    """
    An endpoint description (L{endpoints.serverFromString}) for the XMPP
    port; empty: TCP on C{interface} and C{xmpp_port}.
    """
    http_listen: str = ""
    """
    The same for the HTTP port, with C{http_port}.
    """
    tls_cert: Path | None = None
    tls_key: Path | None = None
    allow_plaintext_on_loopback: bool = False
    no_message_archive: bool = False
    max_stanza_size: int = 256 * 1024
    auth_timeout: float = 60.0
    auth_failures_allowed: int = 5
    auth_failure_window: float = 60.0
    logins_in_progress_per_address: int = 32
    """
    As many as the XMPP connections one address may have open by default:
    everyone who can connect from one address at once can log in at once.
    """
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
    public_url: str = ""
    """
    Where browsers reach the HTTP port, for the code pasted into websites;
    empty: derived from the HTTP port (see L{base_url}).
    """
    time_zone: str = ""
    """
    The IANA zone whose days and times the admin site shows; empty: the
    system's.
    """
    max_file_size: int = 10 * 1000 * 1000
    smtp_host: str = ""
    """
    The SMTP server that e-mailed transcripts go through; empty: no e-mail.
    """
    smtp_port: int = 25
    smtp_from: str = ""
    smtp_starttls: str = "optional"
    smtp_user: str = ""
    smtp_password_file: Path | None = None
    max_stanza_depth: int = 32
    max_xmpp_connections_per_address: int = 32
    max_http_connections_per_address: int = 64
    http_header_timeout: float = 20.0
    access_log: str = "quiet"
    offline_max_messages: int = 1000
    offline_max_bytes: int = 1024 * 1024
    offline_sender_limit: int = 30
    offline_sender_window: float = 60.0
    account_failures_allowed: int = 10
    account_max_backoff: float = 900.0
    xmpp_tls_port: int = 5223
    xmpp_tls_listen: str = ""
    """
    An endpoint description for the direct TLS port (XEP-0368), whose
    connections begin with TLS; empty: TCP on C{interface} and
    C{xmpp_tls_port}.
    """
    component_listen: str = "tcp:5347:interface=127.0.0.1"
    """
    An endpoint description for XEP-0114 components (bridges); loopback
    by default, as their handshake is not encrypted.
    """

    s2s_port: int = 5269
    s2s_listen: str = ""
    """
    An endpoint description for server-to-server streams (federation);
    empty: TCP on C{interface} and C{s2s_port}.
    """
    no_federation: bool = False
    s2s_allow: tuple = ()
    """
    The only remote domains federated with; empty: all but C{s2s_deny}.
    """
    s2s_deny: tuple = ()
    s2s_ca_file: Path | None = None
    """
    CAs that peer servers' certificates may chain to, besides the system's.
    """
    s2s_allow_unverified: bool = False
    s2s_idle_timeout: float = 600.0

    def xmpp_endpoint(self):
        """
        The endpoint description the XMPP port listens on.
        """
        return self.xmpp_listen or _tcp(self.xmpp_port, self.interface)

    def xmpp_tls_endpoint(self):
        """
        The endpoint description the direct TLS port listens on.
        """
        return self.xmpp_tls_listen or _tcp(self.xmpp_tls_port, self.interface)

    def http_endpoint(self):
        """
        The endpoint description the HTTP port listens on.
        """
        return self.http_listen or _tcp(self.http_port, self.interface)

    def s2s_endpoint(self):
        """
        The endpoint description the server-to-server port listens on.
        """
        return self.s2s_listen or _tcp(self.s2s_port, self.interface)

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


def _tcp(port, interface):
    """
    The endpoint description of TCP on C{port} of C{interface}, whose
    colons (IPv6) are escaped.
    """
    escaped = interface.replace("\\", "\\\\").replace(":", "\\:")
    return f"tcp:{port}:interface={escaped}" if interface else f"tcp:{port}"


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


def _endpoint(value):
    """
    C{value}, once it parses as a server endpoint description.
    """
    if not value:
        return ""
    try:
        # Nothing listens yet: the endpoint is built and dropped.
        endpoints.serverFromString(None, value)
    except (ValueError, KeyError, TypeError, IndexError) as problem:
        raise ValueError(f"not an endpoint description like tcp:5222: {value!r} ({problem})") from problem
    return value


_DEFAULTS = {field.name: field.default for field in fields(Config)}

# Option name, short name, help, conversion: the field of Config of the
# same name (dashes for underscores) gives the default.
_PARAMETERS = [
    ("data-dir", "d", "Folder for the database and TLS files.", str),
    ("domain", None, "XMPP domain served; accounts are NAME@DOMAIN.", str),
    ("interface", None, "Address to listen on (:: for every IPv6 and IPv4 address).", str),
    ("xmpp-port", None, "XMPP client port (STARTTLS).", _port),
    ("http-port", None, "HTTP port for the admin site and widgets.", _port),
    (
        "xmpp-listen",
        None,
        "Where XMPP listens, as a Twisted endpoint description such as tcp6:5222:interface=\\:\\:"
        " or systemd:domain=INET:index=0 (default: tcp on --interface and --xmpp-port).",
        _endpoint,
    ),
    (
        "http-listen",
        None,
        "Where HTTP listens, as an endpoint description"
        " (default: tcp on --interface and --http-port).",
        _endpoint,
    ),
    ("tls-cert", None, "PEM certificate (default: self-signed, in the data dir).", str),
    (
        "tls-key",
        None,
        "PEM private key for --tls-cert (default: self-signed, in the data dir).",
        str,
    ),
    ("max-stanza-size", None, "Largest stanza accepted, in bytes.", _positive(int)),
    ("auth-timeout", None, "Seconds a connection may stay unauthenticated.", _positive(float)),
    (
        "auth-failures-allowed",
        None,
        "Failed sign-ins (XMPP or admin site) one address may make per --auth-failure-window.",
        _positive(int),
    ),
    ("auth-failure-window", None, "Seconds over which failed sign-ins count.", _positive(float)),
    (
        "logins-in-progress-per-address",
        None,
        "Sign-ins (XMPP or web) one address may have under way at once; one more is"
        " refused as throttled.  Sign-ins that succeed never count as failed.",
        _positive(int),
    ),
    (
        "keepalive-interval",
        None,
        "Seconds of silence before a session is pinged.",
        _positive(float),
    ),
    (
        "keepalive-grace",
        None,
        "Seconds a pinged session has to answer before it is closed.",
        _positive(float),
    ),
    (
        "admin-session-timeout",
        None,
        "Seconds of inactivity before the admin site signs a browser out.",
        _positive(float),
    ),
    ("answer-timeout", None, "Seconds a chat rings before it counts as missed.", _positive(float)),
    (
        "visitor-timeout",
        None,
        "Seconds without a poll before a visitor counts as gone (longer than --poll-timeout).",
        _positive(float),
    ),
    ("poll-timeout", None, "Longest wait of a long poll, in seconds.", _positive(float)),
    (
        "reconnect-timeout",
        None,
        "Seconds an operator who went offline keeps their chats before they return to the queue.",
        _positive(float),
    ),
    ("max-message-size", None, "Longest visitor message, in characters.", _positive(int)),
    (
        "chat-start-limit",
        None,
        "New chats one address may start per --chat-start-window.",
        _positive(int),
    ),
    ("chat-start-window", None, "Seconds over which new chats count.", _positive(float)),
    (
        "trusted-proxies",
        None,
        "Comma-separated networks whose X-Forwarded-For is believed (default: none).",
        str,
    ),
    (
        "public-url",
        None,
        "Base URL where browsers reach the HTTP port, used in the code for websites"
        " (default: http://localhost:HTTP-PORT).",
        str,
    ),
    (
        "time-zone",
        None,
        "IANA time zone of the admin site's days and times, like Europe/Paris"
        " (default: the system's).",
        str,
    ),
    ("max-file-size", None, "Largest file sent in a chat, in bytes.", _positive(int)),
    ("smtp-host", None, "SMTP server for e-mailed transcripts (default: no e-mail).", str),
    ("smtp-port", None, "Port of the SMTP server.", _port),
    (
        "smtp-from",
        None,
        "Address e-mailed transcripts come from (default: none; needed with --smtp-host).",
        str,
    ),
    ("smtp-starttls", None, "STARTTLS to the SMTP server: no, optional or required.", str),
    ("smtp-user", None, "User to log into the SMTP server as (default: none).", str),
    (
        "smtp-password-file",
        None,
        "File whose first line is the SMTP user's password (default: none).",
        str,
    ),
    (
        "max-stanza-depth",
        None,
        "Deepest nesting of elements in a stanza; deeper ends the stream.",
        _positive(int),
    ),
    (
        "max-xmpp-connections-per-address",
        None,
        "XMPP connections one address may hold open at once.",
        _positive(int),
    ),
    (
        "max-http-connections-per-address",
        None,
        "HTTP connections one address may hold open at once (trusted proxies are exempt).",
        _positive(int),
    ),
    (
        "http-header-timeout",
        None,
        "Seconds an HTTP client has to send a request's line and headers.",
        _positive(float),
    ),
    (
        "access-log",
        None,
        "Which HTTP requests get a line in the log: quiet (all but the visitor"
        " API's successful polls and messages, a few each second per chat), all"
        " or none.",
        str,
    ),
    ("offline-max-messages", None, "Offline messages kept for one account.", _positive(int)),
    ("offline-max-bytes", None, "Bytes of offline messages kept for one account.", _positive(int)),
    (
        "offline-sender-limit",
        None,
        "Offline messages one account may store per --offline-sender-window.",
        _positive(int),
    ),
    ("offline-sender-window", None, "Seconds over which offline messages count.", _positive(float)),
    (
        "account-failures-allowed",
        None,
        "Failed logins to one account, from anywhere, before it is locked for a while"
        " (doubling up to --account-max-backoff); addresses it logged in from before"
        " are not locked out.",
        _positive(int),
    ),
    (
        "account-max-backoff",
        None,
        "Longest lock, in seconds, of an account with failed logins.",
        _positive(float),
    ),
    ("xmpp-tls-port", None, "XMPP client port with direct TLS (XEP-0368).", _port),
    (
        "xmpp-tls-listen",
        None,
        "Where direct TLS XMPP listens, as an endpoint description"
        " (default: tcp on --interface and --xmpp-tls-port).",
        _endpoint,
    ),
    (
        "component-listen",
        None,
        "Where XEP-0114 components (bridges such as slidge) attach, as an endpoint description.",
        _endpoint,
    ),
    ("s2s-port", None, "Port other XMPP servers connect to (federation).", _port),
    (
        "s2s-listen",
        None,
        "Where other XMPP servers connect (federation), as an endpoint description"
        " (default: tcp on --interface and --s2s-port).",
        _endpoint,
    ),
    (
        "s2s-allow",
        None,
        "Comma-separated remote domains, the only ones federated with (default: all but --s2s-deny).",
        str,
    ),
    ("s2s-deny", None, "Comma-separated remote domains never federated with (default: none).", str),
    (
        "s2s-ca-file",
        None,
        "PEM file of CAs that remote servers' certificates may chain to, besides the system's"
        " (default: the system's only).",
        str,
    ),
    (
        "s2s-idle-timeout",
        None,
        "Seconds an unused server-to-server stream stays open.",
        _positive(float),
    ),
]
_FLAGS = [
    (
        "allow-plaintext-on-loopback",
        "Benchmarks only: accept clients on 127.0.0.1 without TLS (PLAIN allowed).",
    ),
    (
        "no-message-archive",
        "Benchmarks only: archive no account's messages (XEP-0313 off), to price its writes.",
    ),
    ("no-federation", "Talk with no other XMPP server: no server-to-server streams either way."),
    (
        "s2s-allow-unverified",
        "Accept remote servers whose certificate is not valid for their domain when Server"
        " Dialback proves them (self-signed peers); refused by default.",
    ),
]


def _field(option):
    return option.replace("-", "_")


def _shown(default):
    """
    An option's default as twistd's --help shows it; C{None} for an empty
    one, which the help text describes instead.
    """
    if isinstance(default, tuple):
        default = ",".join(default)
    if default is None or default == "":
        return None
    return str(default) if isinstance(default, Path) else default


class Options(usage.Options):
    """
    Options of C{twistd mcc}: one for each field of L{Config}.
    """

    optParameters = [
        [name, short, _shown(_DEFAULTS[_field(name)]), doc, convert]
        for name, short, doc, convert in _PARAMETERS
    ]
    optFlags = [[name, None, doc] for name, doc in _FLAGS]

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
                for network in (self["trusted-proxies"] or "").split(",")
                if network.strip()
            )
        except ValueError as problem:
            raise usage.UsageError(f"--trusted-proxies: {problem}") from None
        self["public-url"] = _public_url(self["public-url"])
        for name in ("s2s-allow", "s2s-deny"):
            self[name] = _domains(name, self[name])
        self["time-zone"] = _time_zone(self["time-zone"])
        if self["access-log"] not in ACCESS_LOGS:
            raise usage.UsageError("--access-log is quiet, all or none")
        if self["smtp-starttls"] not in ("no", "optional", "required"):
            raise usage.UsageError("--smtp-starttls is no, optional or required")
        if self["smtp-host"] and not self["smtp-from"]:
            raise usage.UsageError("--smtp-host needs --smtp-from")
        if self["visitor-timeout"] <= self["poll-timeout"]:
            raise usage.UsageError(
                f"--visitor-timeout must be longer than a poll (--poll-timeout,"
                f" {self['poll-timeout']} s)"
            )

    def to_config(self):
        def optional_path(value):
            return Path(value) if value else None

        # An option with an empty default reads None when not given.
        values = {
            _field(name): _DEFAULTS[_field(name)] if self[name] is None else self[name]
            for name, _, _, _ in _PARAMETERS
        }
        values.update(
            data_dir=Path(self["data-dir"]),
            tls_cert=optional_path(self["tls-cert"]),
            tls_key=optional_path(self["tls-key"]),
            smtp_password_file=optional_path(self["smtp-password-file"]),
            s2s_ca_file=optional_path(self["s2s-ca-file"]),
        )
        values.update((_field(name), bool(self[name])) for name, _ in _FLAGS)
        return Config(**values)


def _domains(option, value):
    """
    The domains of a comma-separated list, lowercased.
    """
    domains = []
    for part in (value or "").split(","):
        part = part.strip().lower().rstrip(".")
        if not part:
            continue
        try:
            parsed = jid.JID(part)
        except jid.InvalidFormat:
            parsed = None
        if parsed is None or parsed.user or parsed.resource:
            raise usage.UsageError(f"--{option}: {part!r} is not a domain name")
        domains.append(parsed.host)
    return tuple(domains)


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

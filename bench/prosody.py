# -*- test-case-name: bench.tests.test_prosody -*-
"""
A private Prosody for the comparison: Debian's package, its own config,
data, pid file and log in a folder of ours, listening on loopback only.

Like mcc in the benchmark it accepts SASL PLAIN without TLS, on c2s and,
for the chat path's peer, on BOSH (XEP-0124/0206) over HTTP.  It keeps
passwords as Prosody does by default (C{internal_hashed}: SCRAM-SHA-1 keys),
with mcc's count of PBKDF2 rounds, so that a PLAIN login costs both servers
one PBKDF2 of 4,096 rounds.  Its accounts are written straight into its
data folder, each a small Lua file: C{prosodyctl register} would start one
process per account.
"""

from pathlib import Path

from scramp import ScramMechanism

from mcc.credentials import ITERATIONS

PROSODY = "prosody"

# Roughly what mcc serves: rosters, presence, messages, offline storage
# (loaded by Prosody itself), disco, ping, version, vCards.  No mod_limits:
# it would throttle every connection to 10 KB/s.
# Stream management (smacks), as mcc offers it, keeps a detached session
# resumable for smacks_hibernation_time (600 s by default); it costs a
# session nothing until the client enables it.
MODULES = ("roster", "saslauth", "disco", "ping", "version", "vcard_legacy", "smacks")


def lua_string(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def config_text(folder, domain, port, http_port=None):
    """
    The config file; with C{http_port}, BOSH (mod_bosh, at C{/http-bind})
    listens there on loopback, and counts as secure so that PLAIN works
    over it as on c2s.
    """
    folder = Path(folder)
    modules = "; ".join(lua_string(name) for name in MODULES + (("bosh",) if http_port else ()))
    http = "http_ports = { }"
    if http_port:
        http = (
            f"http_ports = {{ {http_port} }}\n"
            'http_interfaces = { "127.0.0.1" }\n'
            "consider_bosh_secure = true"
        )
    return f"""\
-- Written by mcc's benchmark; removed with its folder.
run_as_root = true
pidfile = {lua_string(str(folder / "prosody.pid"))}
data_path = {lua_string(str(folder / "data"))}
log = {{ info = {lua_string(str(folder / "prosody.log"))} }}
interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {port} }}
c2s_direct_tls_ports = {{ }}
s2s_ports = {{ }}
{http}
https_ports = {{ }}
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_hashed"
default_iteration_count = {ITERATIONS}
storage = "internal"
modules_enabled = {{ {modules} }}

VirtualHost {lua_string(domain)}
"""


def account_path(data_folder, domain, username):
    """
    Where Prosody's C{internal} storage keeps one account: it escapes the dots of
    the host name in folder names.
    """
    return Path(data_folder) / domain.replace(".", "%2e") / "accounts" / f"{username}.dat"


SALT = "mcc-bench-salt"
"""
One salt for every account: a benchmark's accounts need no secrecy, and the
keys of a password are derived once however many accounts share it.
"""


def scram_sha1_keys(password, salt=SALT, iterations=ITERATIONS):
    """
    The stored and server keys (RFC 5802) that C{internal_hashed} keeps,
    in hex, derived by scramp as mcc's own keys are.
    """
    _, stored_key, server_key, _ = ScramMechanism("SCRAM-SHA-1").make_auth_info(
        password, iteration_count=iterations, salt=salt.encode()
    )
    return stored_key.hex(), server_key.hex()


def account_text(stored_key, server_key, salt=SALT, iterations=ITERATIONS):
    return (
        "return {\n"
        f"\t[\"iteration_count\"] = {iterations};\n"
        f"\t[\"salt\"] = {lua_string(salt)};\n"
        f"\t[\"server_key\"] = {lua_string(server_key)};\n"
        f"\t[\"stored_key\"] = {lua_string(stored_key)};\n"
        "};\n"
    )


def write_accounts(data_folder, domain, accounts):
    """
    Register C{accounts}, pairs of username and password.
    """
    texts = {}
    for username, password in accounts:
        if password not in texts:
            texts[password] = account_text(*scram_sha1_keys(password))
        path = account_path(data_folder, domain, username)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(texts[password])


def start(processes, folder, domain, port, accounts, http_port=None):
    """
    Start Prosody in the foreground and wait until it listens (on
    C{http_port} too, with BOSH there, when given).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "prosody.cfg.lua"
    config.write_text(config_text(folder, domain, port, http_port))
    write_accounts(folder / "data", domain, accounts)
    process = processes.start(
        [PROSODY, "--config", str(config), "-F"], folder / "prosody.out"
    )
    processes.wait_for_port(process, port)
    if http_port:
        processes.wait_for_port(process, http_port)
    return process

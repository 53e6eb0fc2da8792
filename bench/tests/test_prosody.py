"""
The private Prosody's configuration and the accounts written for it.
"""

import re

from bench import prosody


def settings(text):
    return dict(re.findall(r"^(\w+) = (.+)$", text, re.MULTILINE))


def test_config_listens_on_loopback_only_and_allows_plain(tmp_path):
    text = prosody.config_text(tmp_path, "bench.test", 5999)
    values = settings(text)
    assert values["interfaces"] == '{ "127.0.0.1" }'
    assert values["c2s_ports"] == "{ 5999 }"
    for closed in ("s2s_ports", "http_ports", "https_ports", "c2s_direct_tls_ports"):
        assert values[closed] == "{ }"
    assert values["c2s_require_encryption"] == "false"
    assert values["allow_unencrypted_plain_auth"] == "true"
    assert values["authentication"] == '"internal_hashed"'
    assert values["default_iteration_count"] == "4096"
    assert values["pidfile"] == f'"{tmp_path}/prosody.pid"'
    assert values["data_path"] == f'"{tmp_path}/data"'
    assert 'VirtualHost "bench.test"' in text


def test_config_leaves_mod_limits_out(tmp_path):
    modules = settings(prosody.config_text(tmp_path, "bench.test", 5999))["modules_enabled"]
    assert '"saslauth"' in modules and '"roster"' in modules
    assert "limits" not in modules


def test_account_files_are_where_internal_hashed_reads_them(tmp_path):
    prosody.write_accounts(tmp_path, "bench.test", [("bench1", "secret1"), ("q", 'a"b\\c')])
    folder = tmp_path / "bench%2etest" / "accounts"
    assert sorted(p.name for p in folder.iterdir()) == ["bench1.dat", "q.dat"]
    text = (folder / "bench1.dat").read_text()
    assert '["iteration_count"] = 4096;' in text
    assert '["salt"] = "mcc-bench-salt";' in text
    assert "password" not in text


def test_the_keys_are_those_scram_sha_1_derives():
    from scramp import ScramMechanism

    _, stored_key, server_key, _ = ScramMechanism("SCRAM-SHA-1").make_auth_info(
        "pencil", iteration_count=4096, salt=b"mcc-bench-salt"
    )
    assert prosody.scram_sha1_keys("pencil") == (stored_key.hex(), server_key.hex())


def test_config_serves_bosh_on_loopback_when_asked(tmp_path):
    values = settings(prosody.config_text(tmp_path, "bench.test", 5999, http_port=5280))
    assert values["http_ports"] == "{ 5280 }"
    assert values["http_interfaces"] == '{ "127.0.0.1" }'
    assert values["consider_bosh_secure"] == "true"
    assert '"bosh"' in values["modules_enabled"] and '"smacks"' in values["modules_enabled"]
    assert '"bosh"' not in settings(prosody.config_text(tmp_path, "d", 5999))["modules_enabled"]

"""
The second server of the federation tests works on its own: Prosody
starts on its loopback address as remote.test, and a slixmpp client logs
in over STARTTLS, trusting only the test CA.
"""

import asyncio

import pytest

from tests.certificates import TestCA
from tests.conftest import asyncio_test
from tests.federation.conftest import MCC, REMOTE, missing_names
from tests.xmpp_client import Disconnected, login


@asyncio_test
async def test_a_client_logs_in_to_prosody(prosody):
    juliet = await login(prosody, "juliet@remote.test", "juliet's secret", host=prosody.address)
    try:
        assert juliet.boundjid.bare == "juliet@remote.test"
        peer = juliet.transport.get_extra_info("peercert")
        assert ("DNS", REMOTE[0]) in peer["subjectAltName"]
        answer = await asyncio.wait_for(juliet.plugin["xep_0199"].ping(REMOTE[0], timeout=5), 10)
        assert answer >= 0
    finally:
        await juliet.close()
    sockets = await prosody.wait_for_log(r"Activated service 's2s' on \[127\.0\.0\.3\]:5269")
    assert sockets


@asyncio_test
async def test_a_client_trusting_another_ca_is_refused(prosody, tmp_path):
    stranger = TestCA(tmp_path / "stranger", name="stranger CA")
    prosody.certificate = stranger.certificate
    with pytest.raises(Disconnected):
        await login(prosody, "juliet@remote.test", "juliet's secret", host=prosody.address)


@asyncio_test
async def test_prosody_asks_no_nameserver(prosody):
    """
    A message to a domain nobody serves makes Prosody look it up: the
    answer comes from the test's table (no such domain), and the sender
    hears that the remote server is not found.
    """
    juliet = await login(prosody, "juliet@remote.test", "juliet's secret", host=prosody.address)
    try:
        errors = asyncio.Queue()
        juliet.add_event_handler("message_error", errors.put_nowait)
        juliet.send_message(mto="someone@nowhere.test", mbody="hello?", mtype="chat")
        error = await asyncio.wait_for(errors.get(), 10)
        assert error["type"] == "error"
        assert error["error"]["condition"] == "remote-server-not-found"
        await prosody.wait_for_log(r"loopback DNS: _xmpp-server\._tcp\.nowhere\.test SRV")
        await prosody.wait_for_log(r"loopback DNS: nowhere\.test A -> 0")
    finally:
        await juliet.close()


def test_hosts_file_names():
    assert missing_names("127.0.0.1 localhost\n127.0.0.2 mcc.test # mcc\n") == [REMOTE[0]]
    assert missing_names("127.0.0.9 mcc.test\n127.0.0.3 remote.test\n") == [MCC[0]]
    assert missing_names("# 127.0.0.2 mcc.test\n127.0.0.2 mcc.test\n127.0.0.3 other remote.test\n") == []

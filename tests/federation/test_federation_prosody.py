"""
mcc federated with a real Prosody over server-to-server links on
loopback: a Prosody user adds a queue's address and chats with an
operator of mcc, an operator writes to the Prosody user directly, and
certificates or dialback keys that do not prove the domain are refused.
"""

import asyncio
import re
from http.cookiejar import CookieJar

import pytest
import treq
from twisted.internet import reactor
from twisted.web.client import Agent

from tests.certificates import TestCA
from tests.conftest import asyncio_test
from tests.federation.conftest import MCC, REMOTE
from tests.federation.dialback_peer import DialbackPeer
from tests.federation.names import LoopbackResolver
from tests.prosody_server import free_port
from tests.test_chat_end_to_end import close_all, has_body, message_matching, staff
from tests.visitor_client import wait
from tests.xmpp_client import login, until

QUEUE = "support"
QUEUE_ADDRESS = f"{QUEUE}@{MCC[0]}"
JULIET = f"juliet@{REMOTE[0]}"
REFUSAL_BOUND = 4.0
"""
Seconds within which a refused stanza would have arrived had it been
let through: over loopback, a delivered one takes well under one.
"""

async def operator(mcc, name):
    mcc.running.add_user(name, f"{name}-pw", display_name=name.title())
    return await login(mcc, f"{name}@{MCC[0]}/desk", f"{name}-pw", host=mcc.address)


async def juliet_of(prosody):
    return await login(prosody, f"{JULIET}/phone", "juliet's secret", host=prosody.address)


def remote_visitors(mcc):
    return mcc.running.service.getServiceNamed("remote-visitors")


def open_queue(mcc, *operators):
    staff(mcc.running, QUEUE, *operators)
    remote_visitors(mcc).set_identity(QUEUE, QUEUE_ADDRESS)


async def nothing_from(client, sender, bound=REFUSAL_BOUND):
    """
    Wait C{bound} seconds; the messages with a body from C{sender} that
    arrived meanwhile (none, for a refused link).
    """
    await asyncio.sleep(bound)
    seen = []
    while not client.messages.empty():
        message = client.messages.get_nowait()
        if message["from"].bare == sender and message["body"] and message["type"] != "error":
            seen.append(message["body"])
    return seen


async def error_for(client, timeout=10):
    """
    The next message error C{client} gets.
    """
    errors = asyncio.Queue()
    client.add_event_handler("message_error", errors.put_nowait)
    try:
        return await asyncio.wait_for(errors.get(), timeout)
    finally:
        client.del_event_handler("message_error", errors.put_nowait)


async def body_from(client, sender, timeout=10):
    return await message_matching(
        client,
        lambda message: message["from"].bare == sender and bool(message["body"]) and message["type"] != "error",
        timeout,
    )


async def activity_monitor(mcc):
    """
    The Activity tab's live monitor as an administrator of mcc sees it,
    signed in over HTTP on mcc's own address.
    """
    mcc.running.add_user("overseer", "overseer-pw", is_admin=True)
    site = f"http://{mcc.address}:{mcc.running.http_port}"
    http = treq.client.HTTPClient(Agent(reactor), cookiejar=CookieJar())
    page = await wait(treq.content(await wait(http.get(f"{site}/admin/sign-in"))))
    csrf = re.search(rb'name="csrf" value="([^"]+)"', page).group(1).decode()
    signed_in = await wait(http.post(
        f"{site}/admin/sign-in", data={"csrf": csrf, "username": "overseer", "password": "overseer-pw"},
        allow_redirects=False,
    ))
    assert signed_in.code == 303
    live = await wait(http.get(f"{site}/admin/activity/live", allow_redirects=False))
    assert live.code == 200
    return (await wait(treq.content(live))).decode()


@asyncio_test
async def test_a_prosody_user_adds_a_queue_and_chats_with_an_operator(mcc, prosody):
    alice = await operator(mcc, "alice")
    open_queue(mcc, "alice")
    juliet = await juliet_of(prosody)
    try:
        # Adding the address to her roster: Prosody sends the subscription
        # over the link, mcc accepts it and shows the queue as available.
        await juliet.update_roster(QUEUE_ADDRESS, name="Support")
        juliet.send_presence(pto=QUEUE_ADDRESS, ptype="subscribe")
        await juliet.presence_from(QUEUE_ADDRESS, "subscribed")
        online = await juliet.presence_from(QUEUE_ADDRESS, "available")
        assert online["status"]
        await until(lambda: juliet.client_roster[QUEUE_ADDRESS]["subscription"] in ("to", "both"))

        juliet.send_message(mto=QUEUE_ADDRESS, mbody="Are you open on Sunday?", mtype="chat")
        offer = await message_matching(alice, has_body("New chat for support"))
        guest = offer["from"].bare
        chat = mcc.store.chats.by_guest(guest.split("@")[0])
        assert chat.protocol == "xmpp"
        assert f"from {JULIET}" in offer["body"] and "Are you open on Sunday?" in offer["body"]

        alice.send_message(mto=guest, mbody="Yes, from ten to four.", mtype="chat")
        reply = await body_from(juliet, QUEUE_ADDRESS)
        assert reply["body"] == "Yes, from ten to four."
        assert reply["to"].bare == JULIET

        juliet.send_message(mto=QUEUE_ADDRESS, mbody="Thank you!", mtype="chat")
        await message_matching(alice, has_body("Thank you!"))
        assert [c.id for c in mcc.store.chats.unfinished()] == [chat.id]
        assert mcc.store.chats.by_guest(guest.split("@")[0]).protocol == "xmpp"
        # The administrator's Activity tab shows the chat, over XMPP.
        monitor = activity_monitor(mcc)
        row = re.search(rf'<tr[^>]*data-chat="{chat.id}".*?</tr>', await monitor, re.S)
        assert row is not None
        assert "xmpp" in row.group(0) and JULIET in row.group(0)

        # The queue's address follows its availability.
        await close_all(alice)
        offline = await juliet.presence_from(QUEUE_ADDRESS, "unavailable")
        assert offline["status"]
    finally:
        await close_all(alice, juliet)


@asyncio_test
async def test_an_operator_writes_to_a_prosody_user(mcc, prosody):
    alice = await operator(mcc, "alice")
    juliet = await juliet_of(prosody)
    try:
        alice.send_message(mto=JULIET, mbody="Your order has shipped.", mtype="chat")
        message = await body_from(juliet, f"alice@{MCC[0]}")
        assert message["body"] == "Your order has shipped."
        assert message["from"].full == f"alice@{MCC[0]}/desk"

        juliet.send_message(mto=f"alice@{MCC[0]}", mbody="Great, thanks.", mtype="chat")
        answer = await body_from(alice, JULIET)
        assert answer["body"] == "Great, thanks."
        # mcc looked for the SRV record, then fell back to the domain itself.
        assert mcc.resolver.asked(f"_xmpp-server._tcp.{REMOTE[0]}", "SRV")
    finally:
        await close_all(alice, juliet)


@pytest.fixture
def remote_certificate():
    """
    The certificate Prosody shows other servers; C{None}: the one for its
    domain from the test CA, which it shows its clients.
    """
    return None


@pytest.fixture
def remote_settings(remote_settings, remote_certificate):
    remote_settings.s2s_certificate = remote_certificate
    return remote_settings


async def assert_certificate_refused_both_ways(mcc):
    """
    mcc's log says why: Prosody's stream to mcc was refused, and mcc
    opened none to Prosody, for the certificate.
    """
    await mcc.wait_for_log(r"Dialback refused for remote\.test .*certificate")
    await mcc.wait_for_log(r"No stream to remote\.test: .*certificate")


async def assert_link_refused(mcc, prosody):
    """
    Neither way gets a stanza through: Juliet's message to an operator
    comes back as an error, and the operator's to her never arrives.
    """
    alice = await operator(mcc, "alice")
    juliet = await juliet_of(prosody)
    try:
        juliet.send_message(mto=f"alice@{MCC[0]}", mbody="Can you hear me?", mtype="chat")
        bounced = await error_for(juliet, timeout=15)
        assert bounced["error"]["condition"] in ("remote-server-not-found", "remote-server-timeout", "not-authorized")
        alice.send_message(mto=JULIET, mbody="Can you hear me?", mtype="chat")
        assert await nothing_from(juliet, f"alice@{MCC[0]}") == []
        assert await nothing_from(alice, JULIET, bound=0) == []
    finally:
        await close_all(alice, juliet)


class TestPeerCertificates:
    """
    mcc checks the certificate of a peer against the domain it claims
    (self-signed and unknown issuers refused by default), so a Prosody
    whose certificate does not prove remote.test cannot federate, whether
    it authenticates by SASL EXTERNAL or by dialback.
    """

    @pytest.fixture
    def remote_certificate(self, test_ca):
        return test_ca.issue("other.test")

    @asyncio_test
    async def test_a_certificate_for_another_name_is_refused(self, mcc, prosody):
        await assert_link_refused(mcc, prosody)
        await assert_certificate_refused_both_ways(mcc)


class TestUntrustedIssuer:
    @pytest.fixture
    def remote_certificate(self, tmp_path):
        return TestCA(tmp_path / "stranger", name="stranger CA").issue(REMOTE[0])

    @asyncio_test
    async def test_a_certificate_from_an_unknown_ca_is_refused(self, mcc, prosody):
        await assert_link_refused(mcc, prosody)
        await assert_certificate_refused_both_ways(mcc)


UNTRUSTED_MCC = r"Forbidding insecure connection to/from mcc\.test because its certificate is not trusted"


class TestProsodyRequiresCertificates:
    """
    With C{s2s_secure_auth}, Prosody refuses mcc when mcc's certificate
    comes from a CA Prosody does not trust.
    """

    @pytest.fixture
    def mcc_certificate(self, tmp_path):
        return TestCA(tmp_path / "stranger", name="stranger CA").issue(MCC[0])

    @pytest.fixture
    def remote_settings(self, remote_settings):
        remote_settings.secure_auth = True
        return remote_settings

    @asyncio_test
    async def test_prosody_refuses_an_untrusted_mcc(self, mcc, prosody):
        await assert_link_refused(mcc, prosody)
        await prosody.wait_for_log(r"s2sout\w*\s+warn\s+" + UNTRUSTED_MCC)
        await prosody.wait_for_log(r"s2sin\w*\s+warn\s+" + UNTRUSTED_MCC)
        await mcc.wait_for_log(r"No stream to remote\.test: remote\.test sent the stream error not-authorized")


def refused(verdict):
    """
    Whether a dialback verdict refuses: C{invalid}, or a stream error
    (XEP-0220 allows either).
    """
    return verdict == "invalid" or verdict.startswith("stream-error")


@asyncio_test
async def test_mcc_refuses_a_peer_whose_certificate_does_not_prove_its_domain(mcc, prosody):
    """
    By default dialback alone is not enough: a server that claims to be
    remote.test with no certificate is refused before its key is checked.
    """
    alice = await operator(mcc, "alice")
    peer = DialbackPeer(MCC[1], claimed=REMOTE[0], receiving=MCC[0], cafile=mcc.certificate, alpn=("xmpp-server",))
    try:
        await peer.connect()
        assert refused(await peer.dialback("0" * 64))
        await mcc.wait_for_log(r"Dialback refused for remote\.test .*certificate")
        await peer.send_stanza(
            f"<message from='{JULIET}/phone' to='alice@{MCC[0]}' type='chat'><body>I am Juliet</body></message>"
        )
        assert await nothing_from(alice, JULIET, bound=2) == []
        # mcc did not even ask remote.test's server.
        assert not re.search(r"Received\[s2sin[^\]]*\]: <verify", prosody.log)
    finally:
        await peer.close()
        await close_all(alice)


class TestDialback:
    """
    With C{--s2s-allow-unverified}, Server Dialback authenticates a peer
    whose certificate does not name its domain: mcc asks the domain's
    authoritative server (Prosody) whether the key is right.
    """

    @pytest.fixture
    def mcc_federation(self):
        return {"s2s_allow_unverified": True}

    @pytest.fixture
    def remote_certificate(self, test_ca):
        return test_ca.issue("other.test")

    @asyncio_test
    async def test_prosody_proven_by_dialback_federates(self, mcc, prosody):
        alice = await operator(mcc, "alice")
        juliet = await juliet_of(prosody)
        try:
            juliet.send_message(mto=f"alice@{MCC[0]}", mbody="Hello over dialback", mtype="chat")
            assert (await body_from(alice, JULIET))["body"] == "Hello over dialback"
            alice.send_message(mto=JULIET, mbody="Heard you", mtype="chat")
            assert (await body_from(juliet, f"alice@{MCC[0]}"))["body"] == "Heard you"
            await mcc.wait_for_log(r"Server remote\.test authenticated by (Server )?[Dd]ialback")
        finally:
            await close_all(alice, juliet)

    @asyncio_test
    async def test_a_key_the_authoritative_server_denies_is_refused(self, mcc, prosody):
        """
        A server that claims to be remote.test offers a made-up key, which
        Prosody, the authoritative server of remote.test, does not confirm.
        """
        alice = await operator(mcc, "alice")
        peer = DialbackPeer(
            MCC[1], claimed=REMOTE[0], receiving=MCC[0], cafile=mcc.certificate, alpn=("xmpp-server",)
        )
        try:
            await peer.connect()
            assert refused(await peer.dialback("0" * 64))
            await peer.send_stanza(
                f"<message from='{JULIET}/phone' to='alice@{MCC[0]}' type='chat'><body>I am Juliet</body></message>"
            )
            assert await nothing_from(alice, JULIET, bound=2) == []
            # mcc asked the authoritative server, which denied the key.
            await prosody.wait_for_log(r"Received\[s2sin[^\]]*\]: <verify[^>]*from='mcc\.test'")
            await prosody.wait_for_log(r"Sending\[s2sin[^\]]*\]: <(db:)?verify[^>]*type='invalid'")
            await mcc.wait_for_log(
                r"Dialback refused for remote\.test from \S+: remote\.test, asked as its authoritative server,"
                r" did not confirm the key \(type=invalid\)"
            )
        finally:
            await peer.close()
            await close_all(alice)


@asyncio_test
async def test_mcc_denies_prosody_a_key_for_a_stream_it_never_opened(mcc, prosody):
    """
    The other way round: a server claiming to be mcc.test gives Prosody a
    made-up key; Prosody asks mcc, which says it is not its key.
    """
    peer = DialbackPeer(
        REMOTE[1], claimed=MCC[0], receiving=REMOTE[0], cafile=prosody.certificate, alpn=("xmpp-server",)
    )
    try:
        await peer.connect()
        assert refused(await peer.dialback("f" * 64))
        # Prosody asked mcc, and mcc answered that the key is not its own.
        await prosody.wait_for_log(r"Received\[s2sout[^\]]*\]: <verify[^>]*type='invalid'")
    finally:
        await peer.close()


class TestDeniedDomain:
    """
    A domain on C{--s2s-deny} gets no stream either way, whatever its
    certificate.
    """

    @pytest.fixture
    def mcc_federation(self):
        return {"s2s_deny": (REMOTE[0],)}

    @asyncio_test
    async def test_a_denied_domain_is_refused(self, mcc, prosody):
        await assert_link_refused(mcc, prosody)
        await mcc.wait_for_log(r"(?i)refused a stream from remote\.test")


class TestAllowList:
    """
    With C{--s2s-allow}, only the domains listed federate.
    """

    @pytest.fixture
    def mcc_federation(self):
        return {"s2s_allow": ("elsewhere.test",)}

    @asyncio_test
    async def test_a_domain_off_the_allow_list_is_refused(self, mcc, prosody):
        await assert_link_refused(mcc, prosody)
        await mcc.wait_for_log(r"(?i)refused a stream from remote\.test")


class TestFederationOff:
    @pytest.fixture
    def mcc_federation(self):
        return {"no_federation": True}

    @asyncio_test
    async def test_no_federation_listens_nowhere_and_reaches_nobody(self, mcc, prosody):
        alice = await operator(mcc, "alice")
        try:
            with pytest.raises(OSError):
                await asyncio.open_connection(MCC[1], 5269)
            alice.send_message(mto=JULIET, mbody="Anyone there?", mtype="chat")
            bounced = await error_for(alice)
            assert bounced["error"]["condition"] == "remote-server-not-found"
        finally:
            await close_all(alice)


class TestServiceRecords:
    """
    mcc follows remote.test's SRV records in order: nothing listens at
    the first target, and Prosody listens at the second, on a port of its
    own (so that falling back to the domain's port 5269 would find
    nobody).
    """

    @pytest.fixture
    def targets(self):
        return free_port(REMOTE[1]), free_port(REMOTE[1])

    @pytest.fixture
    def remote_settings(self, remote_settings, targets):
        remote_settings.s2s_port = targets[1]
        return remote_settings

    @pytest.fixture
    def mcc_resolver(self, targets):
        return LoopbackResolver(
            {REMOTE[0]: REMOTE[1], MCC[0]: MCC[1]}, {REMOTE[0]: [(REMOTE[0], port) for port in targets]}
        )

    @asyncio_test
    async def test_the_next_srv_target_is_tried(self, mcc, prosody):
        alice = await operator(mcc, "alice")
        juliet = await juliet_of(prosody)
        try:
            alice.send_message(mto=JULIET, mbody="Found you", mtype="chat")
            assert (await body_from(juliet, f"alice@{MCC[0]}"))["body"] == "Found you"
            assert mcc.resolver.asked(f"_xmpp-server._tcp.{REMOTE[0]}", "SRV")
        finally:
            await close_all(alice, juliet)

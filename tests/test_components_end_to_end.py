"""
A bridge attached as an XEP-0114 component, over real sockets: a slixmpp
component (ComponentXMPP) attaches with its secret, is refused with a
wrong one, and carries a chat between a remote user and a slixmpp operator
through a queue's XMPP address.
"""

import asyncio

from slixmpp.componentxmpp import ComponentXMPP

from mcc.tap import bound_port
from tests.conftest import asyncio_test
from tests.test_chat_end_to_end import close_all, has_body, message_matching, operators, staff
from tests.xmpp_client import TIMEOUT

BRIDGE = "bridge.localhost"
REMOTE = f"user@{BRIDGE}"
QUEUE_ADDRESS = "support@localhost"


class Bridge(ComponentXMPP):
    def __init__(self, secret, port):
        ComponentXMPP.__init__(self, BRIDGE, secret, "127.0.0.1", port)
        self.auto_reconnect = False
        self.messages = asyncio.Queue()
        self.presences = asyncio.Queue()
        self.started = asyncio.get_running_loop().create_future()
        self.ended = asyncio.Event()
        self.stream_errors = []
        self.add_event_handler("message", self.messages.put_nowait)
        self.add_event_handler("presence", self.presences.put_nowait)
        self.add_event_handler("session_start", lambda _: self.started.done() or self.started.set_result(True))
        self.add_event_handler("stream_error", self.stream_errors.append)
        self.add_event_handler("disconnected", lambda _: self._ended())

    def _ended(self):
        self.ended.set()
        if not self.started.done():
            self.started.set_exception(ConnectionError("disconnected"))

    async def presence_of(self, kind):
        while True:
            presence = await asyncio.wait_for(self.presences.get(), TIMEOUT)
            if presence["from"].bare == QUEUE_ADDRESS and presence["type"] == kind:
                return presence

    async def close(self):
        if not self.ended.is_set():
            self.disconnect()
            await asyncio.wait_for(self.ended.wait(), TIMEOUT)
        task = self._run_out_filters
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


def remote_visitors(server):
    return server.service.getServiceNamed("remote-visitors")


async def attach(server, secret):
    bridge = Bridge(secret, bound_port(server.service, "component-listener"))
    bridge.connect()
    try:
        await asyncio.wait_for(asyncio.shield(bridge.started), TIMEOUT)
    except ConnectionError:
        pass
    return bridge


@asyncio_test
async def test_wrong_secret_is_refused(server):
    remote_visitors(server).add_component(BRIDGE)
    bridge = await attach(server, "not the secret")
    try:
        await asyncio.wait_for(bridge.ended.wait(), TIMEOUT)
        assert not bridge.started.done() or bridge.started.exception() is not None
        assert [e["condition"] for e in bridge.stream_errors] == ["not-authorized"]
    finally:
        await bridge.close()


@asyncio_test
async def test_a_chat_through_a_component(server):
    (alice,) = await operators(server, "alice")
    staff(server, "support", "alice")
    _, secret = remote_visitors(server).add_component(BRIDGE)
    remote_visitors(server).set_identity("support", QUEUE_ADDRESS)
    bridge = await attach(server, secret)
    try:
        assert bridge.started.result() is True
        bridge.send_presence(pto=QUEUE_ADDRESS, pfrom=REMOTE, ptype="subscribe")
        await bridge.presence_of("subscribed")
        await bridge.presence_of("available")

        bridge.send_message(mto=QUEUE_ADDRESS, mfrom=f"{REMOTE}/phone", mbody="Are you open?", mtype="chat")
        offer = await message_matching(alice, has_body("New chat for support"))
        guest = offer["from"].bare
        chat = server.store.chats.by_guest(guest.split("@")[0])
        assert chat.protocol == "xmpp"

        alice.send_message(mto=guest, mbody="Yes, until 9pm.", mtype="chat")
        while True:
            reply = await asyncio.wait_for(bridge.messages.get(), TIMEOUT)
            if reply["body"]:
                break
        assert (reply["from"].bare, reply["to"].bare, reply["body"]) == (QUEUE_ADDRESS, REMOTE, "Yes, until 9pm.")

        bridge.send_message(mto=QUEUE_ADDRESS, mfrom=f"{REMOTE}/phone", mbody="Thanks!", mtype="chat")
        await message_matching(alice, has_body("Thanks!"))
        assert len(server.store.chats.unfinished()) == 1

        await close_all(alice)
        await bridge.presence_of("unavailable")
    finally:
        await close_all(alice)
        await bridge.close()

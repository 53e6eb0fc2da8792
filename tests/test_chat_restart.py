"""
Stopping and restarting C{twistd mcc} in the middle of a chat loses no
message: the visitor keeps its token, the operator the same guest JID, and
an operator who logs in again after the restart keeps the chat.
"""

from mcc.store import Store
from tests.conftest import asyncio_test
from tests.test_chat_end_to_end import has_body, message_matching
from tests.twistd_process import Twistd
from tests.visitor_client import Visitor
from tests.xmpp_client import login


@asyncio_test
async def test_chat_goes_on_across_a_restart(data_dir):
    data_dir.mkdir(parents=True)
    store = Store.open(data_dir / "mcc.sqlite")
    store.users.add("olga", "olga-pw", now=0, display_name="Olga")
    queue = store.queues.add("support", "", now=0)
    store.queues.set_operators(queue.id, ["olga"])
    store.close()

    twistd = Twistd(data_dir)
    await twistd.start()
    try:
        olga = await login(twistd, "olga@localhost/desk", "olga-pw")
        visitor = Visitor(twistd)
        await visitor.start(queue="support", name="Ravi", question="Before the restart?")
        guest = (await message_matching(olga, has_body("New chat")))["from"].bare
        olga.send_message(mto=guest, mbody="Answered before", mtype="chat")
        await visitor.events_until("message", "Answered before")
        olga.send_message(mto=guest, mbody="Sent just before the restart", mtype="chat")
        # The server reads the stream in order: once it has closed the
        # stream, it has stored the message.
        await olga.close()
    finally:
        await twistd.stop()

    twistd = Twistd(data_dir, twistd.port, twistd.http_port)
    await twistd.start()
    try:
        events = await visitor.events_until("message", "Sent just before the restart")
        assert [e["text"] for e in events if e["kind"] == "message"] == ["Sent just before the restart"]
        assert "requeued" not in [e["kind"] for e in events]
        # Olga's client has not reconnected yet: what the visitor says
        # meanwhile waits for her.
        assert (await visitor.say("Said before Olga is back"))[0] == 202
        olga = await login(twistd, "olga@localhost/desk", "olga-pw")
        missed = await message_matching(olga, has_body("Said before Olga is back"))
        assert missed["from"].bare == guest
        olga.send_message(mto=guest, mbody="Still here after it", mtype="chat")
        await visitor.events_until("message", "Still here after it")
        await visitor.say("Great, thanks")
        assert (await message_matching(olga, has_body("Great, thanks")))["from"].bare == guest
        await olga.close()
    finally:
        await twistd.stop()

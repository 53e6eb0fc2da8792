"""
The real process: accounts made with the C{mcc} command, then C{twistd mcc}
started as a newcomer would, and clients logging into it.
"""

from tests.conftest import asyncio_test
from tests.twistd_process import BIN, Twistd, run
from tests.xmpp_client import login


@asyncio_test
async def test_accounts_added_with_the_command_log_into_twistd(data_dir):
    for name, password in (("alice", "wonderland"), ("bob", "builder")):
        status, output = await run(
            str(BIN / "mcc"), "--data-dir", str(data_dir), "user", "add", name,
            "--password", password,
        )
        assert status == 0, output
    status, output = await run(str(BIN / "mcc"), "user", "list", "--data-dir", str(data_dir))
    assert output.split() == ["alice", "bob"]

    twistd = Twistd(data_dir)
    await twistd.start()
    try:
        match = [line for line in twistd.lines if "created the administrator" in line]
        password = (data_dir / "first-admin.txt").read_text().strip()
        assert f"admin@localhost with password {password}" in match[0]

        alice = await login(twistd, "alice@localhost/laptop", "wonderland")
        bob = await login(twistd, "bob@localhost/phone", "builder")
        admin = await login(twistd, "admin@localhost", password)
        alice.send_message(mto="bob@localhost", mbody="through twistd", mtype="chat")
        assert (await bob.next_message())["body"] == "through twistd"
        for client in (alice, bob, admin):
            await client.close()
    finally:
        await twistd.stop()

    again = Twistd(data_dir)
    await again.start()
    await again.stop()
    assert "created the administrator" not in again.log
    assert f"password in {data_dir / 'first-admin.txt'}" in again.log

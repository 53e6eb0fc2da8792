"""
The in-memory chat message benchmark: its messages are delivered.
"""

from bench import c2s_memory


def test_every_message_reaches_its_recipient():
    names, streams = c2s_memory.connected(3)
    stream, _ = streams[0]
    stream.dataReceived(
        f"<message to='{names[1]}@{c2s_memory.DOMAIN}' type='chat'><body>hi</body></message>".encode()
    )
    delivered = streams[1][1].value()
    assert b"<body>hi</body>" in delivered
    assert streams[2][1].value() == b""


def test_prints_a_figure(capsys):
    assert c2s_memory.main(["--users", "3", "--messages", "30", "--rounds", "2"]) > 0
    assert "us of CPU per chat message" in capsys.readouterr().out

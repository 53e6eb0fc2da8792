# -*- test-case-name: bench.tests.test_c2s_memory -*-
"""
The CPU one chat message costs mcc's XMPP server itself, without sockets,
tsung or Prosody: the host's other work barely moves it, so that two
versions of the code can be compared on a busy machine.

The server is the in-memory one of the unit tests (a :memory: store, the
archive on); C{--users} accounts each have one bound stream over a
L{StringTransport}, with presence sent; then each in turn sends a 64-byte
chat message to the next one's bare JID, as tsung does, fed to its
stream's C{dataReceived}.  Printed: CPU microseconds per message (process
time), the best of C{--rounds}.

    python -m bench.c2s_memory --messages 20000 --rounds 5
"""

import argparse
import time

from twisted.internet.testing import StringTransport
from twisted.words.protocols.jabber import xmlstream

from mcc.xmpp.stream import GuardedXmlStream
from tests.memory_xmpp import DOMAIN, make_server

HEADER = (
    "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'"
    f" to='{DOMAIN}' version='1.0'>"
).encode()


class _Answering(xmlstream.ListenAuthenticator):
    """
    Answers the stream header; the benchmark binds the session itself.
    """

    def streamStarted(self, rootElement):
        xmlstream.ListenAuthenticator.streamStarted(self, rootElement)
        self.xmlstream.sendHeader()


def connected(users):
    """
    The server and, per account, its bound stream and that stream's transport.
    """
    names = [f"user{i}" for i in range(users)]
    server = make_server(users=names)
    streams = []
    for name in names:
        stream = GuardedXmlStream(_Answering(), server.clock, server.config.max_stanza_size)
        transport = StringTransport()
        stream.makeConnection(transport)
        stream.dataReceived(HEADER)
        server.bind(stream, name, "bench")
        streams.append((stream, transport))
    for stream, _ in streams:
        stream.dataReceived(b"<presence/>")
    for _, transport in streams:
        transport.clear()
    return names, streams


def microseconds_per_message(users, messages):
    names, streams = connected(users)
    body = "x" * 64
    stanzas = [
        f"<message id='m{i}' to='{names[(i + 1) % users]}@{DOMAIN}' type='chat'>"
        f"<body>{body}</body></message>".encode()
        for i in range(users)
    ]
    start = time.process_time()
    for n in range(messages):
        sender = n % users
        streams[sender][0].dataReceived(stanzas[sender])
        if sender == users - 1:
            for _, transport in streams:
                transport.clear()
    return (time.process_time() - start) / messages * 1e6


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args(argv)
    results = [
        microseconds_per_message(arguments.users, arguments.messages)
        for _ in range(arguments.rounds)
    ]
    print(
        f"{min(results):.1f} us of CPU per chat message (best of {arguments.rounds};"
        f" all: {', '.join(f'{r:.1f}' for r in results)})"
    )
    return min(results)


if __name__ == "__main__":
    main()

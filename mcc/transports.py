# -*- test-case-name: tests.test_xmpp_stream,tests.test_lean_http -*-
"""
Writing to Twisted's TCP transports without waiting for the next reactor turn.
"""

from twisted.internet import tcp


def write_now(transport, data):
    """
    Write C{data} to C{transport}, straight to the socket when its buffer is
    empty: the connection is not registered for writing only to be written
    to on the next turn, two C{epoll_ctl} calls and a wakeup saved.  What
    the socket does not take, and anything for TLS or another transport,
    goes through C{transport.write}.
    """
    if (
        isinstance(transport, tcp.Connection)
        and not transport.TLS
        and transport.connected
        and not transport.disconnecting
        and transport.producer is None
        # Nothing waits in Twisted's buffers (the list one is private:
        # if it were renamed, everything would go through write()).
        and not getattr(transport, "_tempDataLen", 1)
        and transport.offset == len(transport.dataBuffer)
    ):
        sent = transport.writeSomeData(data)
        if isinstance(sent, int) and sent > 0:
            data = data[sent:]
    if data:
        transport.write(data)

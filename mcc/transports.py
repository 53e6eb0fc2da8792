# -*- test-case-name: tests.test_xmpp_stream,tests.test_lean_http,tests.test_group_commit -*-
"""
Writing to Twisted's TCP transports without waiting for the next reactor
turn, and after the turn's writes to the store are committed.
"""

from twisted.internet import tcp


def _tcp(transport):
    """
    The TCP connection under C{transport} (TLS, say), or C{None}.
    """
    for _ in range(4):
        if isinstance(transport, tcp.Connection):
            return transport
        transport = getattr(transport, "transport", None)
    return None


def _holds_bytes(connection):
    """
    Whether Twisted's buffers of the TCP C{connection} hold bytes not yet
    sent (the list one is private: were it renamed, the answer is yes).
    """
    return bool(getattr(connection, "_tempDataLen", 1)) or connection.offset != len(
        connection.dataBuffer
    )


def unsent(transport):
    """
    Whether Twisted still holds bytes for the socket under C{transport}:
    its socket is then watched for writing, and the reactor may write
    them, and anything added to them, while it handles this turn.
    """
    connection = _tcp(transport)
    return connection is not None and _holds_bytes(connection)


def write_durably(group, transport, data):
    """
    L{write_now}, once what the store was given so far is committed: with
    writes of this turn not committed yet (C{group}, a
    L{mcc.store.GroupCommit}, is pending), C{data} waits for the commit at
    the turn's end, except on a connection whose socket may be written
    before then, for which the store commits at once.  C{group} C{None}
    writes at once.
    """
    if group is None or not group.pending:
        write_now(transport, data)
    elif unsent(transport):
        group.commit()
        write_now(transport, data)
    else:
        group.after_commit(write_now, transport, data)


def drop_unacknowledged(write, transport, *rest):
    """
    A L{mcc.store.GroupCommit}'s C{on_failure} for what L{write_durably}
    kept waiting: the writes it would have acknowledged are rolled back, so
    the connection closes unanswered and its peer tries again.
    """
    abort = getattr(transport, "abortConnection", None)
    (abort or transport.loseConnection)()


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
        and not _holds_bytes(transport)
    ):
        sent = transport.writeSomeData(data)
        if isinstance(sent, int) and sent > 0:
            data = data[sent:]
    if data:
        transport.write(data)

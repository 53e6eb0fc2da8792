"""
Tests for L{mcc.xmpp.stream}: the XML an XMPP stream may carry, and the
size of its stanzas, over an in-memory transport.
"""

import socket

import pytest
from twisted.internet import protocol, tcp
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactor, StringTransport
from twisted.words.protocols.jabber import xmlstream

from mcc.xmpp.namespaces import NS_CLIENT
from mcc.transports import write_now
from mcc.xmpp.stream import GuardedXmlStream
from tests.memory_xmpp import ClientSide

HEADER = (
    b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'"
    b" to='example.org' version='1.0'>"
)
LIMIT = 100


class Receiver(xmlstream.ListenAuthenticator):
    """
    Answers the stream header and keeps the stanzas, as the negotiation
    and the sessions do.
    """

    def associateWithStream(self, xs):
        xmlstream.ListenAuthenticator.associateWithStream(self, xs)
        self.received = []
        xs.element_handler = self.received.append

    def streamStarted(self, rootElement):
        xmlstream.ListenAuthenticator.streamStarted(self, rootElement)
        self.xmlstream.sendHeader()


class Connection:
    def __init__(self, limit=LIMIT):
        self.clock = Clock()
        self.receiver = Receiver()
        self.stream = GuardedXmlStream(self.receiver, self.clock, limit)
        self.transport = StringTransport()
        self.stream.makeConnection(self.transport)
        self.client = ClientSide(self.transport)

    def feed(self, *chunks):
        for chunk in chunks:
            self.stream.dataReceived(chunk)

    @property
    def received(self):
        return [element.toXml(defaultUri=NS_CLIENT) for element in self.receiver.received]

    def stream_error(self):
        """
        The condition of the stream error sent, after which the stream must
        be closed; C{None} when the stream is open.
        """
        errors = [e for e in self.client.elements() if e.name == "error"]
        if not errors:
            assert not self.transport.disconnecting
            return None
        assert self.transport.disconnecting
        assert self.transport.value().endswith(b"</stream:stream>")
        (error,) = errors
        return next(error.elements()).name


@pytest.fixture
def connection():
    connection = Connection()
    connection.feed(HEADER)
    return connection


def stanza_of_size(size, empty=False):
    """
    A C{<message/>} of exactly C{size} bytes: with an end tag, or an empty
    element tag padded by an attribute.
    """
    if empty:
        padding = size - len(b"<message a=''/>")
        return b"<message a='" + b"x" * padding + b"'/>"
    padding = size - len(b"<message><body></body></message>")
    return b"<message><body>" + b"x" * padding + b"</body></message>"


def test_stanzas_reach_the_handler(connection):
    connection.feed(b"<message to='a@example.org'><body>hi</body></message><presence/>")
    assert connection.received == [
        "<message to='a@example.org'><body>hi</body></message>",
        "<presence/>",
    ]
    assert connection.stream_error() is None


def test_xml_declaration_is_allowed():
    connection = Connection()
    connection.feed(b"<?xml version='1.0'?>", HEADER, b"<presence/>")
    assert connection.received == ["<presence/>"]
    assert connection.stream_error() is None


def test_stanza_split_anywhere(connection):
    data = b"<message><body>caf\xc3\xa9</body></message>"
    connection.feed(*(data[i : i + 1] for i in range(len(data))))
    assert connection.received == ["<message><body>café</body></message>"]


@pytest.mark.parametrize(
    "data",
    [
        b"<!-- a comment -->",
        b"<message><!-- inside --></message>",
        b"<?php echo 1; ?>",
        b"<message><body><?pi x?></body></message>",
    ],
)
def test_comments_and_processing_instructions_are_restricted(connection, data):
    connection.feed(data)
    assert connection.stream_error() == "restricted-xml"
    assert connection.received == []


@pytest.mark.parametrize(
    "prolog",
    [
        b"<!DOCTYPE stream>",
        b"<!DOCTYPE stream [<!ENTITY x 'boom'>]>",
        b"<!DOCTYPE stream SYSTEM 'file:///etc/passwd'>",
    ],
)
def test_document_type_declarations_are_restricted(prolog):
    connection = Connection()
    connection.feed(prolog + HEADER + b"<presence/>")
    assert connection.stream_error() == "restricted-xml"
    assert connection.received == []


@pytest.mark.parametrize("empty", [False, True])
def test_stanza_of_exactly_the_limit_is_accepted(connection, empty):
    stanza = stanza_of_size(LIMIT, empty)
    assert len(stanza) == LIMIT
    connection.feed(stanza)
    assert connection.received == [stanza.decode()]
    assert connection.stream_error() is None


@pytest.mark.parametrize("empty", [False, True])
def test_one_byte_over_the_limit_is_refused(connection, empty):
    connection.feed(b"<presence/>" + stanza_of_size(LIMIT + 1, empty) + b"<presence/>")
    assert connection.stream_error() == "policy-violation"
    assert connection.received == ["<presence/>"]


@pytest.mark.parametrize("empty", [False, True])
def test_limit_is_exact_when_the_stanza_comes_in_pieces(empty):
    for size, accepted in ((LIMIT, True), (LIMIT + 1, False)):
        connection = Connection()
        connection.feed(HEADER)
        stanza = stanza_of_size(size, empty)
        connection.feed(*(stanza[i : i + 7] for i in range(0, size, 7)))
        assert (connection.stream_error() is None) is accepted
        assert connection.received == ([stanza.decode()] if accepted else [])


def test_limit_counts_the_whole_end_tag(connection):
    inside = b"<message><body>x</body></message   >"
    connection.feed(inside[:-1] + b" " * LIMIT)
    assert connection.stream_error() == "policy-violation"


def test_limit_applies_before_the_stanza_is_finished(connection):
    connection.feed(b"<message><body>", b"x" * (LIMIT - len(b"<message><body>")))
    assert connection.stream_error() is None
    connection.feed(b"x")
    assert connection.stream_error() == "policy-violation"


def test_unterminated_start_tag_is_limited(connection):
    connection.feed(b"<presence/> <message to='", b"a" * LIMIT)
    assert connection.stream_error() == "policy-violation"
    assert connection.received == ["<presence/>"]


def test_unterminated_stream_header_is_limited():
    connection = Connection()
    connection.feed(HEADER[:-1], b" " * LIMIT)
    assert connection.stream_error() == "policy-violation"


def test_limit_is_per_stanza(connection):
    stanza = stanza_of_size(LIMIT)
    connection.feed(stanza * 5)
    assert connection.received == [stanza.decode()] * 5
    assert connection.stream_error() is None


def test_whitespace_between_stanzas_is_not_counted(connection):
    for _ in range(3 * LIMIT):
        connection.feed(b" ")
    connection.feed(stanza_of_size(LIMIT))
    assert connection.stream_error() is None
    assert len(connection.received) == 1


@pytest.mark.parametrize(
    "data",
    [
        b"<message></presence>",
        b"<message a='1' a='2'/>",
        b"<message>&undefined;</message>",
        b"<x:message/>",
        b"\xff\xfe",
    ],
)
def test_not_well_formed(connection, data):
    connection.feed(data)
    assert connection.stream_error() == "not-well-formed"
    assert connection.received == []


def test_data_after_an_error_is_ignored(connection):
    connection.feed(b"<presence/><!-- x --><message/>")
    connection.feed(b"<iq/>", b"<!DOCTYPE again>")
    assert connection.received == ["<presence/>"]
    assert connection.stream_error() == "restricted-xml"


def test_data_after_a_reset_in_the_same_chunk_is_ignored(connection):
    # What STARTTLS does; the plaintext after it must not pass for TLS data.
    def reset_at_starttls(element):
        connection.receiver.received.append(element)
        if element.name == "starttls":
            connection.stream.reset()

    connection.stream.element_handler = reset_at_starttls
    connection.feed(b"<starttls/><injected/>")
    connection.feed(HEADER + b"<presence/>")
    assert connection.received == ["<starttls/>", "<presence/>"]
    assert connection.stream_error() is None


def test_closing_tag_is_answered_with_ours_before_the_connection_closes(connection):
    written = len(connection.transport.value())
    connection.feed(b"<presence/></stream:stream>", b"<message/>")
    assert connection.transport.value()[written:] == b"</stream:stream>"
    assert connection.transport.disconnecting
    assert connection.received == ["<presence/>"]


def test_whitespace_counts_as_activity(connection):
    connection.clock.advance(50)
    connection.feed(b" ")
    assert connection.stream.last_activity == 50
    connection.clock.advance(20)
    connection.feed(b"<presence/>")
    assert connection.stream.last_activity == 70


def test_activity_starts_at_connection():
    clock = Clock()
    clock.advance(12)
    stream = GuardedXmlStream(Receiver(), clock, LIMIT)
    assert stream.last_activity == 12


class CountingTransport(StringTransport):
    """
    Records each write apart.
    """

    def __init__(self):
        StringTransport.__init__(self)
        self.writes = []

    def write(self, data):
        self.writes.append(data)
        StringTransport.write(self, data)


def echoing(connection, *others):
    """
    Answer every stanza on C{connection} with its name, to the connection
    itself and to each of C{others}' streams.
    """

    def echo(element):
        connection.receiver.received.append(element)
        for stream in (connection.stream, *(other.stream for other in others)):
            stream.send(f"<{element.name}/>")

    connection.stream.element_handler = echo


def counted(connection):
    connection.transport = CountingTransport()
    connection.stream.makeConnection(connection.transport)
    connection.client = ClientSide(connection.transport)
    connection.feed(HEADER)
    connection.transport.writes.clear()
    return connection


def test_what_one_read_makes_the_server_send_is_one_write():
    connection = counted(Connection())
    echoing(connection)
    connection.feed(b"<presence/><message/><iq/>")
    assert connection.transport.writes == [b"<presence/><message/><iq/>"]


def test_what_a_read_sends_to_other_streams_is_one_write_each_once_it_is_handled():
    sender, recipient = counted(Connection()), counted(Connection())
    echoing(sender, recipient)
    sender.feed(b"<presence/><message/>")
    assert sender.transport.writes == [b"<presence/><message/>"]
    assert recipient.transport.writes == [b"<presence/><message/>"]
    # The recipient's own read and what it sends keep their order.
    echoing(recipient)
    recipient.feed(b"<iq/>")
    assert recipient.transport.writes[1:] == [b"<iq/>"]


def test_output_kept_during_a_read_goes_out_before_a_stream_error():
    connection = counted(Connection())
    echoing(connection)
    connection.feed(b"<presence/><!-- x --><message/>")
    assert connection.stream_error() == "restricted-xml"
    assert b"".join(connection.transport.writes).startswith(b"<presence/><stream:error>")


def test_output_kept_during_a_read_goes_out_before_the_stream_closes():
    connection = counted(Connection())
    echoing(connection)
    connection.feed(b"<presence/></stream:stream>")
    assert connection.transport.writes == [b"<presence/></stream:stream>"]
    assert connection.transport.disconnecting


def test_what_is_sent_outside_a_read_is_written_at_once():
    connection = counted(Connection())
    connection.stream.send("<presence/>")
    connection.stream.send("<message/>")
    assert connection.transport.writes == [b"<presence/>", b"<message/>"]


def test_a_read_within_the_limit_may_hold_many_stanzas():
    connection = Connection(limit=1000)
    connection.feed(HEADER)
    stanza = stanza_of_size(100)
    connection.feed(stanza * 9 + stanza[:50], stanza[50:])
    assert connection.received == [stanza.decode()] * 10
    assert connection.stream_error() is None


def test_limit_is_exact_for_a_stanza_begun_in_an_earlier_read():
    for size, accepted in ((1000, True), (1001, False)):
        connection = Connection(limit=1000)
        connection.feed(HEADER)
        stanza = stanza_of_size(size)
        connection.feed(b"<presence/>" + stanza[:600], stanza[600:] + b"<presence/>")
        assert (connection.stream_error() is None) is accepted
        expected = ["<presence/>", stanza.decode(), "<presence/>"] if accepted else ["<presence/>"]
        assert connection.received == expected


def holds_parser(connection):
    return connection.stream.stream.parser is not None


def test_the_parser_is_released_between_stanzas(connection):
    connection.feed(b"<presence/>")
    assert not holds_parser(connection)
    connection.feed(b"<message><body>hi</body></message>")
    assert not holds_parser(connection)
    assert connection.received == ["<presence/>", "<message><body>hi</body></message>"]


@pytest.mark.parametrize(
    "unfinished", [b"<message><body>h", b"<mess", b"<presence/>\r"], ids=["stanza", "tag", "cr"]
)
def test_the_parser_is_kept_while_it_holds_something_unfinished(connection, unfinished):
    connection.feed(unfinished)
    assert holds_parser(connection)


def test_a_stanza_split_across_reads_reaches_the_handler_once_the_parser_is_released(connection):
    connection.feed(b"<message><body>h", b"i</body></message><presence/>", b"<presence/>")
    assert connection.received == [
        "<message><body>hi</body></message>", "<presence/>", "<presence/>"
    ]


def test_a_new_parser_knows_the_prefixes_of_the_stream_header():
    connection = Connection()
    connection.feed(
        b"<s:stream xmlns='jabber:client' xmlns:s='http://etherx.jabber.org/streams'"
        b" xmlns:db='jabber:server:dialback'>",
        b"<presence/>",
    )
    assert not holds_parser(connection)
    connection.feed(b"<db:result to='example.org'>key</db:result>")
    (_, result) = connection.receiver.received
    assert (result.uri, result.name, str(result)) == ("jabber:server:dialback", "result", "key")
    assert result.defaultUri == "jabber:client"
    connection.feed(b"</s:stream>")
    assert connection.stream.closed_by_peer


def test_a_new_parser_still_refuses_a_mismatched_end_tag(connection):
    connection.feed(b"<presence/>")
    assert not holds_parser(connection)
    connection.feed(b"</stream:other>")
    assert connection.stream_error() == "not-well-formed"


def test_a_new_parser_still_refuses_restricted_xml(connection):
    connection.feed(b"<presence/>", b"<!-- a comment -->")
    assert connection.stream_error() == "restricted-xml"


@pytest.mark.parametrize("size, accepted", [(LIMIT, True), (LIMIT + 1, False)])
def test_a_new_parser_keeps_the_limit_exact(connection, size, accepted):
    connection.feed(b"<presence/>", stanza_of_size(size)[:-1], stanza_of_size(size)[-1:])
    assert (connection.stream_error() is None) is accepted


def test_a_stream_whose_prefix_is_ambiguous_keeps_its_parser():
    connection = Connection()
    connection.feed(
        b"<stream:stream xmlns='http://etherx.jabber.org/streams'"
        b" xmlns:stream='http://etherx.jabber.org/streams'>",
        b"<presence/>",
    )
    assert holds_parser(connection)


@pytest.fixture
def socket_connection():
    """
    A Twisted TCP connection over one end of a socket pair, on a reactor
    that only records what registers for writing; the other end to read.
    """
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    theirs.setblocking(False)
    reactor = MemoryReactor()
    connection = tcp.Connection(ours, protocol.Protocol(), reactor)
    connection.connected = True
    yield connection, theirs, reactor
    ours.close()
    theirs.close()


def test_write_now_writes_straight_to_the_socket(socket_connection):
    connection, peer, reactor = socket_connection
    write_now(connection, b"<message/>")
    assert peer.recv(100) == b"<message/>"
    assert connection not in reactor.getWriters()


def test_write_now_keeps_the_order_of_what_twisted_holds(socket_connection):
    connection, peer, reactor = socket_connection
    connection.write(b"<presence/>")
    write_now(connection, b"<message/>")
    assert connection in reactor.getWriters()
    with pytest.raises(BlockingIOError):
        peer.recv(100)
    connection.doWrite()
    assert peer.recv(100) == b"<presence/><message/>"


def test_write_now_leaves_tls_to_the_transport(socket_connection):
    connection, peer, reactor = socket_connection
    written = []
    connection.TLS = True
    connection.write = written.append
    write_now(connection, b"<message/>")
    assert written == [b"<message/>"]
    with pytest.raises(BlockingIOError):
        peer.recv(100)

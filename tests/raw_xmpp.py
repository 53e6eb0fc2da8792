"""
A hand-driven XMPP client on asyncio streams, for the tests that must send
what no real client sends: the negotiation stops at any stage a test names,
and after that the test writes whatever bytes it likes.
"""

import asyncio
import base64
import collections
import contextlib
import ssl
import xml.etree.ElementTree as ET

TIMEOUT = 10

NS_CLIENT = "jabber:client"
NS_STREAMS = "http://etherx.jabber.org/streams"
NS_STREAM_ERRORS = "urn:ietf:params:xml:ns:xmpp-streams"
NS_STANZA_ERRORS = "urn:ietf:params:xml:ns:xmpp-stanzas"
NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind"

XML_DECLARATION = "<?xml version='1.0'?>"

# How far RawClient.login goes; each stage but the first ends with the
# client's stream open and the server's features read.
STAGES = (
    "connected",  # TCP only, nothing sent
    "opened",  # a first stream, before TLS
    "encrypted",  # after STARTTLS, a new stream
    "authenticated",  # after SASL PLAIN, a new stream
    "bound",  # a resource bound: stanzas flow
)


def tag(namespace, name):
    return f"{{{namespace}}}{name}"


def stream_header(to="localhost", namespace=NS_CLIENT, streams=NS_STREAMS, prefix="stream"):
    return (
        f"<{prefix}:stream xmlns='{namespace}' xmlns:{prefix}='{streams}' "
        f"to='{to}' version='1.0'>"
    )


def condition(element, namespace):
    """
    The defined condition of a stream error, a SASL failure or a stanza's
    C{<error/>}: its one child in C{namespace} other than C{<text/>}.
    """
    names = [
        child.tag.partition("}")[2]
        for child in element
        if child.tag.startswith(f"{{{namespace}}}") and child.tag != tag(namespace, "text")
    ]
    assert len(names) == 1, ET.tostring(element)
    return names[0]


def stanza_error(stanza):
    """
    The condition of an error stanza.
    """
    assert stanza.get("type") == "error", ET.tostring(stanza)
    return condition(stanza.find(tag(NS_CLIENT, "error")), NS_STANZA_ERRORS)


class StreamClosed(Exception):
    """
    The server closed the connection while an element was awaited.
    """


class RawClient:
    """
    One connection to the server, read as the top-level elements of the
    server's current stream.

    @ivar stream_ended: whether the server sent its closing stream tag.
    """

    def __init__(self, reader, writer):
        self._reader = reader
        self._writer = writer
        self._elements = collections.deque()
        self._new_stream()

    @classmethod
    async def connect(cls, server, source="127.0.0.1"):
        """
        Connect from the loopback address C{source} (any of 127.0.0.0/8).
        """
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", server.port, local_addr=(source, 0)
        )
        return cls(reader, writer)

    @classmethod
    async def login(cls, server, username, password, until="bound", source="127.0.0.1"):
        """
        Connect and negotiate, with STARTTLS, SASL PLAIN and the resource
        C{raw}, up to the stage C{until} (one of L{STAGES}).
        """
        client = await cls.connect(server, source)
        reached = STAGES.index(until)
        if reached >= STAGES.index("opened"):
            await client.open_stream()
        if reached >= STAGES.index("encrypted"):
            await client.starttls(server.certificate)
            await client.open_stream()
        if reached >= STAGES.index("authenticated"):
            answer = await client.authenticate(username, password)
            assert answer.tag == tag(NS_SASL, "success"), ET.tostring(answer)
            await client.open_stream()
        if reached >= STAGES.index("bound"):
            await client.bind("raw")
        return client

    def _new_stream(self):
        self._parser = ET.XMLPullParser(events=("start", "end"))
        self._depth = 0
        self.stream_ended = False

    def send(self, data):
        self._writer.write(data.encode("utf-8") if isinstance(data, str) else data)

    async def open_stream(self):
        """
        Start a stream for the server's domain; return the server's features.
        """
        self._new_stream()
        self.send(XML_DECLARATION + stream_header())
        features = await self.receive()
        assert features.tag == tag(NS_STREAMS, "features"), ET.tostring(features)
        return features

    async def starttls(self, certificate):
        self.send(f"<starttls xmlns='{NS_TLS}'/>")
        answer = await self.receive()
        assert answer.tag == tag(NS_TLS, "proceed"), ET.tostring(answer)
        context = ssl.create_default_context(cafile=str(certificate))
        await self._writer.start_tls(context, server_hostname="localhost")

    async def authenticate(self, username, password):
        """
        Send SASL PLAIN; return the server's C{<success/>} or C{<failure/>}.
        """
        message = base64.b64encode(f"\0{username}\0{password}".encode()).decode("ascii")
        self.send(f"<auth xmlns='{NS_SASL}' mechanism='PLAIN'>{message}</auth>")
        return await self.receive()

    async def bind(self, resource):
        self.send(
            f"<iq type='set' id='bind'><bind xmlns='{NS_BIND}'>"
            f"<resource>{resource}</resource></bind></iq>"
        )
        answer = await self.receive()
        assert answer.get("type") == "result", ET.tostring(answer)
        return answer.findtext(f"{tag(NS_BIND, 'bind')}/{tag(NS_BIND, 'jid')}")

    async def receive(self, timeout=TIMEOUT):
        """
        The next top-level element the server sends.
        """
        async with asyncio.timeout(timeout):
            while not self._elements:
                if self.stream_ended:
                    raise StreamClosed("the server closed its stream")
                data = await self._read()
                if not data:
                    raise StreamClosed("the server closed the connection")
                self._feed(data)
        return self._elements.popleft()

    async def _read(self):
        try:
            return await self._reader.read(65536)
        except ConnectionError:
            return b""

    def _feed(self, data):
        self._parser.feed(data)
        for event, element in self._parser.read_events():
            if event == "start":
                self._depth += 1
            else:
                self._depth -= 1
                if self._depth == 1:
                    self._elements.append(element)
                elif self._depth == 0:
                    self.stream_ended = True

    async def stream_error(self, timeout=TIMEOUT):
        """
        The condition of the stream error the server sends next, once it has
        also closed its stream and the connection.
        """
        error = await self.receive(timeout)
        assert error.tag == tag(NS_STREAMS, "error"), ET.tostring(error)
        await self.closed(timeout)
        return condition(error, NS_STREAM_ERRORS)

    async def closed(self, timeout=TIMEOUT):
        """
        Wait until the server has ended its stream and dropped the connection,
        sending nothing else.
        """
        async with asyncio.timeout(timeout):
            while data := await self._read():
                self._feed(data)
        assert self.stream_ended, "the connection was dropped without a closing stream tag"
        assert not self._elements, [ET.tostring(element) for element in self._elements]

    async def close(self):
        self._writer.close()
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await self._writer.wait_closed()

# -*- test-case-name: bench.tests.test_xmpp_client -*-
"""
The benchmark's own XMPP client: just enough of one (SASL PLAIN without
TLS, resource binding, presence, chat messages, enabling stream management
with resumption) to keep a thousand accounts
logged in from one asyncio process, where a full client library would be
the bottleneck.
"""

import asyncio
import base64
from collections import deque
from xml.etree import ElementTree
from xml.sax.saxutils import escape, quoteattr

NS_CLIENT = "jabber:client"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind"
NS_SM = "urn:xmpp:sm:3"
NS_STREAMS = "http://etherx.jabber.org/streams"
FEATURES = f"{{{NS_STREAMS}}}features"
SUCCESS = f"{{{NS_SASL}}}success"
MESSAGE = f"{{{NS_CLIENT}}}message"
BODY = f"{{{NS_CLIENT}}}body"
ENABLED = f"{{{NS_SM}}}enabled"
SM_FAILED = f"{{{NS_SM}}}failed"
SM_REQUEST = f"{{{NS_SM}}}r"
PRESENCE = b"<presence/>"
READ_SIZE = 65536


class LoginFailed(Exception):
    pass


def stream_header(domain):
    return (
        "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
        f"xmlns:stream='{NS_STREAMS}' to={quoteattr(domain)} version='1.0'>"
    ).encode()


def plain_auth(username, password):
    token = base64.b64encode(f"\0{username}\0{password}".encode()).decode()
    return f"<auth xmlns='{NS_SASL}' mechanism='PLAIN'>{token}</auth>".encode()


def bind(resource):
    return (
        f"<iq type='set' id='bind'><bind xmlns='{NS_BIND}'>"
        f"<resource>{escape(resource)}</resource></bind></iq>"
    ).encode()


def enable_resumption():
    return f"<enable xmlns='{NS_SM}' resume='true'/>".encode()


def chat_message(to, body):
    return f"<message to={quoteattr(to)} type='chat'><body>{escape(body)}</body></message>".encode()


def bare(full_jid):
    return full_jid.split("/", 1)[0]


class Session:
    """
    One logged-in connection: it reads the server's stanzas one by one, or
    discards whatever arrives while idle.
    """

    def __init__(self, reader, writer, domain):
        self.reader = reader
        self.writer = writer
        self.domain = domain
        self.jid = None
        self._parser = None
        self._root = None
        self._depth = 0
        self._stanzas = deque()

    @classmethod
    async def open(cls, port, domain, username, password, resource="bench", timeout=30):
        """
        Connect to loopback C{port}, log in, bind C{resource} and send
        initial presence; L{LoginFailed} if the password is refused.
        """
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        session = cls(reader, writer, domain)
        try:
            await session._log_in(username, password, resource, timeout)
        except BaseException:
            writer.close()
            raise
        return session

    async def _log_in(self, username, password, resource, timeout):
        self._restart_stream()
        await self._expect(FEATURES, timeout)
        self.writer.write(plain_auth(username, password))
        if (await self.next_stanza(timeout)).tag != SUCCESS:
            raise LoginFailed(username)
        self._restart_stream()
        await self._expect(FEATURES, timeout)
        self.writer.write(bind(resource))
        result = await self.next_stanza(timeout)
        self.jid = result.findtext(f"{{{NS_BIND}}}bind/{{{NS_BIND}}}jid")
        if result.get("type") != "result" or not self.jid:
            raise LoginFailed(username)
        self.writer.write(PRESENCE)

    def _restart_stream(self):
        self.writer.write(stream_header(self.domain))
        self._parser = ElementTree.XMLPullParser(("start", "end"))
        self._root = None
        self._depth = 0

    async def _expect(self, tag, timeout):
        stanza = await self.next_stanza(timeout)
        if stanza.tag != tag:
            raise ConnectionError(f"expected {tag}, got {stanza.tag}")
        return stanza

    async def next_stanza(self, timeout=None):
        """
        The next element the server sent at the top of the stream.
        """
        while not self._stanzas:
            chunk = await asyncio.wait_for(self.reader.read(READ_SIZE), timeout)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            self._feed(chunk)
        return self._stanzas.popleft()

    def _feed(self, chunk):
        self._parser.feed(chunk)
        for event, element in self._parser.read_events():
            if event == "start":
                if self._depth == 0:
                    self._root = element
                self._depth += 1
                continue
            self._depth -= 1
            if self._depth == 1:
                # Done with it: the stream's root must not grow for ever.
                self._root.remove(element)
                self._stanzas.append(element)

    async def stanzas(self):
        """
        Every stanza from now on, until the server closes the connection.
        """
        while True:
            try:
                yield await self.next_stanza()
            except ConnectionError:
                return

    def send(self, data):
        self.writer.write(data)

    async def enable_resumption(self, timeout=30):
        """
        Enable stream management with resumption (XEP-0198); the
        resumption id.  What arrives before the answer is dropped.
        """
        self.writer.write(enable_resumption())
        while True:
            stanza = await self.next_stanza(timeout)
            if stanza.tag == ENABLED and stanza.get("resume") in ("true", "1"):
                return stanza.get("id")
            if stanza.tag in (ENABLED, SM_FAILED):
                raise ConnectionError(f"resumption refused: {ElementTree.tostring(stanza)!r}")

    def send_message(self, to, body):
        self.writer.write(chat_message(to, body))

    async def idle(self):
        """
        Read and drop everything until the server closes the connection.
        """
        while await self.reader.read(READ_SIZE):
            pass

    def cut(self):
        """
        Drop the connection without closing the stream, as a phone that
        lost its network does: a resumable session stays behind.
        """
        self.writer.transport.abort()

    def close(self):
        self.writer.close()

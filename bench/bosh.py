# -*- test-case-name: bench.tests.test_bosh -*-
"""
The benchmark's BOSH client (XEP-0124, XMPP over it by XEP-0206): a
visitor of the peer comparison, an XMPP account logged in over HTTP long
polling, as a web chat widget on Prosody would be.

One session runs over two keep-alive HTTP/1.1 connections (L{Connection}),
as a browser holds a long poll while it sends: with C{hold='1'} the server
keeps one request waiting, and a request that carries a stanza makes it
answer the older one.  Whenever no request is left at the server, an
empty one goes out at once.  Thousands run in one asyncio process, so it
does nothing else.
"""

import asyncio
import base64
from xml.etree import ElementTree
from xml.sax.saxutils import escape, quoteattr

from bench.http_client import Connection

NS_HTTPBIND = "http://jabber.org/protocol/httpbind"
NS_XBOSH = "urn:xmpp:xbosh"
NS_CLIENT = "jabber:client"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind"
PATH = "/http-bind"
CONTENT_TYPE = "text/xml; charset=utf-8"
HEADERS = {"Content-Type": CONTENT_TYPE}
WAIT_SECONDS = 60
FIRST_RID = 1_000_000


class BoshError(Exception):
    """
    The server ended the session or answered what BOSH does not allow.
    """


def local_name(tag):
    return tag.rsplit("}", 1)[-1]


def body(rid, sid=None, payload=b"", **attributes):
    """
    One C{<body/>} wrapper: C{attributes} named with C{xmpp_} and C{xml_}
    become C{xmpp:} and C{xml:} ones.
    """
    names = {"rid": str(rid)}
    if sid is not None:
        names["sid"] = sid
    for name, value in attributes.items():
        prefix, _, rest = name.partition("_")
        names[f"{prefix}:{rest}" if prefix in ("xmpp", "xml") and rest else name] = str(value)
    attributes_text = "".join(f" {name}={quoteattr(value)}" for name, value in names.items())
    head = f"<body xmlns='{NS_HTTPBIND}' xmlns:xmpp='{NS_XBOSH}'{attributes_text}"
    if not payload:
        return (head + "/>").encode()
    return head.encode() + b">" + payload + b"</body>"


def parse_body(content):
    """
    The attributes of an answer's C{<body/>} and its children;
    L{BoshError} if it ends the session or is no BOSH body.
    """
    try:
        root = ElementTree.fromstring(content)
    except ElementTree.ParseError as problem:
        raise BoshError(f"not XML: {content[:200]!r}") from problem
    if root.tag != f"{{{NS_HTTPBIND}}}body":
        raise BoshError(f"not a BOSH body: {root.tag}")
    if root.get("type") == "terminate":
        raise BoshError(f"the server ended the session: {root.get('condition')}")
    return dict(root.attrib), list(root)


def plain_auth(username, password):
    token = base64.b64encode(f"\0{username}\0{password}".encode()).decode()
    return f"<auth xmlns='{NS_SASL}' mechanism='PLAIN'>{token}</auth>".encode()


def bind(resource):
    return (
        f"<iq xmlns='{NS_CLIENT}' type='set' id='bind'><bind xmlns='{NS_BIND}'>"
        f"<resource>{escape(resource)}</resource></bind></iq>"
    ).encode()


def chat_message(to, text):
    return (
        f"<message xmlns='{NS_CLIENT}' to={quoteattr(to)} type='chat'>"
        f"<body>{escape(text)}</body></message>"
    ).encode()


PRESENCE = f"<presence xmlns='{NS_CLIENT}'/>".encode()
UNAVAILABLE = f"<presence xmlns='{NS_CLIENT}' type='unavailable'/>".encode()


class BoshSession:
    """
    One logged-in BOSH session.  Once L{run} is called, it keeps a request
    waiting at the server and hands every stanza that arrives to
    C{on_stanza}.

    @ivar jid: the full JID bound.
    """

    def __init__(self, connections, domain, path=PATH, rid=FIRST_RID):
        self.domain = domain
        self.path = path
        self.rid = rid
        self.sid = None
        self.jid = None
        self.on_stanza = None
        self._connections = list(connections)
        self._free = list(connections)
        self._pending = []
        self._in_flight = 0
        self._exchanges = set()
        self._failure = None
        self._received = []

    @classmethod
    async def open(cls, port, domain, username, password, resource="bosh", path=PATH,
                   timeout=30):
        """
        Connect twice to loopback C{port}, create a session, log in with
        PLAIN, bind C{resource} and send initial presence (whose request
        the server keeps waiting).
        """
        first = await Connection.open(port)
        try:
            second = await Connection.open(port)
        except BaseException:
            first.close()
            raise
        session = cls([first, second], domain, path)
        try:
            await asyncio.wait_for(session._log_in(username, password, resource), timeout)
        except BaseException:
            session.close()
            raise
        return session

    async def _request(self, payload=b"", **attributes):
        """
        During login, one request at a time on the first connection: the
        children of its answer.
        """
        self.rid += 1
        status, _, content = await self._connections[0].exchange(
            "POST", self.path, body(self.rid, self.sid, payload, **attributes), HEADERS
        )
        if status != 200:
            raise BoshError(f"HTTP {status}: {content[:200]!r}")
        fields, children = parse_body(content)
        return fields, children

    async def _next(self, wanted):
        """
        The next child of an answer named C{wanted} (local names), asking
        with empty requests while none has come.
        """
        while True:
            while self._received:
                child = self._received.pop(0)
                if local_name(child.tag) in wanted:
                    return child
            _, children = await self._request()
            self._received += children

    async def _log_in(self, username, password, resource):
        fields, children = await self._request(
            to=self.domain, hold=1, wait=WAIT_SECONDS, ver="1.6", content=CONTENT_TYPE,
            xml_lang="en", xmpp_version="1.0",
        )
        self.sid = fields.get("sid")
        if not self.sid:
            raise BoshError(f"no session id in {fields}")
        self._received = children
        await self._next({"features"})
        self._received += (await self._request(plain_auth(username, password)))[1]
        if local_name((await self._next({"success", "failure"})).tag) != "success":
            raise BoshError(f"login refused for {username}")
        self._received += (
            await self._request(to=self.domain, xml_lang="en", xmpp_restart="true")
        )[1]
        await self._next({"features"})
        self._received += (await self._request(bind(resource)))[1]
        result = await self._next({"iq"})
        self.jid = result.findtext(f"{{{NS_BIND}}}bind/{{{NS_BIND}}}jid")
        if result.get("type") != "result" or not self.jid:
            raise BoshError(f"bind failed for {username}")

    def run(self, on_stanza):
        """
        From now on hand each stanza to C{on_stanza}; send initial
        presence, whose request stays waiting at the server.
        """
        self.on_stanza = on_stanza
        for child in self._received:
            on_stanza(child)
        self._received = []
        self.send(PRESENCE)

    def send(self, payload):
        """
        Send C{payload}, stanzas as bytes, in the next request: now if a
        connection is free, otherwise as soon as an answer frees one.
        """
        if self._failure is not None:
            raise self._failure
        self._pending.append(payload)
        self._pump()

    def _pump(self):
        while self._free and (self._pending or self._in_flight == 0):
            connection = self._free.pop()
            payload, self._pending = b"".join(self._pending), []
            self.rid += 1
            connection.send_request(
                "POST", self.path, body(self.rid, self.sid, payload), HEADERS
            )
            self._in_flight += 1
            exchange = asyncio.ensure_future(self._answer(connection))
            self._exchanges.add(exchange)
            exchange.add_done_callback(self._exchanges.discard)

    async def _answer(self, connection):
        try:
            status, _, content = await connection.read_response()
            if status != 200:
                raise BoshError(f"HTTP {status}: {content[:200]!r}")
            _, children = parse_body(content)
        except (BoshError, ConnectionError, asyncio.IncompleteReadError) as failure:
            self._failure = failure if isinstance(failure, BoshError) else BoshError(failure)
            return
        self._in_flight -= 1
        self._free.append(connection)
        for child in children:
            self.on_stanza(child)
        self._pump()

    @property
    def failed(self):
        return self._failure

    def terminate(self):
        """
        End the session, without waiting for the answer.
        """
        if self._failure is not None or not self._free or self.sid is None:
            return
        self.rid += 1
        self._free.pop().send_request(
            "POST", self.path, body(self.rid, self.sid, UNAVAILABLE, type="terminate"),
            HEADERS,
        )

    def close(self):
        for exchange in list(self._exchanges):
            exchange.cancel()
        for connection in self._connections:
            connection.close()

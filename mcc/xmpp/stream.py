# -*- test-case-name: tests.test_xmpp_stream -*-
"""
An XML stream that refuses the XML that XMPP forbids and measures stanzas.

Twisted's parser accepts comments, processing instructions and DOCTYPEs, and
only caps stanzas at megabytes.  RFC 6120 section 11 restricts all of those,
and one client must not be able to make the server buffer unbounded input.
"""

import pyexpat

from twisted.logger import Logger
from twisted.words.protocols.jabber import error, xmlstream
from twisted.words.xish import domish

from mcc.transports import write_durably
from mcc.xmpp.namespaces import NS_CLIENT

log = Logger()


class RestrictedXML(Exception):
    """
    The peer sent XML that RFC 6120 section 11.1 does not allow.
    """


class StanzaTooLarge(Exception):
    """
    One stanza grew beyond the configured limit.
    """


class StanzaTooDeep(Exception):
    """
    One stanza nests elements deeper than the configured limit.
    """


MAX_DEPTH = 32
"""
How deeply a stanza may nest elements, the stanza itself being level 1.
Real clients stay under ten or so (a PubSub item with an Atom entry); much
deeper trees would reach Python's recursion limit wherever they are copied
or serialized.
"""


def _tag_ends(data):
    """
    C{data} cut after each C{>}: every tag then ends a piece, so the end of
    the piece being parsed is exactly where a stanza that closes in it ends.
    """
    start = 0
    while (end := data.find(b">", start)) != -1:
        yield data[start : end + 1]
        start = end + 1
    if start < len(data):
        yield data[start:]


def _header(root):
    """
    The start tag of C{root}, the peer's stream element, with the namespace
    declarations it made (its attributes do not matter to a parser), or
    C{None} when its prefix cannot be told from them.
    """
    prefixes = [p for p, uri in root.localPrefixes.items() if uri == root.uri]
    if root.defaultUri == root.uri:
        prefixes.append(None)
    if len(prefixes) != 1:
        return None
    (prefix,) = prefixes
    name = root.name if prefix is None else f"{prefix}:{root.name}"
    declarations = [
        f' xmlns:{p}="{domish.escapeToXml(uri, isattrib=1)}"'
        for p, uri in root.localPrefixes.items()
    ]
    if root.defaultUri:
        declarations.insert(0, f' xmlns="{domish.escapeToXml(root.defaultUri, isattrib=1)}"')
    return f"<{name}{''.join(declarations)}>".encode()


class _Discard(Exception):
    """
    The stream closed or was reset by the element just parsed: the parser
    must stop where it is.
    """


class _Reads:
    """
    The reads being handled, and the streams written to meanwhile.

    What a read makes the server send, to its own connection or to others
    (the recipient of a message, the sender's other resources), is kept per
    stream and written once the outermost read is handled: one write per
    connection instead of one per stanza.

    @ivar depth: how many C{dataReceived} calls are running.
    @ivar waiting: the streams with output kept, in the order of their first.
    """

    def __init__(self):
        self.depth = 0
        self.waiting = []

    def flush(self):
        while self.waiting:
            streams, self.waiting = self.waiting, []
            for stream in streams:
                stream._write_kept()


_reads = _Reads()


class GuardedXmlStream(xmlstream.XmlStream):
    """
    A receiving C{jabber:client} stream.

    Top-level elements go to C{element_handler}, which the negotiation sets
    first and the bound session replaces, instead of through XPath observers.

    A read is parsed in one piece when no stanza finished in it can exceed
    the size limit, and tag by tag otherwise, so that the limit stays exact
    to the byte.  What is sent while reads are handled is written once they
    are (L{_Reads}).

    Between stanzas, once a read leaves nothing unfinished, the expat
    parser is dropped and the next read gets a new one, primed with the
    peer's stream header: an idle session keeps no parser state, which is
    most of what a session costs in memory.

    @ivar group_commit: the L{mcc.store.GroupCommit} whose writes what
        this stream sends waits for (an acknowledgement of a stanza, a
        reply that follows from a stored one), or C{None} for none.
    @ivar last_activity: when data last arrived, whitespace keepalives included.
    @ivar closed_by_peer: whether the peer ended its stream itself, which
        ends a resumable session for good (XEP-0198).
    """

    namespace = NS_CLIENT
    group_commit = None

    def __init__(self, authenticator, clock, max_stanza_size, max_depth=MAX_DEPTH):
        self._clock = clock
        self.max_stanza_size = max_stanza_size
        self.max_depth = max_depth
        self.last_activity = clock.seconds()
        self.element_handler = None
        self._closing = False
        self.error_condition = None
        self.closed_by_peer = False
        self._output = []
        xmlstream.XmlStream.__init__(self, authenticator)

    def _initializeStream(self):
        xmlstream.XmlStream._initializeStream(self)
        # The stream header once the peer's root element is open, to prime a
        # new parser with (L{_release_parser}); None until then.
        self._header = None
        self._depth = 0
        self._guard(self.stream.parser)

    def _guard(self, parser):
        """
        Make C{parser}, this stream's expat parser, refuse what RFC 6120
        forbids and count depth and bytes.
        """
        parser.SetParamEntityParsing(pyexpat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.CommentHandler = self._refuse
        parser.ProcessingInstructionHandler = self._refuse
        parser.StartDoctypeDeclHandler = self._refuse
        parser.EntityDeclHandler = self._refuse
        # Byte positions in what this parser was given: all of it, the end of
        # the piece being parsed, and the start of the current stanza.
        self._parsed = 0
        self._piece_end = 0
        self._stanza_start = 0
        stream = self.stream
        start, end = stream._onStartElement, stream._onEndElement

        def start_element(name, attributes):
            self._depth += 1
            # Level 1 is the stream's root element, level 2 a stanza.
            if self._depth - 1 > self.max_depth:
                raise StanzaTooDeep()
            if self._depth == 2:
                self._stanza_start = parser.CurrentByteIndex
            start(name, attributes)
            if self._closing or self.stream is not stream:
                raise _Discard()

        def end_element(name):
            if self._depth == 2:
                # The stanza ends at the latest with the piece: exactly when
                # the piece was cut after its last ">".
                self._check_size(self._piece_end - self._stanza_start)
            self._depth -= 1
            end(name)
            if self._closing or self.stream is not stream:
                # After a stream error or a reset (STARTTLS, SASL) the
                # rest was sent before the peer could know of it: it
                # belongs to no stream, and must not pass for data
                # received over TLS.
                raise _Discard()

        parser.StartElementHandler = start_element
        parser.EndElementHandler = end_element

    def onDocumentStart(self, rootElement):
        self._header = _header(rootElement)
        xmlstream.XmlStream.onDocumentStart(self, rootElement)

    def _release_parser(self):
        """
        Drop the expat parser when the peer is between stanzas and the
        parser holds nothing unfinished: an idle stream then keeps no parser
        state, most of what an idle session costs.  L{_revive_parser} makes
        a new one.
        """
        # Not closing: the stream and its parser (made at the read's start)
        # are there; at depth 1 no stanza is open.
        stream = self.stream
        if (
            self._header is not None
            and self._depth == 1
            and not self._closing
            and stream.parser.CurrentByteIndex == self._parsed
        ):
            stream.parser = None

    def _revive_parser(self):
        """
        A new expat parser for this stream, given the stream header (with
        the peer's namespace declarations) before any handler is set, so it
        goes on where the released one stopped.
        """
        stream = self.stream
        parser = pyexpat.ParserCreate("UTF-8", " ")
        parser.SetParamEntityParsing(pyexpat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.Parse(self._header)
        parser.CharacterDataHandler = stream._onCdata
        parser.StartNamespaceDeclHandler = stream._onStartNamespace
        parser.EndNamespaceDeclHandler = stream._onEndNamespace
        stream.parser = parser
        self._guard(parser)
        self._parsed = self._piece_end = self._stanza_start = len(self._header)

    def _refuse(self, *args):
        raise RestrictedXML()

    def _check_size(self, size):
        if size > self.max_stanza_size:
            raise StanzaTooLarge()

    def _unfinished_size(self):
        """
        The bytes the parser holds of a stanza not finished yet, an
        unterminated tag between stanzas included.
        """
        if self._depth >= 2:
            return self._parsed - self._stanza_start
        parser = self.stream.parser
        return 0 if parser is None else self._parsed - parser.CurrentByteIndex

    def dataReceived(self, data):
        if self._closing or self.stream is None:
            return
        self.last_activity = self._clock.seconds()
        _reads.depth += 1
        try:
            if self.stream.parser is None:
                self._revive_parser()
            self._parse(data)
            self._release_parser()
        finally:
            _reads.depth -= 1
            if not _reads.depth:
                _reads.flush()

    def _pieces(self, data):
        """
        C{data} whole when no stanza that ends in it can exceed the limit,
        even one begun before it; otherwise cut after each C{>}.
        """
        if self._unfinished_size() + len(data) <= self.max_stanza_size:
            return (data,)
        return _tag_ends(data)

    def _parse(self, data):
        stream = self.stream
        try:
            for piece in self._pieces(data):
                self._piece_end = self._parsed + len(piece)
                stream.parse(piece)
                self._parsed = self._piece_end
                self._check_size(self._unfinished_size())
        except _Discard:
            pass
        except RestrictedXML:
            self.close_with_error(
                "restricted-xml", "comments, processing instructions and DTDs are not allowed"
            )
        except StanzaTooLarge:
            self.close_with_error(
                "policy-violation", f"stanzas are limited to {self.max_stanza_size} bytes"
            )
        except StanzaTooDeep:
            self.close_with_error(
                "policy-violation", f"stanzas may nest elements {self.max_depth} levels deep"
            )
        except domish.ParserError:
            self.close_with_error("not-well-formed")

    def send(self, obj):
        """
        Send C{obj}, an element or serialized XML; while reads are being
        handled, kept with what else this stream is sent until they are.
        Once the stream is closing, everything goes out at once, before the
        connection closes.
        """
        if domish.IElement.providedBy(obj):
            obj = obj.toXml(
                prefixes=self.prefixes,
                defaultUri=self.namespace,
                prefixesInScope=list(self.prefixes.values()),
            )
        if isinstance(obj, str):
            obj = obj.encode("utf-8")
        if self.rawDataOutFn:
            self.rawDataOutFn(obj)
        if _reads.depth and not self._closing:
            if not self._output:
                _reads.waiting.append(self)
            self._output.append(obj)
            return
        if self._output or self._closing:
            self._output.append(obj)
            self.flush()
        elif self.transport is not None:
            write_durably(self.group_commit, self.transport, obj)

    def flush(self):
        """
        Write what was kept, now: before anything else acts on the
        transport (STARTTLS, closing).  The turn's writes to the store are
        committed first.
        """
        if self._output and self.group_commit is not None:
            self.group_commit.commit()
        self._write_kept()

    def _write_kept(self):
        """
        Write what was kept once the turn's writes to the store are
        committed (L{write_durably}).
        """
        if not self._output:
            return
        output, self._output = self._output, []
        if self.transport is not None:
            data = output[0] if len(output) == 1 else b"".join(output)
            write_durably(self.group_commit, self.transport, data)

    def onStreamError(self, errelem):
        self.flush()
        xmlstream.XmlStream.onStreamError(self, errelem)

    def onElement(self, element):
        if not self._closing:
            self.element_handler(element)

    def close_with_error(self, condition, text=None):
        """
        Send a stream error and close; anything received after it is ignored.
        """
        if self._closing:
            return
        self._closing = True
        self.error_condition = condition
        peer = self.transport.getPeer() if self.transport is not None else None
        log.info(
            "XMPP stream error {condition} sent to {address}",
            condition=condition, address=getattr(peer, "host", None),
        )
        self.flush()
        self.sendStreamError(error.StreamError(condition, text))

    def onDocumentEnd(self):
        """
        The peer closed its stream: close ours too before the connection,
        as RFC 6120 section 4.4 asks, so it knows nothing was cut short.
        """
        self.closed_by_peer = True
        if not self._closing:
            self._closing = True
            self.sendFooter()
        self.flush()
        self.transport.loseConnection()

    def connectionLost(self, reason):
        self._closing = True
        self._output = []
        xmlstream.XmlStream.connectionLost(self, reason)

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


class GuardedXmlStream(xmlstream.XmlStream):
    """
    A receiving C{jabber:client} stream.

    Top-level elements go to C{element_handler}, which the negotiation sets
    first and the bound session replaces, instead of through XPath observers.

    @ivar last_activity: when data last arrived, whitespace keepalives included.
    @ivar closed_by_peer: whether the peer ended its stream itself, which
        ends a resumable session for good (XEP-0198).
    """

    namespace = NS_CLIENT

    def __init__(self, authenticator, clock, max_stanza_size, max_depth=MAX_DEPTH):
        self._clock = clock
        self.max_stanza_size = max_stanza_size
        self.max_depth = max_depth
        self.last_activity = clock.seconds()
        self.element_handler = None
        self._closing = False
        self.error_condition = None
        self.closed_by_peer = False
        xmlstream.XmlStream.__init__(self, authenticator)

    def _initializeStream(self):
        xmlstream.XmlStream._initializeStream(self)
        parser = self.stream.parser
        parser.SetParamEntityParsing(pyexpat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.CommentHandler = self._refuse
        parser.ProcessingInstructionHandler = self._refuse
        parser.StartDoctypeDeclHandler = self._refuse
        parser.EntityDeclHandler = self._refuse
        self._depth = 0
        # Byte positions in what this parser was given: all of it, the end of
        # the piece being parsed, and the start of the current stanza.
        self._parsed = 0
        self._piece_end = 0
        self._stanza_start = 0
        start, end = parser.StartElementHandler, parser.EndElementHandler

        def start_element(name, attributes):
            self._depth += 1
            # Level 1 is the stream's root element, level 2 a stanza.
            if self._depth - 1 > self.max_depth:
                raise StanzaTooDeep()
            if self._depth == 2:
                self._stanza_start = parser.CurrentByteIndex
            start(name, attributes)

        def end_element(name):
            if self._depth == 2:
                # The stanza's last ">" is the last byte of the piece.
                self._check_size(self._piece_end - self._stanza_start)
            self._depth -= 1
            end(name)

        parser.StartElementHandler = start_element
        parser.EndElementHandler = end_element

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
        return self._parsed - self.stream.parser.CurrentByteIndex

    def dataReceived(self, data):
        if self._closing or self.stream is None:
            return
        self.last_activity = self._clock.seconds()
        stream = self.stream
        try:
            for piece in _tag_ends(data):
                self._piece_end = self._parsed + len(piece)
                stream.parse(piece)
                if self._closing or self.stream is not stream:
                    # After a stream error or a reset (STARTTLS, SASL) the
                    # rest was sent before the peer could know of it: it
                    # belongs to no stream, and must not pass for data
                    # received over TLS.
                    return
                self._parsed = self._piece_end
                self._check_size(self._unfinished_size())
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
        self.transport.loseConnection()

    def connectionLost(self, reason):
        self._closing = True
        xmlstream.XmlStream.connectionLost(self, reason)

"""
A server that is not who it claims to be, for the dialback tests: it
opens a server-to-server stream, takes STARTTLS (showing no certificate of
its own) and offers a dialback key it made up (XEP-0220), then reads what
the receiving server answers.  Raw XML over asyncio: just enough of the
protocol to be refused.
"""

import asyncio
import re
import ssl

TIMEOUT = 10
NS_STREAMS = "http://etherx.jabber.org/streams"


class DialbackPeer:
    def __init__(self, address, claimed, receiving, cafile, port=5269, certificate=None, alpn=()):
        """
        @param certificate: an L{Issued} to show as the TLS client's
            certificate, or C{None} for none.
        @param alpn: ALPN protocols to offer (Prosody offers
            C{xmpp-server}).
        """
        self.address = address
        self.certificate = certificate
        self.alpn = alpn
        self.port = port
        self.claimed = claimed
        self.receiving = receiving
        self.cafile = cafile
        self.reader = self.writer = None
        self.alpn_selected = None
        self.received = ""

    def _header(self):
        return (
            "<?xml version='1.0'?>"
            f"<stream:stream xmlns='jabber:server' xmlns:stream='{NS_STREAMS}'"
            " xmlns:db='jabber:server:dialback'"
            f" from='{self.claimed}' to='{self.receiving}' version='1.0'>"
        )

    def _send(self, text):
        self.writer.write(text.encode("utf-8"))

    async def read_until(self, pattern, timeout=TIMEOUT):
        """
        Read until what arrived since the last match matches C{pattern};
        that match.  The end of the connection raises L{ConnectionError}.
        """

        async def read():
            while True:
                found = re.search(pattern, self.received, re.S)
                if found:
                    self.received = self.received[found.end():]
                    return found
                data = await self.reader.read(65536)
                if not data:
                    raise ConnectionError(f"closed; last received: {self.received[-500:]!r}")
                self.received += data.decode("utf-8", "replace")

        return await asyncio.wait_for(read(), timeout)

    async def connect(self):
        """
        Open the stream and secure it; the features of the secured stream.
        """
        self.reader, self.writer = await asyncio.open_connection(self.address, self.port)
        self._send(self._header())
        features = await self.read_until(r"<stream:features.*?</stream:features>")
        assert "starttls" in features.group(0), features.group(0)
        self._send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        await self.read_until(r"<proceed[^>]*/>")
        context = ssl.create_default_context(cafile=str(self.cafile))
        if self.certificate is not None:
            context.load_cert_chain(str(self.certificate.certificate), str(self.certificate.key))
        if self.alpn:
            context.set_alpn_protocols(list(self.alpn))
        await self.writer.start_tls(context, server_hostname=self.receiving)
        self.alpn_selected = self.writer.get_extra_info("ssl_object").selected_alpn_protocol()
        self.received = ""
        self._send(self._header())
        return (await self.read_until(r"<stream:features.*?</stream:features>|<stream:features/>")).group(0)

    async def dialback(self, key):
        """
        Offer C{key} for the claimed domain: the verdict, C{valid} or
        C{invalid}, or C{closed} when the stream ends first.
        """
        self._send(f"<db:result from='{self.claimed}' to='{self.receiving}'>{key}</db:result>")
        try:
            answer = await self.read_until(r"<db:result[^>]*>|<stream:error>.*?</stream:error>")
        except ConnectionError:
            return "closed"
        text = answer.group(0)
        if text.startswith("<stream:error"):
            condition = re.search(r"<([a-z-]+) xmlns=['\"]urn:ietf:params:xml:ns:xmpp-streams", text)
            return "stream-error " + (condition.group(1) if condition else text)
        found = re.search(r"type=['\"](\w+)['\"]", text)
        return found.group(1) if found else text

    async def send_stanza(self, text):
        if not self.writer.is_closing():
            self._send(text)
            await self.writer.drain()

    async def close(self):
        if self.writer is None:
            return
        try:
            if not self.writer.is_closing():
                self._send("</stream:stream>")
            self.writer.close()
            await asyncio.wait_for(self.writer.wait_closed(), 5)
        except (OSError, TimeoutError, ssl.SSLError):
            pass

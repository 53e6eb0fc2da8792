# -*- test-case-name: tests.test_visitor_api,tests.test_admin -*-
"""
What the HTTP sides (the visitor API, the admin site) share about requests:
who sent them, and how large they may be.
"""

import ipaddress

from twisted.web import server


class ClientAddress:
    """
    C{request -> address} of the browser behind a request.  Behind a proxy
    every request comes from the proxy, so X-Forwarded-For counts, but only
    when sent by one of C{trusted_proxies} (networks such as
    C{"10.0.0.0/8"}): anyone else could forge it.
    """

    def __init__(self, trusted_proxies=()):
        self.trusted_proxies = [ipaddress.ip_network(p) for p in trusted_proxies]

    def __call__(self, request):
        peer = request.getClientAddress().host
        forwarded = request.getHeader(b"x-forwarded-for")
        if not forwarded or not self._trusted(peer):
            return peer
        for hop in reversed([h.strip() for h in forwarded.decode("latin-1").split(",")]):
            if not self._trusted(hop):
                return hop
        return peer

    def _trusted(self, address):
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.trusted_proxies)


MAX_REQUEST_BODY = 1024 * 1024
"""
The largest request body mcc reads: far above any form or API call, and
low enough that nobody can make it buffer gigabytes.
"""

TOO_LARGE = b"HTTP/1.1 413 Content Too Large\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"


class BoundedRequest(server.Request):
    """
    A request whose body may be at most C{max_body} bytes: a larger one,
    declared or sent in chunks, is answered 413 and the connection closed
    before more of it is kept.
    """

    max_body = MAX_REQUEST_BODY
    refused = False

    def gotLength(self, length):
        self._body_bytes = 0
        if length is not None and length > self.max_body:
            self._refuse()
        else:
            server.Request.gotLength(self, length)

    def handleContentChunk(self, data):
        self._body_bytes += len(data)
        if self._body_bytes > self.max_body:
            self._refuse()
        elif not self.refused:
            server.Request.handleContentChunk(self, data)

    def requestReceived(self, command, path, version):
        if not self.refused:
            server.Request.requestReceived(self, command, path, version)

    def _refuse(self):
        if self.refused:
            return
        self.refused = True
        if self.content is not None:
            self.content.close()
            self.content = None
        self.channel.transport.write(TOO_LARGE)
        self.channel.loseConnection()

# -*- test-case-name: tests.test_visitor_api,tests.test_admin -*-
"""
What the HTTP sides (the visitor API, the admin site) share about requests.
"""

import ipaddress


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

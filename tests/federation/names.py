"""
mcc's DNS in the federation tests: a resolver (L{IResolver}) answering
from a table, so that SRV and address lookups for the test domains never
reach a nameserver, and the tests can see what mcc asked.
"""

from twisted.internet import defer
from twisted.names import dns, error
from twisted.names.common import ResolverBase


class LoopbackResolver(ResolverBase):
    """
    C{hosts}: C{domain -> IPv4 address}; C{services}: C{domain ->
    [(target, port)]} for C{_xmpp-server._tcp.DOMAIN}.  Anything else
    does not exist.  C{queries} lists C{(name, type)} as asked.
    """

    def __init__(self, hosts, services=None):
        ResolverBase.__init__(self)
        self.hosts = {name.lower(): address for name, address in hosts.items()}
        self.services = {
            f"_xmpp-server._tcp.{name.lower()}": targets for name, targets in (services or {}).items()
        }
        self.queries = []

    def _lookup(self, name, cls, type, timeout):
        name = name.decode("ascii") if isinstance(name, bytes) else name
        name = name.lower().rstrip(".")
        self.queries.append((name, dns.QUERY_TYPES.get(type, type)))
        answers = []
        if type in (dns.A, dns.ALL_RECORDS) and name in self.hosts:
            answers.append(
                dns.RRHeader(name, dns.A, cls, 60, dns.Record_A(self.hosts[name], 60), auth=True)
            )
        if type in (dns.SRV, dns.ALL_RECORDS) and name in self.services:
            for priority, (target, port) in enumerate(self.services[name]):
                answers.append(
                    dns.RRHeader(name, dns.SRV, cls, 60, dns.Record_SRV(priority, 0, port, target, 60), auth=True)
                )
        if not answers:
            return defer.fail(error.DomainError(name))
        return defer.succeed((answers, [], []))

    def asked(self, name, kind):
        return (name, kind) in self.queries

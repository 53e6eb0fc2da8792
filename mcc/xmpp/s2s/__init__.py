"""
Server-to-server XMPP (RFC 6120, XEP-0220 Server Dialback, XEP-0178 SASL
EXTERNAL between servers): L{federation} keeps the links and routes,
L{inbound} and L{outbound} negotiate one stream each way, L{identity}
checks certificates, L{dialback} makes the keys.

Entry points: L{mcc.tap.makeService} builds a L{federation.Federation}
from the options C{--s2s-port}, C{--s2s-listen}, C{--no-federation}, C{--s2s-allow},
C{--s2s-deny}, C{--s2s-ca-file}, C{--s2s-allow-unverified} and
C{--s2s-idle-timeout}; its C{resolver} argument (an C{IResolver}, such as
L{federation.StaticResolver}) replaces DNS for the SRV lookups.
"""

# -*- test-case-name: tests.test_xmpp_bad_input -*-
"""
JIDs as mcc reads them: clients' addresses are checked more strictly than
Twisted does, and the store knows accounts by name only, so that the data
survives a change of the served domain.
"""

import functools

from twisted.words.protocols.jabber import jid

# RFC 7622 section 3: every part of a JID is 1 to 1023 bytes long.
MAX_PART_BYTES = 1023

PARSED_CACHE_SIZE = 4096
"""
Stringprep makes parsing a JID the costliest step of routing a stanza, and
the same few addresses recur; the cache is bounded, unlike Twisted's
C{internJID}, so addresses a client makes up cannot grow it.
"""


@functools.lru_cache(maxsize=PARSED_CACHE_SIZE)
def parse(address):
    """
    The L{jid.JID} of an address a client sent; callers share the result,
    so they must not change it.

    Raises L{jid.InvalidFormat} also for what RFC 7622 forbids and Twisted
    accepts: an empty localpart or resourcepart (C{"@example.org"},
    C{"user@example.org/"}) and parts longer than 1023 bytes.
    """
    bare, slash, resource = address.partition("/")
    local, at, _ = bare.partition("@")
    if (at and not local) or (slash and not resource):
        raise jid.InvalidFormat(f"an empty part in {address!r}")
    parsed = jid.JID(address)
    parts = (parsed.user or "", parsed.host, parsed.resource or "")
    if any(len(part.encode("utf-8")) > MAX_PART_BYTES for part in parts):
        raise jid.InvalidFormat("a part longer than 1023 bytes")
    return parsed


def localpart(bare):
    """
    The account name of a local bare JID (C{"alice@example.org"} -> C{"alice"}).
    """
    return bare.partition("@")[0]

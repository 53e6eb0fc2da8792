"""
Between JIDs and account names: the store knows accounts by name only, so
that the data survives a change of the served domain.
"""


def localpart(bare):
    """
    The account name of a local bare JID (C{"alice@example.org"} -> C{"alice"}).
    """
    return bare.partition("@")[0]

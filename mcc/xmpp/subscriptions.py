# -*- test-case-name: tests.test_xmpp_subscriptions -*-
"""
Presence subscription states (RFC 6121 section 3 and appendix A).

Each function takes the roster item the stanza concerns and returns it as
it must be afterwards; an unchanged item means the stanza changes nothing
and, for inbound stanzas, is not delivered.
"""

_LOSE_TO = {"to": "none", "both": "from"}
_LOSE_FROM = {"from": "none", "both": "to"}
_GAIN_TO = {"none": "to", "from": "both"}
_GAIN_FROM = {"none": "from", "to": "both"}


def _move(item, moves, ask=None):
    subscription = moves.get(item.subscription, item.subscription)
    return item.but(subscription=subscription, ask=item.ask if ask is None else ask)


def outbound(kind, item):
    """
    The sender's item for the contact after the sender sent C{kind}.
    """
    if kind == "subscribe":
        return item if item.subscription in ("to", "both") else item.but(ask=True)
    if kind == "unsubscribe":
        return _move(item, _LOSE_TO, ask=False)
    if kind == "subscribed":
        return _move(item, _GAIN_FROM)
    if kind == "unsubscribed":
        return _move(item, _LOSE_FROM)
    raise ValueError(kind)


def inbound(kind, item):
    """
    The recipient's item for the sender after receiving C{kind}.

    An inbound C{subscribe} changes no item: it waits as a request.
    """
    if kind == "subscribe":
        return item
    if kind == "unsubscribe":
        return _move(item, _LOSE_FROM)
    if kind == "subscribed":
        return _move(item, _GAIN_TO, ask=False) if item.ask else item
    if kind == "unsubscribed":
        return _move(item, _LOSE_TO, ask=False)
    raise ValueError(kind)


def receives_presence(item):
    """
    Whether the owner of C{item} sees the contact's presence.
    """
    return item is not None and item.subscription in ("to", "both")


def shares_presence(item):
    """
    Whether the contact of C{item} sees its owner's presence.
    """
    return item is not None and item.subscription in ("from", "both")

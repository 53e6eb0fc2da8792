"""
Tests for L{mcc.xmpp.subscriptions}: the state tables of RFC 6121 appendix A,
for every state a roster item can be in.

A state is (subscription, pending out).  "Pending in" is not part of an
item: a waiting request is kept apart, so for C{subscribed} and
C{unsubscribed} sent by the user the tables assume one is waiting (without
one, the server does not change the item at all).
"""

import pytest

from mcc.store import RosterItem
from mcc.xmpp.subscriptions import inbound, outbound, receives_presence, shares_presence

NONE, NONE_OUT, TO, FROM, FROM_OUT, BOTH = (
    ("none", False),
    ("none", True),
    ("to", False),
    ("from", False),
    ("from", True),
    ("both", False),
)
STATES = (NONE, NONE_OUT, TO, FROM, FROM_OUT, BOTH)
KINDS = ("subscribe", "unsubscribe", "subscribed", "unsubscribed")

# RFC 6121 A.2: the user sent KIND to the contact.
OUTBOUND = {
    "subscribe": {
        NONE: NONE_OUT,
        NONE_OUT: NONE_OUT,
        TO: TO,
        FROM: FROM_OUT,
        FROM_OUT: FROM_OUT,
        BOTH: BOTH,
    },
    "unsubscribe": {
        NONE: NONE,
        NONE_OUT: NONE,
        TO: NONE,
        FROM: FROM,
        FROM_OUT: FROM,
        BOTH: FROM,
    },
    "subscribed": {
        NONE: FROM,
        NONE_OUT: FROM_OUT,
        TO: BOTH,
        FROM: FROM,
        FROM_OUT: FROM_OUT,
        BOTH: BOTH,
    },
    "unsubscribed": {
        NONE: NONE,
        NONE_OUT: NONE_OUT,
        TO: TO,
        FROM: NONE,
        FROM_OUT: NONE_OUT,
        BOTH: TO,
    },
}

# RFC 6121 A.3: the user received KIND from the contact.
INBOUND = {
    "subscribe": {state: state for state in STATES},
    "unsubscribe": {
        NONE: NONE,
        NONE_OUT: NONE_OUT,
        TO: TO,
        FROM: NONE,
        FROM_OUT: NONE_OUT,
        BOTH: TO,
    },
    "subscribed": {
        NONE: NONE,
        NONE_OUT: TO,
        TO: TO,
        FROM: FROM,
        FROM_OUT: BOTH,
        BOTH: BOTH,
    },
    "unsubscribed": {
        NONE: NONE,
        NONE_OUT: NONE,
        TO: NONE,
        FROM: FROM,
        FROM_OUT: FROM,
        BOTH: FROM,
    },
}


def item(state):
    subscription, ask = state
    return RosterItem("contact@example.org", "Contact", subscription, ask, ("Group",))


def state_of(roster_item):
    return roster_item.subscription, roster_item.ask


def test_tables_cover_every_kind_and_state():
    for table in (OUTBOUND, INBOUND):
        assert set(table) == set(KINDS)
        for row in table.values():
            assert set(row) == set(STATES)


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("kind", KINDS)
def test_outbound(kind, state):
    after = outbound(kind, item(state))
    assert state_of(after) == OUTBOUND[kind][state]
    assert (after.contact, after.name, after.groups) == (item(NONE).contact, "Contact", ("Group",))
    if OUTBOUND[kind][state] == state:
        assert after == item(state)


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("kind", KINDS)
def test_inbound(kind, state):
    after = inbound(kind, item(state))
    assert state_of(after) == INBOUND[kind][state]
    assert (after.contact, after.name, after.groups) == (item(NONE).contact, "Contact", ("Group",))
    # An unchanged item means the stanza is not delivered.
    if INBOUND[kind][state] == state:
        assert after == item(state)


@pytest.mark.parametrize("function", [outbound, inbound])
def test_unknown_kind(function):
    with pytest.raises(ValueError):
        function("probe", item(NONE))


@pytest.mark.parametrize("state", STATES)
def test_who_sees_whose_presence(state):
    subscription, _ = state
    assert receives_presence(item(state)) is (subscription in ("to", "both"))
    assert shares_presence(item(state)) is (subscription in ("from", "both"))


def test_no_item_means_no_presence_either_way():
    assert receives_presence(None) is False
    assert shares_presence(None) is False

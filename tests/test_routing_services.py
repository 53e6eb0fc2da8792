"""
The routing services the XMPP server reaches the store through: each one
provides its interface, and passes what it keeps through unchanged.
"""

import pytest
from twisted.internet.task import Clock
from zope.interface.verify import verifyObject

from mcc.routing.accounts import Accounts
from mcc.routing.interfaces import IAccounts, IRosters, IVCards
from mcc.routing.rosters import RosterItem, Rosters
from mcc.routing.vcards import VCards
from mcc.store import Store


@pytest.fixture
def store():
    store = Store.open(":memory:")
    store.users.add("alice", "pw", now=0)
    yield store
    store.close()


def test_accounts_interface(store):
    accounts = Accounts(store, Clock())
    assert verifyObject(IAccounts, accounts)
    assert accounts.find("alice").username == "alice"
    assert accounts.find("nobody") is None


def test_rosters_interface_and_round_trip(store):
    rosters = Rosters(store)
    assert verifyObject(IRosters, rosters)
    item = RosterItem("bob@example.org", name="Bob", subscription="to", groups=("Team",))
    rosters.put("alice", item)
    assert rosters.items("alice") == [item]
    assert rosters.get("alice", "bob@example.org") == item
    rosters.remove("alice", "bob@example.org")
    assert rosters.get("alice", "bob@example.org") is None

    rosters.add_request("alice", "carol@example.org", "<presence type='subscribe'/>")
    assert rosters.has_request("alice", "carol@example.org")
    assert rosters.requests("alice") == ["<presence type='subscribe'/>"]
    rosters.remove_request("alice", "carol@example.org")
    assert not rosters.has_request("alice", "carol@example.org")


def test_vcards_interface_and_round_trip(store):
    vcards = VCards(store)
    assert verifyObject(IVCards, vcards)
    assert vcards.get("alice") is None
    vcards.put("alice", "<vCard xmlns='vcard-temp'/>")
    assert vcards.get("alice") == "<vCard xmlns='vcard-temp'/>"

"""
Tests for the Queues tab's canned messages and its Tags sub-page
(L{mcc.admin.queues}), driven with StubTreq like L{tests.test_admin}.
"""

import html

import pytest

from mcc.admin.queues import queues_tab
from mcc.routing.operations import ChatOperations
from tests.test_admin import World, make_world, world  # noqa: F401 (fixtures)


class OperationsWorld(World):
    def __init__(self):
        self.operations = None
        World.__init__(self, sections={"queues": lambda site, visit: queues_tab(self.operations)(site, visit)})
        self.operations = ChatOperations(self.store, None, self.clock)
        self.sales = self.queues.create("Sales")
        self.count = 0

    def chat_tagged(self, *names):
        self.count += 1
        chat = self.store.chats.create(
            token=f"t{self.count}", guest=f"g{self.count}", protocol="web", state="closed",
            created_at=0, operator="olive",
        )
        self.operations.add_tags(chat.id, "olive", list(names))
        return chat


@pytest.fixture
def ops_world():
    world = OperationsWorld()
    yield world
    world.store.close()


def texts(page):
    return html.unescape(page.text)


# Canned messages


def test_queue_page_lists_adds_edits_and_deletes_canned_messages(ops_world):
    world = ops_world
    browser = world.admin()
    path = f"/admin/queues/{world.sales.id}"
    page = browser.get(path)
    assert "No canned messages yet." in page.text
    page = browser.post(f"{path}/canned", {"name": " Hours ", "text": "We open at 9."})
    assert page.code == 303
    assert page.location == f"{path}#canned-heading"
    page = browser.get(path)
    assert "Added the canned message hours to Sales." in page.text
    assert "<code>hours</code>" in page.text and "We open at 9." in page.text
    (canned,) = world.operations.queue_canned("Sales")
    assert (canned.name, canned.text) == ("hours", "We open at 9.")

    page = browser.get(f"{path}/canned/{canned.id}")
    assert 'value="hours"' in page.text
    page = browser.post(f"{path}/canned/{canned.id}", {"name": "opening", "text": "9 to 5."})
    assert page.code == 303
    (canned,) = world.operations.queue_canned("Sales")
    assert (canned.name, canned.text) == ("opening", "9 to 5.")

    page = browser.get(f"{path}/canned/{canned.id}/delete")
    assert "Delete the canned message opening?" in page.text
    assert "9 to 5." in page.text
    page = browser.post(f"{path}/canned/{canned.id}/delete")
    assert page.code == 303
    assert world.operations.queue_canned("Sales") == []
    assert "Deleted the canned message opening." in browser.get(path).text


def test_a_duplicate_canned_name_is_refused_and_the_form_kept(ops_world):
    world = ops_world
    world.operations.add_canned("hours", "We open at 9.", queue="Sales")
    browser = world.admin()
    path = f"/admin/queues/{world.sales.id}"
    browser.get(path)
    page = browser.post(f"{path}/canned", {"name": "HOURS", "text": "Another text"})
    assert page.code == 400
    assert "A canned message named &#39;hours&#39; exists already there." in page.text
    assert "Another text" in page.text
    assert [c.text for c in world.operations.queue_canned("Sales")] == ["We open at 9."]

    other = world.operations.add_canned("fines", "No fines.", queue="Sales")
    browser.get(f"{path}/canned/{other.id}")
    page = browser.post(f"{path}/canned/{other.id}", {"name": "hours", "text": "No fines."})
    assert page.code == 400
    assert "exists already there" in page.text
    assert world.operations.queue_canned("Sales")[0].name == "fines"


@pytest.mark.parametrize(
    "name, text, error",
    [
        ("two words", "Text", "a canned message's name is 1 to 32 letters a-z"),
        ("", "Text", "a canned message's name is 1 to 32 letters a-z"),
        ("-dash", "Text", "a canned message's name is 1 to 32 letters a-z"),
        ("x" * 33, "Text", "a canned message's name is 1 to 32 letters a-z"),
        ("hours", "   ", "A canned message needs a text."),
        ("hours", "x" * 2001, "A canned message has at most 2000 characters."),
    ],
)
def test_bad_canned_messages_are_refused_with_the_rule(ops_world, name, text, error):
    world = ops_world
    browser = world.admin()
    path = f"/admin/queues/{world.sales.id}"
    browser.get(path)
    page = browser.post(f"{path}/canned", {"name": name, "text": text})
    assert page.code == 400
    assert error.lower() in texts(page).lower()
    assert 'role="alert" id="canned-error"' in page.text
    assert world.operations.queue_canned("Sales") == []


def test_canned_messages_of_another_queue_or_an_operator_are_not_found(ops_world):
    world = ops_world
    support = world.queues.create("Support")
    theirs = world.operations.add_canned("hours", "Support hours", queue="Support")
    own = world.operations.add_canned("mine", "Olive's own", owner="olive")
    browser = world.admin()
    path = f"/admin/queues/{world.sales.id}"
    for canned in (theirs, own):
        assert browser.get(f"{path}/canned/{canned.id}").code == 404
        browser.get(path)
        assert browser.post(f"{path}/canned/{canned.id}/delete", csrf=browser.last.csrf).code == 404
    assert [c.text for c in world.operations.queue_canned("Support")] == ["Support hours"]
    assert [c.text for c in world.operations.own_canned("olive")] == ["Olive's own"]
    assert browser.get(f"/admin/queues/{support.id}/canned/999").code == 404


def test_canned_posts_need_the_csrf_token(ops_world):
    world = ops_world
    browser = world.admin()
    page = browser.post(f"/admin/queues/{world.sales.id}/canned", {"name": "a", "text": "b"}, csrf="0")
    assert page.code == 403
    assert world.operations.queue_canned("Sales") == []


def test_without_operations_the_queue_page_has_no_canned_messages_or_tags(world):
    queue = world.queues.create("Sales")
    browser = world.admin()
    page = browser.get(f"/admin/queues/{queue.id}")
    assert page.code == 200
    assert "Canned messages" not in page.text and "Tags in use" not in page.text
    assert browser.get("/admin/queues/tags").code == 404


# Tags in use


def test_tags_page_lists_every_tag_with_its_chats(ops_world):
    world = ops_world
    world.chat_tagged("Renewals", "fines")
    world.chat_tagged("renewals")
    browser = world.admin()
    page = browser.get("/admin/queues")
    assert 'href="/admin/queues/tags"' in page.text
    page = browser.get("/admin/queues/tags")
    assert page.code == 200
    assert '<a href="/admin/queues/tags" aria-current="page">Tags in use</a>' in page.text
    rows = [(t.name, t.chats) for t in world.operations.all_tags()]
    assert rows == [("fines", 1), ("Renewals", 2)]
    assert '<th scope="row">fines</th>\n          <td>1</td>' in page.text
    assert '<th scope="row">Renewals</th>\n          <td>2</td>' in page.text


def test_renaming_a_tag_keeps_its_chats(ops_world):
    world = ops_world
    chat = world.chat_tagged("renewals")
    browser = world.admin()
    browser.get("/admin/queues/tags")
    page = browser.post("/admin/queues/tags/rename", {"name": "renewals", "new_name": " Loan  renewals "})
    assert page.location == "/admin/queues/tags"
    assert "Renamed the tag renewals to Loan renewals." in browser.follow().text
    assert world.operations.tags(chat.id) == ["Loan renewals"]


@pytest.mark.parametrize(
    "new_name, error",
    [
        ("fines", "A tag named &#39;fines&#39; exists already."),
        ("", "A tag needs a name."),
        ("a<b", "&#39;&lt;&#39; cannot be in a tag"),
        ("x" * 41, "A tag has at most 40 characters."),
    ],
)
def test_a_rename_that_breaks_the_rules_is_refused(ops_world, new_name, error):
    world = ops_world
    chat = world.chat_tagged("renewals", "fines")
    browser = world.admin()
    browser.get("/admin/queues/tags")
    page = browser.post("/admin/queues/tags/rename", {"name": "renewals", "new_name": new_name})
    assert page.code == 400
    assert error in page.text
    assert world.operations.tags(chat.id) == ["fines", "renewals"]


def test_merging_a_tag_moves_its_chats_to_the_other(ops_world):
    world = ops_world
    both = world.chat_tagged("renewal", "renewals")
    one = world.chat_tagged("renewal")
    world.chat_tagged("renewals")
    browser = world.admin()
    browser.get("/admin/queues/tags")
    page = browser.post("/admin/queues/tags/merge", {"name": "renewal", "into": "renewals"})
    assert page.code == 303
    assert "Merged the tag renewal into renewals, now on 3 chats." in browser.follow().text
    assert [(t.name, t.chats) for t in world.operations.all_tags()] == [("renewals", 3)]
    assert world.operations.tags(both.id) == ["renewals"]
    assert world.operations.tags(one.id) == ["renewals"]


def test_merging_into_itself_or_an_unknown_tag_is_refused(ops_world):
    world = ops_world
    world.chat_tagged("renewals")
    browser = world.admin()
    browser.get("/admin/queues/tags")
    page = browser.post("/admin/queues/tags/merge", {"name": "renewals", "into": "Renewals"})
    assert page.code == 400
    assert "A tag cannot be merged into itself." in page.text
    page = browser.post("/admin/queues/tags/merge", {"name": "renewals", "into": "nothing"})
    assert page.code == 400
    assert "No tag &#39;nothing&#39;" in page.text
    assert [(t.name, t.chats) for t in world.operations.all_tags()] == [("renewals", 1)]


def test_deleting_a_tag_says_how_many_chats_lose_it(ops_world):
    world = ops_world
    first = world.chat_tagged("fines", "lost book")
    world.chat_tagged("lost book")
    browser = world.admin()
    page = browser.get("/admin/queues/tags")
    assert 'href="/admin/queues/tags/delete?name=lost+book"' in page.text
    page = browser.get("/admin/queues/tags/delete?name=lost+book")
    assert page.code == 200
    assert "Delete the tag lost book?" in page.text
    assert "2 chats will lose it" in page.text
    assert world.operations.tags(first.id) == ["fines", "lost book"]
    page = browser.post("/admin/queues/tags/delete?name=lost+book")
    assert page.code == 303
    assert "Deleted the tag lost book; 2 chats lost it." in browser.follow().text
    assert world.operations.tags(first.id) == ["fines"]
    assert [t.name for t in world.operations.all_tags()] == ["fines"]


def test_deleting_an_unknown_tag_is_not_found(ops_world):
    browser = ops_world.admin()
    assert browser.get("/admin/queues/tags/delete?name=nothing").code == 404
    browser.get("/admin/queues/tags")
    assert browser.post("/admin/queues/tags/delete?name=nothing").code == 404

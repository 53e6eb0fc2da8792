"""
Tests for L{mcc.store.widgets}: skins, code snippets and their ordered
service levels in SQLite.
"""

import sqlite3

import pytest

from mcc.store import (
    DuplicateSkin,
    DuplicateSnippet,
    ServiceLevel,
    SkinInUse,
    Store,
    UnknownSkin,
    UnknownSnippet,
    schema,
)
from mcc.store.database import open_database

NO_HTML = {"no_javascript": "", "offline": "", "online": ""}


@pytest.fixture
def store():
    store = Store.open(":memory:")
    store.users.add("olive", "pw", now=0)
    yield store
    store.close()


def test_widget_tables_come_with_their_own_migration_step(tmp_path):
    db = open_database(tmp_path / "mcc.sqlite")
    try:
        rows = db.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        assert {"skins", "snippets", "service_levels"} <= {name for (name,) in rows}
        assert "CREATE TABLE skins" in schema.MIGRATIONS[3]
        version = db.conn.execute("SELECT version FROM schema_version").fetchone()[0]
        assert version == len(schema.MIGRATIONS)
    finally:
        db.conn.close()


def test_skins_keep_their_settings_and_sort_by_name(store):
    blue = store.skins.add("Blue", {"title": "Hi", "colour_primary": "#1f56c9"}, now=1)
    store.skins.add("amber", {}, now=2)
    assert store.skins.get(blue.id) == blue
    assert blue.settings == {"title": "Hi", "colour_primary": "#1f56c9"}
    assert [skin.name for skin in store.skins.all()] == ["amber", "Blue"]
    changed = store.skins.update(blue.id, "Navy", {"title": "Hello"})
    assert (changed.name, changed.settings) == ("Navy", {"title": "Hello"})


def test_skin_names_are_unique_in_any_letter_case(store):
    blue = store.skins.add("Blue", {}, now=0)
    grey = store.skins.add("Grey", {}, now=0)
    with pytest.raises(DuplicateSkin) as raised:
        store.skins.add("BLUE", {}, now=0)
    assert str(raised.value) == "a widget named 'BLUE' exists already"
    with pytest.raises(DuplicateSkin):
        store.skins.update(grey.id, "blue", {})
    assert [skin.name for skin in store.skins.all()] == ["Blue", "Grey"]
    assert store.skins.get(blue.id).name == "Blue"


def test_unknown_skin(store):
    for change in (
        lambda: store.skins.get(7),
        lambda: store.skins.update(7, "x", {}),
        lambda: store.skins.remove(7),
    ):
        with pytest.raises(UnknownSkin) as raised:
            change()
        assert str(raised.value) == "no widget 7"


def test_snippets_are_found_by_id_and_public_key(store):
    added = store.snippets.add("k3y", "Shop", "floating", now=1)
    assert added == store.snippets.get(added.id) == store.snippets.by_key("k3y")
    assert (added.key, added.name, added.widget_type, added.levels) == (
        "k3y", "Shop", "floating", ()
    )
    assert (added.no_javascript_html, added.offline_html, added.online_html) == ("", "", "")
    with pytest.raises(UnknownSnippet):
        store.snippets.by_key("K3Y")
    with pytest.raises(DuplicateSnippet) as raised:
        store.snippets.add("other", "SHOP", "popup", now=2)
    assert str(raised.value) == "a code snippet named 'SHOP' exists already"
    with pytest.raises(sqlite3.IntegrityError):
        store.snippets.add("k3y", "Another", "popup", now=2)
    assert store.snippets.count() == 1


def test_widget_types_are_checked_by_the_database(store):
    with pytest.raises(sqlite3.IntegrityError):
        store.snippets.add("k", "Shop", "sideways", now=0)


def test_saving_replaces_the_levels_in_order(store):
    support = store.queues.add("Support", "", now=0)
    blue = store.skins.add("Blue", {}, now=0)
    grey = store.skins.add("Grey", {}, now=0)
    snippet = store.snippets.add("k", "Shop", "floating", now=0)
    html = {"no_javascript": "<p>JS</p>", "offline": "<p>off</p>", "online": "<p>on</p>"}
    saved = store.snippets.save(
        snippet.id, "Shop front", "embedded", html,
        [(None, "olive", grey.id), (support.id, None, blue.id)],
    )
    assert (saved.name, saved.widget_type) == ("Shop front", "embedded")
    assert (saved.no_javascript_html, saved.offline_html, saved.online_html) == (
        "<p>JS</p>", "<p>off</p>", "<p>on</p>"
    )
    assert saved.levels == (
        ServiceLevel(None, None, "olive", grey.id),
        ServiceLevel(support.id, "Support", None, blue.id),
    )
    again = store.snippets.save(snippet.id, "Shop front", "embedded", html, [(support.id, None, grey.id)])
    assert again.levels == (ServiceLevel(support.id, "Support", None, grey.id),)
    assert store.snippets.all() == [again]


def test_a_failed_save_changes_nothing(store):
    blue = store.skins.add("Blue", {}, now=0)
    store.snippets.add("a", "Taken", "floating", now=0)
    snippet = store.snippets.save(
        store.snippets.add("b", "Shop", "floating", now=0).id, "Shop", "floating", NO_HTML,
        [(None, "olive", blue.id)],
    )
    with pytest.raises(DuplicateSnippet):
        store.snippets.save(snippet.id, "taken", "popup", NO_HTML, [])
    with pytest.raises(sqlite3.IntegrityError):
        store.snippets.save(snippet.id, "Shop", "popup", NO_HTML, [(None, "nobody", blue.id)])
    assert store.snippets.get(snippet.id) == snippet
    with pytest.raises(UnknownSnippet):
        store.snippets.save(99, "Gone", "popup", NO_HTML, [])


def test_levels_go_with_their_queue_user_or_snippet(store):
    support = store.queues.add("Support", "", now=0)
    blue = store.skins.add("Blue", {}, now=0)
    snippet = store.snippets.add("k", "Shop", "floating", now=0)
    store.snippets.save(
        snippet.id, "Shop", "floating", NO_HTML, [(support.id, None, blue.id), (None, "olive", blue.id)]
    )
    store.queues.remove(support.id)
    assert [level.username for level in store.snippets.get(snippet.id).levels] == ["olive"]
    store.users.remove("olive")
    assert store.snippets.get(snippet.id).levels == ()
    store.snippets.save(snippet.id, "Shop", "floating", NO_HTML, [])
    store.snippets.remove(snippet.id)
    assert store.snippets.all() == []
    with pytest.raises(UnknownSnippet):
        store.snippets.remove(snippet.id)


def test_a_skin_that_levels_show_cannot_be_removed(store):
    blue = store.skins.add("Blue", {}, now=0)
    for key, name in (("a", "Shop"), ("b", "Blog")):
        snippet = store.snippets.add(key, name, "floating", now=0)
        store.snippets.save(snippet.id, name, "floating", NO_HTML, [(None, "olive", blue.id)])
    with pytest.raises(SkinInUse) as raised:
        store.skins.remove(blue.id)
    assert str(raised.value) == "the widget 'Blue' is used by the code snippet Blog, Shop"
    with pytest.raises(sqlite3.IntegrityError):
        store.db.conn.execute("DELETE FROM skins WHERE id = ?", (blue.id,))
    for snippet in store.snippets.all():
        store.snippets.remove(snippet.id)
    store.skins.remove(blue.id)
    assert store.skins.all() == []

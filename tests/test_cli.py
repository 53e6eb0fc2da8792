"""
Tests for L{mcc.cli}: the C{mcc user} commands on a temporary data dir.
"""

import io

import pytest

from mcc.cli import main
from mcc.store import Store


class Prompt:
    """
    Stands for C{getpass}: gives C{replies} in turn and notes the questions;
    with no replies left the test fails instead of waiting for a terminal.
    """

    def __init__(self, *replies):
        self.replies = list(replies)
        self.asked = []

    def __call__(self, question):
        self.asked.append(question)
        assert self.replies, f"unexpected prompt {question!r}"
        return self.replies.pop(0)


@pytest.fixture
def run(tmp_path):
    """
    Run C{mcc --data-dir DIR ARGS...}; return the exit status, stdout, stderr.
    """

    def run(*arguments, prompt=None):
        out, err = io.StringIO(), io.StringIO()
        status = main(
            ["--data-dir", str(tmp_path / "data"), *arguments],
            out=out,
            err=err,
            prompt=prompt or Prompt(),
        )
        return status, out.getvalue(), err.getvalue()

    return run


@pytest.fixture
def stored(tmp_path):
    """
    The accounts in the data dir: name -> (is_admin, disabled, salt).
    """

    def stored():
        store = Store.open(tmp_path / "data" / "mcc.sqlite")
        try:
            return {
                user.username: (user.is_admin, user.disabled, user.credentials.salt)
                for user in store.users.all()
            }
        finally:
            store.close()

    return stored


def password_of(tmp_path, name):
    store = Store.open(tmp_path / "data" / "mcc.sqlite")
    try:
        return store.users.get(name).credentials
    finally:
        store.close()


def test_add_and_list(run, tmp_path):
    assert run("user", "add", "alice", "--admin", "--password", "wonderland") == (
        0,
        "added alice (administrator)\n",
        "",
    )
    assert run("user", "add", "bob", "--password", "builder") == (0, "added bob\n", "")
    assert run("user", "list") == (0, "alice  admin\nbob\n", "")
    assert password_of(tmp_path, "alice").verify("wonderland")


def test_data_dir_after_the_action(tmp_path):
    out = io.StringIO()
    data = tmp_path / "elsewhere"
    assert main(["user", "add", "alice", "--password", "pw", "--data-dir", str(data)], out=out) == 0
    assert (data / "mcc.sqlite").exists()


def test_list_of_an_empty_data_dir(run):
    assert run("user", "list") == (0, "", "")


def test_added_name_is_reported_as_stored(run, stored):
    assert run("user", "add", "Alice", "--password", "pw") == (0, "added alice\n", "")
    assert list(stored()) == ["alice"]


@pytest.mark.parametrize("name", ["al ice", "alice@example.org", "a/b"])
def test_invalid_name(run, stored, name):
    status, out, err = run("user", "add", name, "--password", "pw")
    assert (status, out) == (1, "")
    assert err.startswith(f"mcc: {name!r} cannot be an XMPP username")
    assert stored() == {}


def test_empty_password_is_refused(run, stored):
    assert run("user", "add", "alice", "--password", "") == (
        1,
        "",
        "mcc: the password cannot be empty\n",
    )
    assert stored() == {}


def test_password_saslprep_refuses_is_refused(run, stored):
    status, out, err = run("user", "add", "bob", "--password", "a\x07b")
    assert (status, out) == (1, "")
    assert err == "mcc: the password cannot be used with XMPP: control characters forbidden\n"
    assert stored() == {}
    run("user", "add", "bob", "--password", "pw")
    before = stored()
    status, _, err = run("user", "passwd", "bob", "--password", "a\x07b")
    assert status == 1 and "cannot be used with XMPP" in err
    assert stored() == before


def test_duplicate_name(run, stored):
    run("user", "add", "alice", "--password", "first")
    before = stored()
    assert run("user", "add", "ALICE", "--admin", "--password", "second") == (
        1,
        "",
        "mcc: a user named 'alice' exists already\n",
    )
    assert stored() == before


def test_passwd(run, tmp_path):
    run("user", "add", "alice", "--password", "old")
    assert run("user", "passwd", "Alice", "--password", "new") == (
        0,
        "password of alice changed\n",
        "",
    )
    credentials = password_of(tmp_path, "alice")
    assert credentials.verify("new") and not credentials.verify("old")


def test_add_asks_for_the_password_twice(run, tmp_path):
    prompt = Prompt("wonderland", "wonderland")
    assert run("user", "add", "alice", prompt=prompt) == (0, "added alice\n", "")
    assert prompt.asked == ["Password: ", "Repeat password: "]
    assert password_of(tmp_path, "alice").verify("wonderland")


def test_add_with_a_mistyped_repetition_adds_nothing(run, stored):
    prompt = Prompt("wonderland", "wonderlnad")
    assert run("user", "add", "alice", prompt=prompt) == (1, "", "mcc: the passwords differ\n")
    assert stored() == {}


def test_add_with_an_empty_prompted_password_adds_nothing(run, stored):
    assert run("user", "add", "alice", prompt=Prompt("", "")) == (
        1,
        "",
        "mcc: the password cannot be empty\n",
    )
    assert stored() == {}


def test_passwd_asks_for_the_password_twice(run, tmp_path):
    run("user", "add", "alice", "--password", "old")
    prompt = Prompt("new", "new")
    assert run("user", "passwd", "alice", prompt=prompt) == (0, "password of alice changed\n", "")
    assert prompt.asked == ["Password: ", "Repeat password: "]
    assert password_of(tmp_path, "alice").verify("new")


def test_passwd_with_a_mistyped_repetition_changes_nothing(run, tmp_path):
    run("user", "add", "alice", "--password", "old")
    prompt = Prompt("new", "mew")
    assert run("user", "passwd", "alice", prompt=prompt) == (1, "", "mcc: the passwords differ\n")
    assert password_of(tmp_path, "alice").verify("old")


def test_passwd_of_an_unknown_user(run, stored):
    run("user", "add", "alice", "--password", "pw")
    before = stored()
    assert run("user", "passwd", "bob", "--password", "new") == (
        1,
        "",
        "mcc: no user named 'bob'\n",
    )
    assert stored() == before


def test_passwd_refuses_an_empty_password(run, stored):
    run("user", "add", "alice", "--password", "pw")
    before = stored()
    assert run("user", "passwd", "alice", "--password", "")[0] == 1
    assert stored() == before


def test_remove(run, stored):
    run("user", "add", "alice", "--password", "pw")
    run("user", "add", "bob", "--password", "pw")
    assert run("user", "remove", "ALICE") == (0, "removed alice\n", "")
    assert list(stored()) == ["bob"]


def test_remove_an_unknown_user(run, stored):
    run("user", "add", "alice", "--password", "pw")
    before = stored()
    assert run("user", "remove", "bob") == (1, "", "mcc: no user named 'bob'\n")
    assert stored() == before


def test_usage_errors_exit_with_status_2(run, capsys):
    for arguments in (["user"], ["user", "add"], ["group", "list"]):
        with pytest.raises(SystemExit) as exit:
            run(*arguments)
        assert exit.value.code == 2
    assert "usage: mcc" in capsys.readouterr().err


def test_the_account_rules_apply(run, stored):
    assert run("user", "add", "root", "--admin", "--password", "pw")[0] == 0
    status, _, err = run("user", "remove", "root")
    assert status == 1 and "only enabled administrator" in err
    status, _, err = run("user", "add", "eve", "--password", "pw", "--email", "not-an-address")
    assert status == 1 and "e-mail" in err
    assert set(stored()) == {"root"}

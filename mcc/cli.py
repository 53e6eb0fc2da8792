# -*- test-case-name: tests.test_cli -*-
"""
The C{mcc} command: account operations on a data dir, like prosodyctl.

    mcc user add NAME [--admin] [--password P]
    mcc user passwd NAME [--password P]
    mcc user list
    mcc user remove NAME
"""

import argparse
import getpass
import sys
from pathlib import Path

from twisted.python.runtime import seconds

from mcc import datadir
from mcc.config import Config
from mcc.routing.accounts import AccountError, Accounts
from mcc.store import DuplicateUser, PasswordError, Store, UnknownUser, UsernameError


class _WallClock:
    """
    The time, for the account rules, without starting a reactor.
    """

    seconds = staticmethod(seconds)


class CommandError(Exception):
    """
    A problem to report in one line, exiting with status 1.
    """


def _new_password(arguments):
    if arguments.password is not None:
        password = arguments.password
    else:
        password = arguments.prompt("Password: ")
        if arguments.prompt("Repeat password: ") != password:
            raise CommandError("the passwords differ")
    if not password:
        raise CommandError("the password cannot be empty")
    return password


def user_add(accounts, arguments, out):
    user = accounts.add(
        arguments.name,
        _new_password(arguments),
        is_admin=arguments.admin,
        display_name=arguments.display_name,
        email=arguments.email,
    )
    # The stored name, which is the account's JID: "Alice" becomes "alice".
    out.write(f"added {user.username}{' (administrator)' if user.is_admin else ''}\n")


def user_passwd(accounts, arguments, out):
    name = accounts.get(arguments.name).username
    accounts.reset_password(name, _new_password(arguments))
    out.write(f"password of {name} changed\n")


def user_list(accounts, arguments, out):
    for user in accounts.all():
        flags = [flag for flag, on in (("admin", user.is_admin), ("disabled", user.disabled)) if on]
        out.write(f"{user.username}{'  ' + ','.join(flags) if flags else ''}\n")


def user_remove(accounts, arguments, out):
    name = accounts.get(arguments.name).username
    accounts.remove(name)
    out.write(f"removed {name}\n")


def _parser():
    parser = argparse.ArgumentParser(prog="mcc", description="Manage an mcc data dir.")
    parser.add_argument(
        "--data-dir", type=Path, default=Config.data_dir, help=f"default: {Config.data_dir}"
    )
    commands = parser.add_subparsers(dest="area", required=True)
    user = commands.add_parser("user", help="XMPP accounts of operators and admins")
    actions = user.add_subparsers(dest="action", required=True)

    add = actions.add_parser("add", help="create an account")
    add.add_argument("name")
    add.add_argument("--admin", action="store_true", help="may use the admin site")
    add.add_argument("--password", help="prompted for when absent")
    add.add_argument("--display-name", default="")
    add.add_argument("--email", default="")
    add.set_defaults(run=user_add)

    passwd = actions.add_parser("passwd", help="set a new password")
    passwd.add_argument("name")
    passwd.add_argument("--password", help="prompted for when absent")
    passwd.set_defaults(run=user_passwd)

    listing = actions.add_parser("list", help="list accounts")
    listing.set_defaults(run=user_list)

    remove = actions.add_parser("remove", help="delete an account")
    remove.add_argument("name")
    remove.set_defaults(run=user_remove)
    for sub in (add, passwd, listing, remove):
        sub.add_argument("--data-dir", type=Path, default=argparse.SUPPRESS)
    return parser


def main(argv=None, out=sys.stdout, err=sys.stderr, prompt=getpass.getpass):
    """
    Run the command C{argv}; C{prompt} asks for passwords not given with
    C{--password}, without echoing them.
    """
    arguments = _parser().parse_args(argv)
    arguments.prompt = prompt
    config = Config(data_dir=arguments.data_dir)
    # The service's lock is not taken: this works beside the running service.
    datadir.create(config.data_dir)
    store = Store.open(config.database_path)
    try:
        arguments.run(Accounts(store, _WallClock()), arguments, out)
    except (
        CommandError, AccountError, PasswordError, UsernameError, DuplicateUser, UnknownUser
    ) as problem:
        err.write(f"mcc: {problem}\n")
        return 1
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

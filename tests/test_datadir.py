"""
Tests for L{mcc.datadir}: a private data dir, used by one service at a time.
"""

import os
import stat

import pytest

from mcc import datadir
from mcc.datadir import DataDirInUse, ServiceLock
from mcc.store import Store


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_data_dir_is_private(tmp_path):
    path = tmp_path / "a" / "data"
    datadir.create(path)
    assert mode(path) == 0o700


def test_an_existing_data_dir_open_to_others_is_made_private(tmp_path):
    path = tmp_path / "data"
    path.mkdir(mode=0o755)
    os.chmod(path, 0o755)
    datadir.create(path)
    assert mode(path) == 0o700


def test_the_database_and_its_wal_and_shm_are_private(tmp_path):
    old = os.umask(0o022)
    try:
        store = Store.open(tmp_path / "mcc.sqlite")
        store.users.add("alice", "secret", now=0)
        try:
            for name in ("mcc.sqlite", "mcc.sqlite-wal", "mcc.sqlite-shm"):
                assert mode(tmp_path / name) == 0o600, name
        finally:
            store.close()
    finally:
        os.umask(old)


def test_a_locked_data_dir_cannot_be_locked_again_until_released(tmp_path):
    lock = ServiceLock.acquire(tmp_path)
    with pytest.raises(DataDirInUse, match=f"{tmp_path} is in use"):
        ServiceLock.acquire(tmp_path)
    lock.release()
    ServiceLock.acquire(tmp_path).release()
    assert mode(tmp_path / datadir.LOCK_FILE) == 0o600


def test_the_database_opens_beside_a_locked_data_dir(tmp_path):
    """
    The lock is the service's alone: the C{mcc} command still opens the
    database.
    """
    lock = ServiceLock.acquire(tmp_path)
    try:
        Store.open(tmp_path / "mcc.sqlite").close()
    finally:
        lock.release()

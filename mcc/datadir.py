# -*- test-case-name: tests.test_datadir -*-
"""
The data dir: private to the account that runs mcc, and used by one
C{twistd mcc} at a time.

It holds SCRAM keys, visitors' messages and the TLS key, so it is created
0700 and its files 0600.  The service holds an exclusive lock on
C{service.lock} inside it for as long as the process lives; a second service
on the same dir refuses to start instead of running chat timers against the
shared database.  The C{mcc} command does not take the lock: it works beside
the running service, through SQLite's own locking.
"""

import fcntl
import os
import stat

LOCK_FILE = "service.lock"


class DataDirInUse(Exception):
    """
    Another process holds the data dir's lock.
    """


def create(path):
    """
    Create the data dir C{path}, 0700, unless it exists; an existing one
    open to others is made private, when it is ours.
    """
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    status = path.stat()
    if status.st_uid == os.getuid() and stat.S_IMODE(status.st_mode) & 0o077:
        path.chmod(stat.S_IMODE(status.st_mode) & 0o700)


class ServiceLock:
    """
    The exclusive lock of a data dir, held while the file stays open: the
    kernel lets it go when the process ends, however it ends.
    """

    def __init__(self, descriptor):
        self._descriptor = descriptor

    @classmethod
    def acquire(cls, data_dir):
        """
        Lock C{data_dir}, or raise L{DataDirInUse}.
        """
        path = data_dir / LOCK_FILE
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            raise DataDirInUse(
                f"the data dir {data_dir} is in use: another twistd mcc holds {path}"
            ) from None
        return cls(descriptor)

    def release(self):
        if self._descriptor is not None:
            os.close(self._descriptor)
            self._descriptor = None

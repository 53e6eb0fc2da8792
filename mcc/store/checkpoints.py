# -*- test-case-name: tests.test_store -*-
"""
WAL checkpoints in a thread, so that no commit of the service stops its
thread to copy the WAL into the database file.
"""

from twisted.application.internet import TimerService
from twisted.logger import Logger

from mcc.store.database import WALCheckpointer

log = Logger()

INTERVAL = 1.0
"""
Seconds between two checkpoints while rows are being written: the WAL
then holds about a second of writes.
"""


class Checkpoints(TimerService):
    """
    Every C{interval} seconds of C{clock}, when C{changes()} moved since the
    last time, checkpoint the database at C{path} (a L{WALCheckpointer}) through
    C{run_in_thread(function, *args)}, which returns a Deferred.  The next
    checkpoint waits for the previous one; one that fails is logged and the
    next is tried as usual.

    The service's own connection must have been opened with
    C{background_checkpoints} (see L{mcc.store.database.open_database}).
    """

    def __init__(self, path, changes, run_in_thread, clock, interval=INTERVAL):
        TimerService.__init__(self, interval, self.checkpoint_if_written)
        self.clock = clock
        self._path = path
        self.checkpointer = WALCheckpointer(path)
        self._changes = changes
        self._run_in_thread = run_in_thread
        self._checkpointed = None

    def checkpoint_if_written(self):
        changes = self._changes()
        if changes == self._checkpointed:
            return None
        self._checkpointed = changes
        return self._run_in_thread(self.checkpointer).addErrback(self._failed)

    def stopService(self):
        stopped = TimerService.stopService(self)

        def close(result):
            self.checkpointer.close()
            return result

        return stopped.addBoth(close) if stopped is not None else close(None)

    def _failed(self, reason):
        log.failure("WAL checkpoint of {path} failed", reason, path=str(self._path))

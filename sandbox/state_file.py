"""Keeping an ERP sandbox's state in a file across restarts (``--state-file``).

A convenience of the sandboxes for ``make demo``, not a behaviour of any ERP's API: the real
systems keep their data in their own databases.  The state object is pickled (its lock left
out) to a temporary file and moved into place with ``os.replace``, so the file is always a
whole snapshot.  A background thread writes a snapshot within about a second of a change
(``StateFile.changed``), and :meth:`StateFile.close` writes the last one at shutdown;
a process killed with SIGKILL loses at most the changes of that last second.
"""
from __future__ import annotations

import logging
import os
import pickle
import threading
from pathlib import Path
from typing import Any, Callable

log = logging.getLogger("sandbox.state_file")


class StateFile:
    """Load ``path`` once at start; save ``snapshot()`` after changes and at close."""

    def __init__(self, path: Path, lock: Any, snapshot: Callable[[], Any],
                 interval: float = 1.0) -> None:
        self.path, self.lock, self.snapshot, self.interval = path, lock, snapshot, interval
        self._changes = 0
        self._saved = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def load(self) -> Any | None:
        """The saved snapshot, or None when there is no file yet."""
        if not self.path.exists():
            return None
        with open(self.path, "rb") as fh:
            value = pickle.load(fh)
        log.info("state restored from %s", self.path)
        return value

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="state-file", daemon=True)
        self._thread.start()

    def changed(self) -> None:
        self._changes += 1

    def save(self) -> None:
        with self.lock:
            changes = self._changes
            data = pickle.dumps(self.snapshot(), protocol=pickle.HIGHEST_PROTOCOL)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        self._saved = changes

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):  # a server's housekeeping period
            if self._changes != self._saved:
                try:
                    self.save()
                except Exception:  # keep serving; the next change retries
                    log.exception("could not save the state to %s", self.path)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._changes != self._saved or not self.path.exists():
            self.save()

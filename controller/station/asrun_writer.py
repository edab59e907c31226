"""The engine's way of writing the as-run record: never on the event loop, never fatal.

Writes go into an in-memory queue and are applied in order by one writer thread on a
connection of its own. A write that fails (disk full, database locked by another process,
I/O error) is kept and retried with backoff while a health fault says so; the airing goes on
and its relays switch exactly as planned (DESIGN.md §2.10: safe state first, record second).
Reads the engine needs to decide (which airings it already handled) are answered from memory
where the database cannot answer in time.
"""

from __future__ import annotations

import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from controller.core.clock import Alarm, Clock, SystemClock, waiting
from controller.core.dbguard import mark_database
from controller.records.asrun_store import AsRunRow, Outcome, Store

log = logging.getLogger(__name__)
T = TypeVar("T")

_BACKOFF_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0)
_FLUSH_S = 5.0  # at shutdown: how long the record may take to reach the disk


@dataclass(frozen=True)
class RecordFault:
    """Why the record is not reaching the disk (or the database file is not where it was)."""

    message: str
    since: datetime
    pending: int


class AsRunJournal:
    """The Store's interface for the engine: writes queued and retried, reads that never raise."""

    def __init__(
        self,
        path: Path,
        store_factory: Callable[[Path, Clock], Store] = Store,
        clock: Clock | None = None,
    ) -> None:
        self.path = path
        self._clock = clock or SystemClock()
        self._reader = store_factory(path, self._clock)
        # Its own connection (a busy wait blocks only it); it stamps rows with our clock.
        self._writer = store_factory(path, self._clock)
        mark_database(path)  # from now on a vanished file is noticed at start-up (dbguard)
        self._queue: queue.Queue[tuple[str, tuple[Any, ...], dict[str, Any]] | None] = queue.Queue()
        self._pending = 0
        self._idle = threading.Condition()
        self._busy: Alarm | None = None  # held while writes are queued: a virtual clock waits
        self._fault: tuple[str, datetime] | None = None
        self._file_fault: str | None = None
        self._opened: dict[str, datetime] = {}  # airing id → planned end, written by us
        self._inode = _inode(path)
        self._closing = False
        self._wake = threading.Event()  # cuts a retry's backoff short at shutdown
        # Told of every close (airing id, outcome, reason), on the caller's thread: the
        # notifier's alerts for missed and failed airings. An observer must not block.
        self.on_close: list[Callable[[str, str, str], None]] = []
        self._thread = threading.Thread(target=self._drain, name="as-run writer", daemon=True)
        self._thread.start()

    # -- writes: queued, in order ----------------------------------------------------------------

    def open_rows(self, airing_id: str, slot: str, playlist: str, start: datetime,
                  end: datetime, zones: list[tuple[str, datetime]], **kw: Any) -> None:  # fmt: skip
        self._opened[airing_id] = end
        self._put("open_rows", (airing_id, slot, playlist, start, end, zones), kw)

    def update(self, airing_id: str, zones: list[str] | None = None, **fields: Any) -> None:
        self._put("update", (airing_id, zones), fields)

    def close_open(self, airing_id: str, outcome: Outcome, reason: str,
                   zones: list[str] | None = None, **fields: Any) -> None:  # fmt: skip
        self._put("close_open", (airing_id, outcome, reason, zones), fields)
        for observer in self.on_close:
            try:
                observer(airing_id, outcome, reason)
            except Exception:  # an observer's fault is never the record's
                log.exception("as-run close observer failed")

    def set_state(self, key: str, value: str) -> None:
        self._put("set_state", (key, value), {})

    def reopen_after_shutdown(self, airing_id: str) -> None:
        self._put("reopen_after_shutdown", (airing_id,), {})

    # -- reads: from the database, or from memory when it cannot answer ------------------------

    def known_airings(self, since: datetime) -> set[str]:
        ours = {a for a, end in self._opened.items() if end >= since}
        return ours | self._read(lambda s: s.known_airings(since), set[str]())

    def segment_rows(self, airing_id: str) -> list[AsRunRow]:
        return self._read(lambda s: s.segment_rows(airing_id), [])

    def rows(self, airing_id: str) -> list[AsRunRow]:
        return self._read(lambda s: s.rows(airing_id), [])

    def preempted_open(self, now: datetime) -> list[str]:
        return self._read(lambda s: s.preempted_open(now), [])

    def open_airings(self) -> list[str]:
        return self._read(lambda s: s.open_airings(), [])

    def closed_by_shutdown(self, now: datetime) -> list[str]:
        return self._read(lambda s: s.closed_by_shutdown(now), [])

    def get_state(self, key: str) -> str | None:
        return self._read(lambda s: s.get_state(key), None)

    def between(self, begin: datetime, until: datetime) -> list[AsRunRow]:
        return self._read(lambda s: s.between(begin, until), [])

    # -- health and life cycle --------------------------------------------------------------------

    def fault(self) -> RecordFault | None:
        """The record's health: None while every write has reached the database file."""
        self.check_file()
        fault = self._fault
        if self._file_fault is not None:
            return RecordFault(
                self._file_fault, fault[1] if fault else self._clock.now(), self._pending
            )
        if fault is None:
            return None
        return RecordFault(fault[0], fault[1], self._pending)

    def check_file(self) -> None:
        """Notice a database file that was deleted or replaced while we run."""
        now = _inode(self.path)
        if now == self._inode:
            self._file_fault = None
            return
        message = (
            f"数据库文件已被删除或替换，重启后将丢失数据：{self.path} / the database file was "
            "deleted or replaced while running; what was written since is lost at a restart"
        )
        if self._file_fault is None:
            log.critical("%s", message)
        self._file_fault = message

    def flush(self, timeout: float = _FLUSH_S) -> bool:
        """Wait until every queued write is in the database; False if it did not get there."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def close(self) -> None:
        if not self.flush():
            log.error("as-run record: %d write(s) could not be saved at shutdown", self._pending)
        self._closing = True
        self._wake.set()
        self._queue.put(None)
        self._thread.join(timeout=1.0)
        self._reader.close()
        if not self._thread.is_alive():
            self._writer.close()

    # -- the writer thread ------------------------------------------------------------------------

    def _put(self, name: str, args: tuple[Any, ...], kw: dict[str, Any]) -> None:
        with self._idle:
            if self._pending == 0:
                self._busy = waiting(self._clock).alarm()
            self._pending += 1
        self._queue.put((name, args, kw))

    def _drain(self) -> None:
        while (item := self._queue.get()) is not None:
            name, args, kw = item
            attempt = 0
            while True:
                try:
                    getattr(self._writer, name)(*args, **kw)
                    break
                except ValueError as exc:  # never possible (a time without an offset): said
                    log.error("as-run record: write %s refused: %s", name, exc)
                    break
                except (sqlite3.Error, OSError) as exc:
                    self._failed(name, exc, attempt)
                    if self._closing and attempt >= 2:
                        log.error("as-run record: write %s lost at shutdown: %s", name, exc)
                        break
                    self._wake.wait(_BACKOFF_S[min(attempt, len(_BACKOFF_S) - 1)])
                    attempt += 1
            if attempt and self._fault is not None:
                log.warning("as-run record: writes reach the database again")
            with self._idle:
                self._pending -= 1
                if self._pending == 0:
                    self._fault = None
                    if self._busy is not None:
                        self._busy.close()
                self._idle.notify_all()

    def _failed(self, name: str, exc: BaseException, attempt: int) -> None:
        message = (
            f"播出记录写入失败，已暂存内存并重试：{exc} / as-run record write ({name}) failed, "
            f"kept in memory and retried: {exc}"
        )
        if self._fault is None:
            self._fault = (message, self._clock.now())
        if attempt in (0, 5) or attempt % 50 == 0:
            log.error("%s (attempt %d)", message, attempt + 1)

    def _read(self, read: Callable[[Store], T], fallback: T) -> T:
        try:
            return read(self._reader)
        except (sqlite3.Error, OSError) as exc:
            log.error("as-run record read failed, answering from memory: %s", exc)
            return fallback


def _inode(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino

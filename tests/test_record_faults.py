"""Database trouble never reaches the loudspeakers (issue 9, item 4): a full disk, a database
locked by another process, a database file deleted while running. The airing goes on, the
relays switch on time, the record is kept in memory and written once the database is back."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from peers.daemon import SH, StationDir
from peers.fake_station import slot, two_zone_station

from controller.config import load_config
from controller.core.dbguard import DatabaseVanished, check_database
from controller.engine.parts import EngineParts, build_engine
from controller.engine.status import station_status
from controller.station.asrun_writer import AsRunJournal
from drivers.relays.fake import FakeRelay


def write_station(root: Path, start: datetime, seconds: float) -> StationDir:
    return two_zone_station(root, [slot("午间", start, seconds)], min_join_s=1)


async def until(moment: datetime) -> None:
    await asyncio.sleep(max((moment - datetime.now(SH)).total_seconds(), 0.0))


class LoopLag:
    """The event loop's worst lateness while it runs: a blocked loop shows here."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(0.01)
            self.worst = max(self.worst, time.monotonic() - before - 0.01)

    def __enter__(self) -> LoopLag:
        self._task = asyncio.get_running_loop().create_task(self._tick())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


def relay_off_times(fake: FakeRelay) -> dict[int, float]:
    return {c.channel: c.at for c in fake.commands if not c.on}


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MB tmpfs (root only); skipped where mounting is not allowed."""
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], capture_output=True
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    filler = disk / "filler"
    with filler.open("wb") as f, contextlib.suppress(OSError):
        while True:
            f.write(b"\0" * 65536)
            f.flush()
    return filler


def test_disk_full_mid_airing_the_airing_ends_on_time_and_the_record_lands_later(
    small_disk: Path,
) -> None:
    start = datetime.now(SH).replace(microsecond=0) + timedelta(seconds=3)
    station = write_station(small_disk / "station", start, 2.0)

    async def scenario() -> tuple[EngineParts, dict[str, object], float, float]:
        svc = build_engine(load_config(station.root / "config.yaml"))
        await svc.start()
        await until(start + timedelta(seconds=0.3))
        filler = fill(small_disk)  # the disk is full while the airing is on air
        with LoopLag() as lag:
            await until(start + timedelta(seconds=3))  # the airing's end and its postroll
        during = station_status(svc)["record"]
        assert isinstance(during, dict)
        filler.unlink()  # space again: the kept writes reach the database
        assert svc.journal.flush(10)
        after_ok = svc.journal.fault() is None
        await svc.stop()
        return svc, during, lag.worst, float(after_ok)

    svc, during, worst_lag, after_ok = asyncio.run(scenario())
    fake = svc.relays["v"]
    assert isinstance(fake, FakeRelay)
    assert during["ok"] is False and "full" in str(during["fault"]).lower()
    assert after_ok == 1.0
    assert worst_lag < 0.5  # generous: the loop never waited for the disk
    offs = relay_off_times(fake)
    assert set(offs) == {1, 2, 3}  # every zone and the amplifier went off
    rows = {r["zone"]: r for r in station.rows()}
    assert {z: r["outcome"] for z, r in rows.items()} == {"east": "aired", "west": "aired"}
    assert all(r["audio_start"] and r["frames"] == 2 * 48000 for r in rows.values())


def _hold_write_lock(db: Path, seconds: float) -> subprocess.Popen[bytes]:
    code = (
        "import sqlite3,sys,time\n"
        f"c=sqlite3.connect({str(db)!r}, isolation_level=None)\n"
        "c.execute('BEGIN IMMEDIATE'); print('locked', flush=True)\n"
        f"time.sleep({seconds}); c.execute('ROLLBACK')\n"
    )
    proc = subprocess.Popen(["python3", "-c", code], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == b"locked"
    return proc


def test_a_database_locked_by_another_process_does_not_touch_the_air(tmp_path: Path) -> None:
    start = datetime.now(SH).replace(microsecond=0) + timedelta(seconds=3)
    station = write_station(tmp_path, start, 2.0)

    async def scenario() -> tuple[EngineParts, float, bool]:
        svc = build_engine(load_config(station.root / "config.yaml"))
        await svc.start()
        await until(start - timedelta(seconds=1.5))
        with LoopLag() as lag:
            # locked from before the switch-on (start - 0.5 s) until after the postroll
            holder = await asyncio.to_thread(_hold_write_lock, station.db, 4.5)
            await until(start + timedelta(seconds=2.5))
            faulty = svc.journal.fault() is not None  # writes are waiting for the lock
        await asyncio.to_thread(holder.wait)
        assert holder.stdout is not None
        holder.stdout.close()
        assert svc.journal.flush(10)
        await svc.stop()
        return svc, lag.worst, faulty

    _, worst_lag, _ = asyncio.run(scenario())
    assert worst_lag < 0.5
    rows = {r["zone"]: r for r in station.rows()}
    assert {z: r["outcome"] for z, r in rows.items()} == {"east": "aired", "west": "aired"}
    assert all(r["frames"] == 2 * 48000 and r["relay_off"] == "confirmed" for r in rows.values())


def test_a_deleted_database_is_a_fault_and_a_restart_refuses_to_start_afresh(
    tmp_path: Path,
) -> None:
    db = tmp_path / "var" / "broadcastctl.sqlite3"
    check_database(db)  # a fresh install: nothing to miss
    journal = AsRunJournal(db)
    try:
        assert journal.fault() is None
        os.unlink(db)
        fault = journal.fault()
        assert fault is not None and "删除" in fault.message
    finally:
        journal.close()
    with pytest.raises(DatabaseVanished, match="--new-database"):
        check_database(db)
    check_database(db, allow_new=True)  # the operator's explicit word


def test_reads_that_fail_answer_from_memory() -> None:
    class Broken:
        def known_airings(self, since: datetime) -> set[str]:
            raise sqlite3.DatabaseError("database disk image is malformed")

    journal = AsRunJournal.__new__(AsRunJournal)
    journal._reader = Broken()  # type: ignore[assignment]
    journal._opened = {"a|x": datetime(2030, 1, 1, tzinfo=SH)}
    assert journal.known_airings(datetime(2029, 1, 1, tzinfo=SH)) == {"a|x"}

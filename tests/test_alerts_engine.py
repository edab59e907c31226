"""The notifier inside the engine: a relay that does not confirm and the airing that fails on
it reach the webhook, and a webhook that never answers delays nothing on the air."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path

import yaml
from alert_receivers import Receiver
from clocks import VirtualClock
from peers.daemon import SH
from peers.fake_station import slot, two_zone_station

from controller.config import load_config
from controller.core.instants import from_stored
from controller.engine.parts import build_engine
from drivers.relays.fake import FakeRelay


def _station(tmp: Path, start: datetime, url: str) -> Path:
    station = two_zone_station(tmp, [slot("午间", start, 20)])
    path = station.root / "config.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["alerts"] = {"channels": [{"name": "ops", "type": "webhook", "url": url,
                                    "timeout_s": 30}]}  # fmt: skip
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_a_hung_webhook_delays_no_relay_and_no_record_write(tmp_path: Path) -> None:
    hung = Receiver(hang=True)  # takes the request, never answers (for 60 s)
    clock = VirtualClock()
    start = clock.now().astimezone(SH) + timedelta(seconds=5)
    loaded = load_config(_station(tmp_path, start, hung.url))
    began = time.monotonic()

    async def scenario() -> None:
        parts = build_engine(loaded, clock=clock)
        relay = parts.relays["v"]
        assert isinstance(relay, FakeRelay)
        relay.failing_channels.add(2)  # west does not confirm: alerts while east airs
        await parts.start()
        await clock.wait_wall(start + timedelta(seconds=30))
        await parts.stop()

    try:
        clock.run(scenario())
        elapsed = time.monotonic() - began
        assert len(hung.wait_for(1)) >= 1  # the first alert is stuck in the hung receiver
    finally:
        hung.close()
    # 35 s of station time, a 30 s send timeout and a receiver hung for 60: the run took
    # only the time the work takes, and the stop did not wait for the send.
    assert elapsed < 15, elapsed
    from controller.records.asrun_store import Store

    store = Store(tmp_path / "var" / "broadcastctl.sqlite3")
    rows = {r.zone: r for r in store.between(start - timedelta(hours=1), start + timedelta(1))}
    store.close()
    east, west = rows["east"], rows["west"]
    assert east.outcome == "aired" and west.outcome == "failed"
    assert east.audio_start is not None and east.relay_on_at is not None
    late = (east.audio_start - start).total_seconds()
    assert 0 <= late < 0.05, late
    assert east.relay_on_at <= start - timedelta(seconds=0.4)  # preroll 0.5 s
    outbox_rows = _alerts(tmp_path)
    assert {"relay_unconfirmed", "slot_failed"} <= {kind for kind, _ in outbox_rows}


def test_a_failed_zone_reaches_the_webhook(tmp_path: Path) -> None:
    receiver = Receiver()
    clock = VirtualClock()
    start = clock.now().astimezone(SH) + timedelta(seconds=5)
    loaded = load_config(_station(tmp_path, start, receiver.url))

    async def scenario() -> None:
        parts = build_engine(loaded, clock=clock)
        relay = parts.relays["v"]
        assert isinstance(relay, FakeRelay)
        relay.failing_channels.add(2)
        await parts.start()
        await clock.wait_wall(start + timedelta(seconds=25))
        deadline = time.monotonic() + 10  # the sends are real: let them land
        while len(receiver.received) < 2 and time.monotonic() < deadline:
            await clock.sleep(1)
        await parts.stop()

    try:
        clock.run(scenario())
        got = receiver.wait_for(2)
    finally:
        receiver.close()
    kinds = {r.body["kind"] for r in got}
    assert {"relay_unconfirmed", "slot_failed"} <= kinds
    failed = next(r.body for r in got if r.body["kind"] == "slot_failed")
    assert failed["text"].startswith("播出失败：") and "继电器未确认" in failed["text"]
    assert from_stored(_alerts(tmp_path)[0][1]).tzinfo is not None


def _alerts(tmp: Path) -> list[tuple[str, str]]:
    import sqlite3

    db = sqlite3.connect(tmp / "var" / "broadcastctl.sqlite3")
    try:
        return [(r[0], r[1]) for r in db.execute("SELECT kind, at FROM alerts ORDER BY id")]
    finally:
        db.close()

"""`GET /metrics`: Prometheus text with as-run outcomes, device health, what is on air, and
API and relay latency histograms."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from peers.daemon import SH
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from test_cli_api import NightClock

from controller.access.users import UserStore
from controller.api.app import create_app
from controller.api.metrics import outcome_counts
from controller.api.services import Services
from controller.config import load_config
from controller.engine.parts import EngineParts
from controller.records.asrun_store import Store
from controller.station.relaybank import RelayBank
from drivers.relays.base import RelayError, SwitchResult


@pytest.fixture
def config(shipped: Path) -> Path:
    return shipped


@pytest.fixture
def client(config: Path) -> Iterator[TestClient]:
    with TestClient(create_app(load_config(config), NightClock())) as c:
        yield c


def scrape(client: TestClient) -> dict[str, list[Sample]]:
    """Every sample of the exposition, by metric family name."""
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    return {f.name: f.samples for f in text_string_to_metric_families(r.text)}


def values(samples: list[Sample], name: str, **match: str) -> dict[tuple[str, ...], float]:
    """Samples called `name` whose labels include `match`, keyed by their other labels."""
    out = {}
    for s in samples:
        if s.name == name and all(s.labels.get(k) == v for k, v in match.items()):
            key = tuple(v for k, v in sorted(s.labels.items()) if k not in match)
            out[key] = s.value
    return out


def services(client: TestClient) -> Services:
    found: Services = client.app_state["services"]
    return found


def local(client: TestClient) -> EngineParts:
    """The engine, which runs inside the test's app."""
    found = services(client).local
    assert found is not None
    return found


def test_airing_outcomes_come_from_the_as_run_rows(config: Path) -> None:
    db = config.parent / "var" / "broadcastctl.sqlite3"
    store = Store(db)
    start = datetime(2027, 5, 31, 7, 0, tzinfo=SH)
    zones = [("east-village", start), ("west-village", start), ("market", start)]
    store.open_rows("a1", "早间", "anti-fraud", start, start + timedelta(minutes=30), zones)
    store.close_open("a1", "aired", "", zones=["east-village", "west-village"])
    store.close_open("a1", "failed", "继电器未确认 / relay did not confirm")
    noon = start + timedelta(hours=5)
    store.open_rows("a2", "午间", "anti-fraud", noon, noon + timedelta(minutes=30), zones[:1])
    store.close_open("a2", "blacked_out", "")
    evening = start + timedelta(hours=11)
    store.open_rows("a3", "晚间", "anti-fraud", evening, evening, zones[:1])  # still open
    store.close()
    assert outcome_counts(db) == {"aired": 2, "failed": 1, "blacked_out": 1}  # open: nowhere

    with TestClient(create_app(load_config(config), NightClock())) as client:
        families = scrape(client)
    airings = values(families["broadcastctl_airings"], "broadcastctl_airings_total")
    assert airings[("aired",)] == 2
    assert airings[("blacked_out",)] == 1
    assert airings[("resumed",)] == 0  # every known outcome is there, zero or not
    # The station, starting, closed the row a "crash" left open: now it counts too.
    assert sum(airings.values()) == 5
    on_air = families["broadcastctl_on_air"]
    assert [(s.name, s.value) for s in on_air] == [("broadcastctl_on_air", 0.0)]


def test_device_up_for_relays_and_displays(client: TestClient) -> None:
    up = values(scrape(client)["broadcastctl_device_up"], "broadcastctl_device_up")
    assert up == {
        ("square", "display"): 1.0,
        ("rack", "relay"): 1.0,
        ("villages", "relay"): 1.0,
    }
    local(client).displays["square"].failing = "屏幕无应答 / no answer"  # type: ignore[attr-defined]
    up = values(scrape(client)["broadcastctl_device_up"], "broadcastctl_device_up")
    assert up[("square", "display")] == 0.0 and up[("villages", "relay")] == 1.0


def test_api_latency_by_route_template_not_raw_path(client: TestClient, config: Path) -> None:
    users = UserStore(config.parent / "var" / "broadcastctl.sqlite3")
    token = users.add("wang", "operator")
    users.close()
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/status").status_code == 200
    for clip_id in ("000000000001", "000000000002", "000000000003"):
        assert client.get(f"/api/media/{clip_id}", headers=auth).status_code == 404
    assert client.get("/no/such/page").status_code == 404
    client.get("/metrics")
    samples = scrape(client)["broadcastctl_api_request_seconds"]
    counts = values(samples, "broadcastctl_api_request_seconds_count")
    assert counts[("GET", "/api/media/{clip_id}")] == 3
    assert counts[("GET", "/api/status")] == 1
    assert counts[("GET", "unmatched")] == 1
    routes = {route for _, route in counts}
    assert not any("000000000001" in r for r in routes)
    assert "/metrics" not in routes  # scrapes are not timed
    total = values(
        samples, "broadcastctl_api_request_seconds_sum", method="GET", route="/api/status"
    )
    assert 0 < total[()] < 30  # a sanity bound, not a timing test
    buckets = values(samples, "broadcastctl_api_request_seconds_bucket", route="/api/status")
    assert buckets[("+Inf", "GET")] == 1 and buckets[("30.0", "GET")] == 1


def test_relay_command_latency_after_a_switch(client: TestClient) -> None:
    svc = services(client)
    assert svc.local is not None  # the engine runs in the test's process
    bank = svc.local.station.ctx.bank
    assert client.portal is not None
    name = "broadcastctl_relay_command_seconds_count"
    # Starting, the station drove its relays OFF: those commands are counted already.
    before = values(scrape(client)["broadcastctl_relay_command_seconds"], name)
    assert client.portal.call(bank.switch, "villages:1", True) == "confirmed"
    assert client.portal.call(bank.switch, "villages:1", False) == "confirmed"
    svc.local.relays["rack"].failing_channels.add(3)  # type: ignore[attr-defined]
    with pytest.raises(RelayError):
        client.portal.call(bank.switch, "rack:3", True)
    samples = scrape(client)["broadcastctl_relay_command_seconds"]
    counts = values(samples, name)
    added = {k: v - before.get(k, 0) for k, v in counts.items() if v != before.get(k, 0)}
    assert added == {("villages", "confirmed"): 2, ("rack", "failed"): 1}
    total = values(samples, "broadcastctl_relay_command_seconds_sum", device="villages")
    assert 0 <= total[("confirmed",)] < 30


class SlowDevice:
    """Only what RelayBank.switch uses of a device."""

    def __init__(self, fail: bool) -> None:
        self.fail = fail

    async def switch(self, channel: int, on: bool, *, deadman_s: float | None = None) -> Any:
        if self.fail:
            raise RelayError("no answer")
        return SwitchResult(channel, on, "commanded", datetime.now(SH), 1)


def test_the_bank_tells_its_observer_of_each_command() -> None:
    seen: list[tuple[str, str, float]] = []
    devices: dict[str, Any] = {"a": SlowDevice(fail=False), "b": SlowDevice(fail=True)}
    bank = RelayBank(devices, NightClock(), lambda d, r, s: seen.append((d, r, s)))

    async def run() -> None:
        assert await bank.switch("a:1", True) == "commanded"
        with pytest.raises(RelayError):
            await bank.switch("b:2", False)

    asyncio.run(run())
    assert [(d, r) for d, r, _ in seen] == [("a", "commanded"), ("b", "failed")]
    assert all(0 <= s < 5 for _, _, s in seen)
    plain = RelayBank(devices, NightClock())  # no observer: as before
    assert asyncio.run(plain.switch("a:4", False)) == "commanded"


def test_apps_in_one_process_keep_their_own_metrics(config: Path) -> None:
    app_a = create_app(load_config(config), NightClock())
    app_b = create_app(load_config(config), NightClock())
    with TestClient(app_a) as a, TestClient(app_b) as b:
        for _ in range(3):
            a.get("/api/status")
        b.get("/healthz")
        counts_b = values(
            scrape(b)["broadcastctl_api_request_seconds"], "broadcastctl_api_request_seconds_count"
        )
    assert counts_b == {("GET", "/healthz"): 1}

"""The engine's Prometheus series: relay command latency, device health, what is on air.
The engine owns the devices, so it reads them at scrape time; the API process adds its own
series (request latency, the record's outcomes) and whether the engine answered."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from controller.engine.parts import EngineParts

RELAY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class EngineMetrics:
    """In a registry of its own (a process may hold several engines, as the tests do; the
    global default registry would mix them)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._relay = Histogram(
            "broadcastctl_relay_command_seconds",
            "Time a relay device took to carry out one switch command.",
            ["device", "result"],
            buckets=RELAY_BUCKETS,
            registry=self.registry,
        )

    def observe(self, device: str, result: str, seconds: float) -> None:
        self._relay.labels(device=device, result=result).observe(seconds)

    def exposition(self, parts: EngineParts) -> bytes:
        now = CollectorRegistry(auto_describe=False)
        now.register(_Devices(parts))
        return generate_latest(self.registry) + generate_latest(now)


class _Devices:
    def __init__(self, parts: EngineParts) -> None:
        self._parts = parts

    def collect(self) -> Iterator[Metric]:
        parts = self._parts
        up = GaugeMetricFamily(
            "broadcastctl_device_up",
            "1 if the relay board or display answers, 0 if not; absent while it cannot tell"
            " (write-only relays, a screen not heard from yet).",
            labels=["kind", "device"],
        )
        for kind, healths in (
            ("relay", {i: d.health().available for i, d in parts.relays.items()}),
            ("display", {i: d.health().available for i, d in parts.displays.items()}),
        ):
            for device_id, available in sorted(healths.items()):
                if available is not None:
                    up.add_metric([kind, device_id], 1.0 if available else 0.0)
        yield up
        yield GaugeMetricFamily(
            "broadcastctl_on_air", "Airings running now.", value=len(parts.station.runners)
        )

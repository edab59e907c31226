"""A test alert on every channel, sent now and answered per channel (the console's "send a
test" button). Blocking: the API runs it on a worker thread; every channel at once, each
bounded by its timeout. The attempt is kept in the outbox like any alert (not retried)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import tzinfo

from controller.alerts import transport
from controller.alerts.events import test_alert
from controller.alerts.outbox import SENT_OUT, AlertOutbox
from controller.config.alerts import AlertsConfig, Channel
from controller.core.clock import Clock


@dataclass(frozen=True)
class TrialResult:
    channel: str
    type: str
    ok: bool
    detail: str


def send_test(cfg: AlertsConfig, station: str, tz: tzinfo, outbox: AlertOutbox, clock: Clock,
              by: str) -> list[TrialResult]:  # fmt: skip
    now = clock.now()
    alert = test_alert(by, now)
    alert_id = outbox.add(alert, SENT_OUT)
    outbox.route(alert_id, [c.name for c in cfg.channels], now)
    results: dict[str, str | None] = {}

    def one(ch: Channel) -> None:
        try:
            transport.send(ch, alert, station, now, now.astimezone(tz))
            results[ch.name] = None
        except transport.SendFailed as exc:
            results[ch.name] = str(exc)
        except Exception as exc:  # said, not raised: the other channels still answer
            results[ch.name] = transport.scrub(f"内部错误 / internal error: {exc}", ch)

    # Daemon threads: a receiver that never answers is given up at the channel's timeout,
    # plus a margin for the connect; its thread ends on its own.
    threads = [threading.Thread(target=one, args=(c,), daemon=True) for c in cfg.channels]
    for thread in threads:
        thread.start()
    for thread, ch in zip(threads, cfg.channels, strict=True):
        thread.join(ch.timeout_s * 2 + 1)
    out = []
    for ch in cfg.channels:
        error = results.get(ch.name, "对方无应答（超时）/ no answer in time")
        outbox.attempted(alert_id, ch.name, error=error, at=clock.now(), retry_at=None)
        detail = "已送达 / delivered" if error is None else error
        out.append(TrialResult(ch.name, ch.type, error is None, detail))
    return out

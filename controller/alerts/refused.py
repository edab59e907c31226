"""A config the daemon refuses is an alert too (issue 11, item 5): the station is silent until
someone fixes it. The engine that would send alerts never starts, so the process that read the
config tells the channels itself, at once, from the `alerts:` section alone when that section
is valid (a broken `alerts:` can only be logged).

Said once per refusal: the same messages again (the supervisor restarting a child, systemd
restarting the daemon) within `alerts.repeat_after_s` send nothing; a stamp file in
`<data_dir>/run/` remembers. Blocking, each channel bounded by its timeout: nothing airs while
the config is refused, so nothing waits for it.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from controller.alerts import transport
from controller.alerts.events import config_refused
from controller.config.alerts import AlertsConfig
from controller.config.yamlio import YamlError, read_mapping

log = logging.getLogger(__name__)
STAMP = "config-refused"


def tell_refused(config_path: Path, messages: list[str], now: datetime) -> dict[str, str]:
    """Send the refusal on every channel of the file's own `alerts:`; per channel what
    happened ("ok" or why not). Empty when there is nothing to send or it was sent already."""
    section = _section(config_path)
    if section is None:
        return {}
    cfg, station, data_dir, tz = section
    stamp = data_dir / "run" / STAMP
    digest = hashlib.sha256("\n".join([str(config_path), *messages]).encode()).hexdigest()
    if _said(stamp, digest, cfg.repeat_after_s, now):
        return {}
    alert = config_refused(str(config_path), messages, now)
    results: dict[str, str] = {}
    for ch in cfg.channels:
        try:
            transport.send(ch, alert, station, now, now.astimezone(tz))
            results[ch.name] = "ok"
        except Exception as exc:  # said, not raised: the other channels still get it
            results[ch.name] = transport.scrub(str(exc), ch)
    log.warning("配置被拒绝，已告警 / config refused, alert sent: %s", results)
    try:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(digest, encoding="utf-8")
    except OSError as exc:  # a read-only disk: it may be said again, never not at all
        log.warning("cannot remember the refusal alert in %s: %s", stamp, exc)
    return results


def _section(path: Path) -> tuple[AlertsConfig, str, Path, ZoneInfo] | None:
    try:
        data, _at = read_mapping(path)
    except (YamlError, OSError):
        return None  # not even YAML: nowhere to read channels from
    raw = data.get("alerts")
    if not isinstance(raw, dict) or not raw.get("channels"):
        return None
    try:
        cfg = AlertsConfig.model_validate(raw)
    except ValidationError:
        log.error("配置的 alerts 部分也有误，无法告警 / alerts: is invalid too; no alert sent")
        return None
    got = data.get("station")
    station: dict[str, Any] = got if isinstance(got, dict) else {}
    try:
        tz = ZoneInfo(str(station.get("timezone", "Asia/Shanghai")))
    except (ValueError, KeyError):
        tz = ZoneInfo("Asia/Shanghai")
    data_dir = path.parent / str(station.get("data_dir", "var"))
    return cfg, str(station.get("name", "广播站")), data_dir, tz


def _said(stamp: Path, digest: str, repeat_after_s: float, now: datetime) -> bool:
    try:
        fresh = now.timestamp() - stamp.stat().st_mtime < repeat_after_s
        return fresh and stamp.read_text(encoding="utf-8") == digest
    except OSError:
        return False

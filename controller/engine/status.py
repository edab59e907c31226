"""The station's status as plain data: what airs now, what airs next, how the devices are."""

from __future__ import annotations

from datetime import timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from controller.engine.faults import faults_summary
from controller.planning.planner import airing_to_dict
from controller.station.runner import AiringRunner
from drivers.audio.file import FileOutput
from drivers.audio.retention import GB

if TYPE_CHECKING:
    from controller.engine.parts import EngineParts


def station_status(svc: EngineParts) -> dict[str, Any]:
    cfg = svc.loaded.config
    tz = cfg.station.tz
    now = svc.clock.now().astimezone(tz)
    station = svc.station
    upcoming = [  # "next" is never a time that has passed (a failed airing's window still open)
        a
        for a in station.airings(now, now + timedelta(days=2))
        if a.id not in station.runners and a.start >= now
    ]
    out: dict[str, Any] = {
        "station": cfg.station.name,
        "now": now.isoformat(timespec="seconds"),
        "timezone": cfg.station.timezone,
        "on_air": [_airing(r, tz) for r in list(station.runners.values())],
        "dead_air": [r.airing.id for r in list(station.runners.values()) if r.state.dead_air],
        "next": [airing_to_dict(a, tz) for a in upcoming[:6]],
        "zones": [
            {"id": z.id, "name": z.name, "relays": [_channel(svc, ref) for ref in z.relays]}
            for z in cfg.zones
        ],
        "amplifiers": [_amplifier(svc, a.relay) for a in cfg.amplifiers],
        "devices": [_device(svc, device_id) for device_id in svc.relays],
        "displays": svc.rotator.status(),
        "mqtt": svc.mqtt.health() if svc.mqtt else None,
        "record": _record(svc),
        "storage": _storage(svc),
        "faults": [
            {"at": at.astimezone(tz).isoformat(timespec="seconds"), "text": text}
            for at, text in svc.station.ctx.faults[-10:]
            if now - at < timedelta(days=1)
        ],
    }
    out["faults_summary"] = faults_summary(out, silence_s=cfg.monitor.silence_s)  # the banner
    return out


def _record(svc: EngineParts) -> dict[str, Any]:
    """Whether the as-run record reaches the disk: a fault names why and how much waits."""
    fault = svc.journal.fault()
    if fault is None:
        return {"ok": True, "fault": None}
    since = fault.since.astimezone(svc.loaded.config.station.tz).isoformat(timespec="seconds")
    return {"ok": False, "fault": fault.message, "since": since, "pending": fault.pending}


def _storage(svc: EngineParts) -> dict[str, Any] | None:
    """The air-check disk: free space and the budget; a `warning` (Chinese first) when low."""
    if not isinstance(svc.output, FileOutput):
        return None  # the output keeps no recordings (a sound card, null)
    r = svc.output.store.report()
    return {
        "ok": r.warning is None,
        "warning": r.warning,
        "dir": str(r.dir),
        # to 0.1 GB: an operator's figure, and one that does not move with every write (the
        # console's event stream sends the status again only when something changed)
        "free_gb": None if r.free_bytes is None else round(r.free_bytes / GB, 1),
        "total_gb": _gb(r.total_bytes),
        "min_free_gb": _gb(r.min_free_bytes),
        "recordings": r.recordings,
        "recordings_gb": _gb(r.recordings_bytes),
        "max_gb": _gb(r.max_bytes),
        "keep_days": r.keep_days,
    }


def _gb(n: int | None) -> float | None:
    return None if n is None else round(n / GB, 3)


def _airing(runner: AiringRunner, tz: tzinfo) -> dict[str, Any]:
    """Times in the station's offset, whatever the airing's source (overrides come in UTC)."""
    a, state = runner.airing, runner.state
    out: dict[str, Any] = {
        "id": a.id,
        "slot": a.slot,
        "kind": state.kind,
        "phase": state.phase,
        "dead_air": state.dead_air,  # silence on air beyond monitor.silence_s, now
        "source": a.source,
        "priority": a.priority,
        "exercise": a.exercise,
        "reason": a.reason,
        "start": a.start.astimezone(tz).isoformat(),
        "end": a.end.astimezone(tz).isoformat(),
        "audio_end": a.audio_end.astimezone(tz).isoformat(),
        "audio_start": state.audio_start.astimezone(tz).isoformat() if state.audio_start else None,
        "zones": [
            {
                "id": z.zone.id,
                "name": z.zone.name,
                "relay": z.relay,
                "on_air": z.on_air,
                "until": z.end.astimezone(tz).isoformat(),
            }
            for z in state.zones.values()
        ],
        "clip": None,
    }
    if runner.player is not None:
        snap = runner.player.snapshot()
        out["clip"] = {
            "index": snap.clip_index,
            "file": runner.media_name(snap.clip_path) if snap.clip_path else None,
            "position_s": round(snap.position_s, 1),
            "state": snap.state,
        }
    return out


def _channel(svc: EngineParts, ref: str) -> dict[str, Any]:
    device_id, _, channel = ref.rpartition(":")
    st = svc.relays[device_id].status(int(channel))
    return {
        "relay": ref,
        "state": st.state,
        "confirmed": st.confirmed,
        "since": st.since.isoformat() if st.since else None,
    }


def _amplifier(svc: EngineParts, ref: str) -> dict[str, Any]:
    """A stage of the power chain; `failed`: why it did not switch on, while the chain is on."""
    chain = svc.station.ctx.chain
    return {**_channel(svc, ref), "failed": chain.failed.get(ref) if chain.powered else None}


def _device(svc: EngineParts, device_id: str) -> dict[str, Any]:
    device = svc.relays[device_id]
    health = device.health()
    return {
        "id": device_id,
        "available": health.available,
        "last_error": health.last_error,
        "last_seen": health.last_seen.isoformat() if health.last_seen else None,
        # Offline, not heard from since: an MQTT device's offline (LWT) message, a serial
        # board's last good reply.
        "offline_since": (
            health.last_seen.isoformat() if health.available is False and health.last_seen else None
        ),
        "channels": [
            {"channel": c, "state": device.status(c).state, "confirmed": device.status(c).confirmed}
            for c in range(1, device.channels + 1)
        ],
    }

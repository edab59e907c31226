"""The media HTTP API: streamed uploads, the library, approval and retirement, playlists now."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from controller.access.users import Principal
from controller.api.auth import Admin, AnyUser, Operator, Uploader
from controller.api.deps import ServicesDep
from controller.api.limits import LimitsDep, WorkLimits
from controller.api.services import Services
from controller.api.types import Moment
from controller.api.upload_form import OPENAPI_BODY, FormError, UploadForm, split_tags
from controller.core.stationtime import aware, iso
from controller.media.ingest import upload_limit_bytes
from controller.media.library import Clip, IngestError
from controller.media.resolve import parse_bound, resolve_with_fallback

router = APIRouter()
Status = Literal["pending", "approved", "rejected", "retired"]
STATUS_ACTIONS = {
    "approved": "media.approve",
    "rejected": "media.reject",
    "retired": "media.retire",
}


def _shown(svc: Services, clip: Clip) -> dict[str, Any]:
    return clip.to_dict(svc.loaded.config.station.tz)


def _clip_or_404(svc: Services, clip_id: str) -> Clip:
    clip = svc.media.get(clip_id)
    if clip is None:
        raise HTTPException(404, f"没有此节目 / no clip {clip_id!r}")
    return clip


def _bound(svc: Services, text: str | None, *, end: bool) -> datetime | None:
    if text is None or not text.strip():
        return None
    try:
        return parse_bound(text, svc.loaded.config.station.tz, end=end)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


@router.post("/api/media", status_code=201, response_model=None, openapi_extra=OPENAPI_BODY)
async def upload(
    request: Request, svc: ServicesDep, who: Uploader, limits: LimitsDep
) -> JSONResponse:
    """Upload a clip (multipart: file, title, tags, valid_from, valid_until, reason).

    The body streams to a temp file beside the library, never into memory; 201 with the
    clip's analysis, 200 if the same audio was already in the library; 503 with Retry-After
    while `media.max_concurrent_ingests` + `media.max_queued_uploads` are in progress.
    """
    async with limits.upload_slot():
        try:
            form = UploadForm(
                request.headers.get("content-type", ""),
                svc.loaded.config.station.library_home / "tmp",
                max_file_bytes=upload_limit_bytes(svc.loaded.config.media),
            )
            try:
                async for chunk in request.stream():
                    await limits.run(limits.upload_io, form.write, chunk)
                form.finish()
                clip, created = await _ingest(svc, who, form, limits)
            finally:
                form.discard()
        except FormError as exc:
            raise HTTPException(exc.status, str(exc)) from None
    action = "media.upload" if created else "media.upload_existing"
    await limits.run(
        limits.upload_io, svc.audit.record, who, action, clip.id, form.field("reason") or "",
        detail={"title": clip.title},
    )  # fmt: skip
    return JSONResponse(_shown(svc, clip), status_code=201 if created else 200)


async def _ingest(
    svc: Services, who: Principal, form: UploadForm, limits: WorkLimits
) -> tuple[Clip, bool]:
    assert form.file is not None  # finish() checked it
    name = form.filename or "upload"
    media = svc.loaded.config.media
    ingest = partial(
        svc.media.ingest,
        form.file,
        title=form.field("title") or Path(name).stem,
        uploader=who.user,
        source="upload",
        original_name=name,
        tags=split_tags(form.values("tags")),
        valid_from=_bound(svc, form.field("valid_from"), end=False),
        valid_until=_bound(svc, form.field("valid_until"), end=True),
        approved=who.role != "police" or not media.require_approval,
    )
    try:
        return await limits.run(limits.ingest, ingest)  # at most max_concurrent_ingests at once
    except IngestError as exc:
        reason = f"{exc.reason_zh} / {exc.reason_en}"
        record = svc.audit.record
        await limits.run(limits.upload_io, record, who, "media.upload_refused", name, reason)
        raise HTTPException(exc.http_status, reason) from None
    except ValueError as exc:  # the validity window, checked by the library
        raise HTTPException(422, f"有效期无效 / {exc}") from None


@router.get("/api/media")
def list_media(
    svc: ServicesDep,
    who: AnyUser,
    status: Status | None = None,
    tag: str | None = None,
    source: str | None = None,
) -> list[dict[str, Any]]:
    """The library, newest first, optionally by status, tag and source."""
    clips = svc.media.list(status=status, tag=tag, source=source)
    return [_shown(svc, c) for c in sorted(clips, key=lambda c: c.created_at, reverse=True)]


@router.get("/api/media/{clip_id}")
def get_media(svc: ServicesDep, who: AnyUser, clip_id: str) -> dict[str, Any]:
    """One clip with its analysis."""
    return _shown(svc, _clip_or_404(svc, clip_id))


@router.get("/api/media/{clip_id}/audio", response_model=None)
def get_audio(svc: ServicesDep, who: AnyUser, clip_id: str) -> FileResponse:
    """The normalised copy, as aired (WAV)."""
    clip = _clip_or_404(svc, clip_id)
    return FileResponse(clip.path, media_type="audio/wav", filename=f"{clip.id}.wav")


class MediaPatch(BaseModel):
    """Changes to one clip; a key left out stays as it is, a null validity bound clears it."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["approved", "rejected", "retired"] | None = Field(None, description="Verdict.")
    title: str | None = Field(None, min_length=1, max_length=200, description="New title.")
    tags: list[str] | None = Field(None, description="Replaces the tags.")
    valid_from: str | None = Field(None, description="Date or date-time; null clears.")
    valid_until: str | None = Field(None, description="Date (inclusive) or date-time; null clears.")
    reason: str = Field("", max_length=500, description="Why, for the audit trail.")


POLICE_MAY_EDIT = {"title", "tags", "reason"}


@router.patch("/api/media/{clip_id}")
def patch_media(svc: ServicesDep, who: Uploader, clip_id: str, patch: MediaPatch) -> dict[str, Any]:
    """Approve, reject, retire, or change title, tags and validity (operator; police may
    retitle and retag their own pending clips)."""
    clip = _clip_or_404(svc, clip_id)
    given = patch.model_fields_set - {"reason"}
    if who.role == "police" and (
        clip.uploader != who.user or clip.status != "pending" or not given <= POLICE_MAY_EDIT
    ):
        raise HTTPException(
            403,
            "警方用户只能修改自己待审节目的标题和标签 / police may only change the title and"
            " tags of their own pending clips",
        )
    fields: dict[str, Any] = {}
    for key in ("status", "title", "tags"):
        value = getattr(patch, key)
        if key in given and value is not None:
            fields[key] = tuple(split_tags(value)) if key == "tags" else value
    if "valid_from" in given:
        fields["valid_from"] = _bound(svc, patch.valid_from, end=False)
    if "valid_until" in given:
        fields["valid_until"] = _bound(svc, patch.valid_until, end=True)
    start = fields.get("valid_from", clip.valid_from)
    end = fields.get("valid_until", clip.valid_until)
    if start is not None and end is not None and end <= start:
        raise HTTPException(422, "有效期结束早于开始 / valid_until is not after valid_from")
    if not fields:
        raise HTTPException(422, "没有要修改的内容 / nothing to change")
    try:
        updated = svc.media.update(clip_id, **fields)
    except ValueError as exc:
        raise HTTPException(422, f"修改无效 / {exc}") from None
    action = STATUS_ACTIONS.get(fields.get("status", ""), "media.edit")
    svc.audit.record(who, action, clip_id, patch.reason, detail=_jsonable(svc, fields))
    return _shown(svc, updated)


@router.delete("/api/media/{clip_id}")
def retire_media(svc: ServicesDep, who: Operator, clip_id: str, reason: str = "") -> dict[str, Any]:
    """Retire a clip: it stops airing at the next clip boundary; the files stay for the record."""
    _clip_or_404(svc, clip_id)
    updated = svc.media.update(clip_id, status="retired")
    svc.audit.record(who, "media.retire", clip_id, reason)
    return _shown(svc, updated)


@router.get("/api/playlists")
def list_playlists(svc: ServicesDep, who: AnyUser) -> list[dict[str, Any]]:
    """Every playlist and what it would air now (after the fallback, when it resolves empty)."""
    cfg = svc.loaded.config
    now = svc.clock.now()
    playlists = svc.loaded.playlists
    clips = svc.media.list()
    by_path = {c.path: c for c in clips}
    roots = (cfg.station.media_dir, cfg.station.library_home)
    out = []
    for name, p in sorted(playlists.items()):
        paths, fallback = resolve_with_fallback(
            name, playlists, svc.media, now, cfg.media.fallback_playlist
        )
        out.append(
            {
                "name": name,
                "title": p.title,
                "order": p.order,
                "gap_s": cfg.audio.gap_s if p.gap_s is None else p.gap_s,
                "listed": [e if isinstance(e, str) else _rel(e, roots) for e in p.listed],
                "select": None if p.select is None else p.select.model_dump(mode="json"),
                "fallback_used": fallback,
                "now": [_aired(path, by_path.get(path), roots) for path in paths],
            }
        )
    return out


@router.get("/api/audit")
def list_audit(
    svc: ServicesDep,
    who: Admin,
    since: Moment | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, object]]:
    """The audit trail, newest first (admin); `since` without an offset is station time."""
    tz = svc.loaded.config.station.tz
    rows = svc.audit.list(since=None if since is None else aware(since, tz), limit=limit)
    return [e.to_dict(tz) for e in rows]


def _rel(path: Path, roots: tuple[Path, ...]) -> str:
    """`path` as named under station.media_dir or the library's home (the library keeps
    resolved paths)."""
    for base in (b for root in roots for b in (root, root.resolve())):
        if path.is_relative_to(base):
            return str(path.relative_to(base))
    return str(path)


def _aired(path: Path, clip: Clip | None, roots: tuple[Path, ...]) -> dict[str, Any]:
    if clip is None:
        return {"file": _rel(path, roots), "clip": None, "title": path.stem}
    return {"file": _rel(path, roots), "clip": clip.id, "title": clip.title}


def _jsonable(svc: Services, fields: dict[str, Any]) -> dict[str, Any]:
    tz = svc.loaded.config.station.tz
    return {
        k: iso(v, tz) if isinstance(v, datetime) else list(v) if isinstance(v, tuple) else v
        for k, v in fields.items()
    }

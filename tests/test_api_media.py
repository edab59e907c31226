"""The media API end to end: auth, streamed uploads, approval, audit, limits, playlists now."""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from media_files import random_bytes, tone, truncated, wav_claiming
from peers.daemon import ROOT, SH

from controller.access.users import UserStore
from controller.api.app import create_app
from controller.config import load_config

MAX_MB = 0.25  # 262 144 bytes
MEDIA = f"media: {{max_upload_mb: {MAX_MB}, min_s: 1}}\n"
POLICE_PLAYLIST = "title: 警方提醒\norder: shuffle\nselect: {tags: [反诈]}\n"


class NightClock:
    """03:00 station time: no slot is near, so nothing airs during the test."""

    def now(self) -> datetime:
        return datetime(2027, 6, 1, 3, 0, tzinfo=SH)

    def monotonic(self) -> float:
        return time.monotonic()


class Station:
    """A copy of the shipped station with a small upload limit, a rule playlist and users."""

    def __init__(self, root: Path) -> None:
        for name in ("playlists", "audio"):
            shutil.copytree(ROOT / name, root / name)
        (root / "playlists" / "police.yaml").write_text(POLICE_PLAYLIST, encoding="utf-8")
        text = (ROOT / "config.yaml").read_text(encoding="utf-8") + MEDIA
        self.config = root / "config.yaml"
        self.config.write_text(text, encoding="utf-8")
        self.uploads = root / "var" / "media"  # station.library_dir's default, with the data
        self.db = root / "var" / "broadcastctl.sqlite3"
        users = UserStore(self.db)
        self.tokens = {
            role: users.add(name, role)
            for name, role in (("li.jing", "police"), ("wang", "operator"), ("zhao", "admin"))
        }
        self.tokens["police2"] = users.add("chen", "police")
        users.close()

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def audit(self) -> list[dict[str, Any]]:
        db = sqlite3.connect(self.db)
        db.row_factory = sqlite3.Row
        rows = [dict(r) for r in db.execute("SELECT * FROM audit ORDER BY id")]
        db.close()
        return rows

    def leftovers(self) -> list[str]:
        tmp = self.uploads / "tmp"
        return sorted(os.listdir(tmp)) if tmp.is_dir() else []


@pytest.fixture(scope="module")
def tones(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("tones")
    return {
        "case.mp3": tone(folder / "case.mp3", seconds=2.0),
        "other.wav": tone(folder / "other.wav", freq=660, seconds=1.5),
        "short.mp3": tone(folder / "short.mp3", freq=880, seconds=0.6),
        "long.mp3": tone(folder / "long.mp3", freq=330, seconds=6.0),
    }


@pytest.fixture
def station(tmp_path: Path) -> Station:
    return Station(tmp_path)


@pytest.fixture
def client(station: Station) -> Iterator[TestClient]:
    with TestClient(create_app(load_config(station.config), NightClock())) as c:
        yield c


def upload(client: TestClient, station: Station, who: str, path: Path, **fields: str) -> Any:
    files = {"file": (path.name, path.read_bytes(), "audio/mpeg")}
    return client.post("/api/media", headers=station.auth(who), data=fields, files=files)


def test_reads_need_a_token_and_mutations_the_right_role(
    client: TestClient, station: Station
) -> None:
    for method, path in [
        ("GET", "/api/media"),
        ("GET", "/api/media/0123456789ab"),
        ("GET", "/api/media/0123456789ab/audio"),
        ("GET", "/api/playlists"),
        ("POST", "/api/media"),
        ("PATCH", "/api/media/0123456789ab"),
        ("DELETE", "/api/media/0123456789ab"),
    ]:
        response = client.request(method, path)
        assert response.status_code == 401, (method, path)
        assert response.headers["www-authenticate"] == "Bearer"
    assert client.get("/api/media", headers=station.auth("police")).json() == []
    assert (
        client.delete("/api/media/0123456789ab", headers=station.auth("police")).status_code == 403
    )
    assert client.get("/api/audit", headers=station.auth("police")).status_code == 403
    missing = client.get("/api/media/0123456789ab", headers=station.auth("police"))
    assert missing.status_code == 404 and "no clip" in missing.json()["detail"]


def test_police_upload_waits_operator_approves_all_audited(
    client: TestClient, station: Station, tones: dict[str, Path]
) -> None:
    sent = upload(
        client, station, "police", tones["case.mp3"],
        title="冒充客服退款", tags="反诈, 客服", valid_until="2027-06-30", reason="新案例",
    )  # fmt: skip
    assert sent.status_code == 201, sent.text
    clip = sent.json()
    assert (clip["status"], clip["title"], clip["uploader"]) == (
        "pending",
        "冒充客服退款",
        "li.jing",
    )
    assert clip["tags"] == ["反诈", "客服"] and clip["source"] == "upload"
    assert clip["original_name"] == "case.mp3" and 1.5 < clip["duration_s"] < 2.5
    assert clip["valid_until"].startswith("2027-07-01T00:00:00")  # all of 30 June
    cid = clip["id"]
    assert station.leftovers() == []

    police, operator = station.auth("police"), station.auth("operator")
    now = client.get("/api/playlists", headers=police).json()
    assert next(p for p in now if p["name"] == "police")["now"] == []  # pending: not on air
    # Police may retitle their own pending clip, but not approve it, nor touch another's.
    retitled = client.patch(f"/api/media/{cid}", headers=police, json={"title": "冒充客服"})
    assert retitled.status_code == 200 and retitled.json()["title"] == "冒充客服"
    approve = {"status": "approved", "reason": "已核实"}
    assert client.patch(f"/api/media/{cid}", headers=police, json=approve).status_code == 403
    other = client.patch(f"/api/media/{cid}", headers=station.auth("police2"), json={"tags": []})
    assert other.status_code == 403
    approved = client.patch(f"/api/media/{cid}", headers=operator, json=approve)
    assert approved.status_code == 200 and approved.json()["status"] == "approved"

    listed = client.get("/api/media", params={"status": "approved"}, headers=police).json()
    assert [c["id"] for c in listed] == [cid]
    assert client.get("/api/media", params={"tag": "天气"}, headers=police).json() == []
    now = client.get("/api/playlists", headers=police).json()
    rule = next(p for p in now if p["name"] == "police")
    assert rule["now"] == [{"file": rule["now"][0]["file"], "clip": cid, "title": "冒充客服"}]
    assert rule["fallback_used"] is False and rule["order"] == "shuffle"
    shipped = next(p for p in now if p["name"] == "anti-fraud")
    assert [c["file"] for c in shipped["now"]] == ["sample/反诈提醒.mp3"]

    audio = client.get(f"/api/media/{cid}/audio", headers=police)
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
    assert audio.content[:4] == b"RIFF" and audio.content[8:12] == b"WAVE"

    retired = client.delete(f"/api/media/{cid}", params={"reason": "案例过时"}, headers=operator)
    assert retired.status_code == 200 and retired.json()["status"] == "retired"
    rows = [
        (r["user"], r["role"], r["source"], r["action"], r["target"], r["reason"])
        for r in station.audit()
    ]
    assert rows == [
        ("li.jing", "police", "testclient", "media.upload", cid, "新案例"),
        ("li.jing", "police", "testclient", "media.edit", cid, ""),
        ("wang", "operator", "testclient", "media.approve", cid, "已核实"),
        ("wang", "operator", "testclient", "media.retire", cid, "案例过时"),
    ]
    assert client.get("/api/audit", headers=operator).status_code == 403  # admins only
    trail = client.get("/api/audit", headers=station.auth("admin")).json()
    assert [e["action"] for e in trail][:2] == ["media.retire", "media.approve"]
    assert trail[-1]["detail"] == {"title": "冒充客服退款"}


def test_same_audio_twice_is_one_clip_operator_uploads_air_at_once(
    client: TestClient, station: Station, tones: dict[str, Path]
) -> None:
    first = upload(client, station, "operator", tones["other.wav"], tags="反诈")
    assert first.status_code == 201 and first.json()["status"] == "approved"
    again = upload(client, station, "police", tones["other.wav"], title="重复")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert [r["action"] for r in station.audit()] == ["media.upload", "media.upload_existing"]
    cid = first.json()["id"]
    # Expiry: a validity that ended takes the clip off the playlist; the fallback is not set.
    patch = {"valid_until": "2027-05-31"}
    assert client.patch(f"/api/media/{cid}", headers=station.auth("admin"), json=patch).is_success
    police = next(
        p for p in client.get("/api/playlists", headers=station.auth("police")).json()
        if p["name"] == "police"
    )  # fmt: skip
    assert police["now"] == [] and police["fallback_used"] is False
    bad = client.patch(
        f"/api/media/{cid}", headers=station.auth("admin"), json={"valid_from": "2027-06-01"}
    )
    assert bad.status_code == 422 and "not after" in bad.json()["detail"]


def test_oversize_bodies_get_413_and_leave_nothing(
    client: TestClient, station: Station, tones: dict[str, Path]
) -> None:
    limit = int(MAX_MB * 1_048_576)
    headers = station.auth("police")
    big = os.urandom(limit + 200_000)  # over the whole-body limit: refused on Content-Length
    files = {"file": ("big.mp3", big, "audio/mpeg")}
    response = client.post("/api/media", headers=headers, files=files)
    assert response.status_code == 413 and "too large" in response.json()["detail"]
    just_over = os.urandom(limit + 1)  # fits the body allowance; the part counter stops it
    files = {"file": ("over.mp3", just_over, "audio/mpeg")}
    response = client.post("/api/media", headers=headers, files=files)
    assert response.status_code == 413 and "file too large" in response.json()["detail"]

    def chunked() -> Iterator[bytes]:  # no Content-Length at all
        yield b"--b\r\nContent-Disposition: form-data; name=file; filename=x.mp3\r\n\r\n"
        for _ in range(10):
            yield os.urandom(64 * 1024)

    stream_headers = {**headers, "Content-Type": "multipart/form-data; boundary=b"}
    response = client.post("/api/media", headers=stream_headers, content=chunked())
    assert response.status_code == 413
    assert station.leftovers() == []
    assert client.get("/api/media", headers=headers).json() == []
    assert station.audit() == []


@pytest.mark.parametrize(
    ("name", "status", "words"),
    [
        ("noise.mp3", 415, "not an audio file"),
        ("short.mp3", 422, "too short"),
        ("cut.mp3", 422, "truncated"),
        ("ten-hours.wav", 422, "the header claims"),
        ("empty.mp3", 422, "no file in field 'file'"),
    ],
)
def test_bad_uploads_say_why_and_leave_nothing(
    client: TestClient,
    station: Station,
    tones: dict[str, Path],
    tmp_path: Path,
    name: str,
    status: int,
    words: str,
) -> None:
    made: dict[str, Callable[[Path], object]] = {
        "noise.mp3": lambda p: random_bytes(p, 20_000),
        "short.mp3": lambda p: p.write_bytes(tones["short.mp3"].read_bytes()),
        "cut.mp3": lambda p: truncated(tones["long.mp3"], p, 0.3),
        "ten-hours.wav": lambda p: wav_claiming(p, 36_000, body_s=2.0),
        "empty.mp3": lambda p: p.write_bytes(b""),
    }
    path = tmp_path / name
    made[name](path)
    response = upload(client, station, "police", path)
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert " / " in detail and words in detail
    assert station.leftovers() == []
    refused = [(r["user"], r["action"], r["target"]) for r in station.audit()]
    assert refused == ([] if name == "empty.mp3" else [("li.jing", "media.upload_refused", name)])
    assert client.get("/api/media", headers=station.auth("police")).json() == []


def test_malformed_requests(client: TestClient, station: Station, tones: dict[str, Path]) -> None:
    headers = station.auth("police")
    plain = client.post("/api/media", headers=headers, content=b"hello")
    assert plain.status_code == 415 and "multipart/form-data" in plain.json()["detail"]
    files = {"file": ("case.mp3", tones["case.mp3"].read_bytes())}
    typo = client.post("/api/media", headers=headers, data={"tag": "反诈"}, files=files)
    assert typo.status_code == 422 and "unknown field 'tag'" in typo.json()["detail"]
    when = client.post("/api/media", headers=headers, data={"valid_until": "soon"}, files=files)
    assert when.status_code == 422 and "not a date" in when.json()["detail"]
    assert station.leftovers() == []
    # A traversal-shaped name is only metadata: the clip lands inside the library.
    files = {"file": ("../../etc/反诈.mp3", tones["case.mp3"].read_bytes())}
    sent = client.post("/api/media", headers=headers, files=files)
    assert sent.status_code == 201 and sent.json()["original_name"] == "反诈.mp3"
    stored = sorted(p.name for p in (station.uploads / "library" / sent.json()["id"]).iterdir())
    assert len(stored) == 2 and all(".." not in name for name in stored)
    assert not (station.uploads.parent / "etc").exists()


def test_concurrent_uploads_of_the_same_file_make_one_clip(
    client: TestClient, station: Station, tones: dict[str, Path]
) -> None:
    with ThreadPoolExecutor(2) as pool:
        sent = list(
            pool.map(lambda who: upload(client, station, who, tones["case.mp3"]), ["police"] * 2)
        )
    assert sorted(r.status_code for r in sent) == [200, 201]
    assert sent[0].json()["id"] == sent[1].json()["id"]
    assert len(client.get("/api/media", headers=station.auth("police")).json()) == 1
    assert station.leftovers() == []


def test_openapi_documents_the_bearer_scheme(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert {"get", "patch", "delete"} <= set(schema["paths"]["/api/media/{clip_id}"])
    form = schema["paths"]["/api/media"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert form["schema"]["properties"]["file"]["format"] == "binary"

"""The media API's uploads: bodies over the limit get 413, streamed or not; bad audio and
malformed requests are refused with the reason; the same file sent twice at once makes one
clip; none of them leaves a file behind."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from media_files import random_bytes, truncated, wav_claiming
from rig_api_media import MAX_MB, Station, client, station, tones, upload

__all__ = ["client", "station", "tones"]  # the fixtures, imported so pytest finds them here


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

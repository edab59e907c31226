"""The media API end to end: auth, approval, audit, playlists now, the documented bearer
scheme. Streamed uploads and their limits: test_api_media_uploads.py."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from rig_api_media import NightClock, Station, client, station, tones, upload

# NightClock for the suites that import it from here; the fixtures, so pytest finds them here.
__all__ = ["NightClock", "client", "station", "tones"]


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


def test_openapi_documents_the_bearer_scheme(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert {"get", "patch", "delete"} <= set(schema["paths"]["/api/media/{clip_id}"])
    form = schema["paths"]["/api/media"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert form["schema"]["properties"]["file"]["format"] == "binary"

"""`broadcastctl user …` and `broadcastctl media …`: tokens that work, ingest, approval, audit."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from media_files import tone
from peers.daemon import ROOT
from test_api_media import NightClock

from controller.api.app import create_app
from controller.cli.main import main
from controller.config import load_config


@pytest.fixture
def config(tmp_path: Path) -> Path:
    for name in ("playlists", "audio"):
        shutil.copytree(ROOT / name, tmp_path / name)
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    return tmp_path / "config.yaml"


def audit_rows(config: Path) -> list[tuple[str, str, str, str]]:
    db = sqlite3.connect(config.parent / "var" / "broadcastctl.sqlite3")
    rows = db.execute("SELECT user, action, target, reason FROM audit ORDER BY id").fetchall()
    db.close()
    return rows


def test_user_add_prints_a_working_token_once_and_revoke_ends_it(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["user", "add", "li.jing", "--role", "police", "--config", str(config)]) == 0
    out, err = capsys.readouterr()
    token = out.strip()
    assert len(token) >= 40 and "\n" not in token
    assert "created user li.jing (police)" in err and "shown once" in err
    assert main(["user", "list", "--config", str(config)]) == 0
    listing = capsys.readouterr().out
    assert "li.jing" in listing and "police" in listing and token not in listing
    assert main(["user", "list", "--json", "--config", str(config)]) == 0
    (user,) = json.loads(capsys.readouterr().out)
    assert set(user) == {"name", "role", "created_at", "revoked_at"}
    assert main(["user", "add", "li.jing", "--role", "admin", "--config", str(config)]) == 1
    assert "already exists" in capsys.readouterr().err

    headers = {"Authorization": f"Bearer {token}"}
    app = create_app(load_config(config), NightClock())
    with TestClient(app) as client:
        assert client.get("/api/media", headers=headers).status_code == 200
        assert main(["user", "revoke", "li.jing", "--reason", "调岗", "--config", str(config)]) == 0
        assert client.get("/api/media", headers=headers).status_code == 401
    assert audit_rows(config) == [
        ("cli", "user.add", "li.jing", ""),
        ("cli", "user.revoke", "li.jing", "调岗"),
    ]


def test_media_add_list_approve_retire(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clip_file = tone(tmp_path / "案例.mp3", freq=500, seconds=2.0)
    conf = ["--config", str(config)]
    assert main(["user", "add", "wang", "--role", "operator", *conf]) == 0
    capsys.readouterr()
    argv = ["media", "add", str(clip_file), "--tag", "反诈", "--valid-until", "2027-06-30"]
    assert main([*argv, "--pending", "--as", "wang", *conf]) == 0
    out, err = capsys.readouterr()
    clip = json.loads(out)
    assert clip["status"] == "pending" and clip["tags"] == ["反诈"] and clip["title"] == "案例"
    assert clip["source"] == "cli" and clip["uploader"] == "wang"
    assert "100%" in err and "added" in err  # the progress bar reached the end
    cid = clip["id"]
    assert main([*argv, *conf]) == 0  # same audio again: the existing clip
    assert json.loads(capsys.readouterr().out)["id"] == cid

    assert main(["media", "list", *conf]) == 0
    listing = capsys.readouterr().out
    assert cid in listing and "pending" in listing and "2027-07-01 00:00" in listing
    assert main(["media", "approve", cid, "--as", "wang", "--reason", "已核实", *conf]) == 0
    assert "approved" in capsys.readouterr().out
    assert main(["media", "list", "--status", "approved", "--json", *conf]) == 0
    assert [c["id"] for c in json.loads(capsys.readouterr().out)] == [cid]
    assert main(["media", "retire", cid, *conf]) == 0
    assert main(["media", "approve", "ffffffffffff", *conf]) == 1
    assert "no clip" in capsys.readouterr().err
    assert main(["media", "retire", cid, "--as", "nobody", *conf]) == 1
    assert "no active user 'nobody'" in capsys.readouterr().err
    assert audit_rows(config) == [
        ("cli", "user.add", "wang", ""),
        ("wang", "media.add", cid, ""),
        ("cli", "media.add_existing", cid, ""),
        ("wang", "media.approve", cid, "已核实"),
        ("cli", "media.retire", cid, ""),
    ]


def test_media_add_refuses_what_is_not_audio(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(b"not audio at all" * 100)
    assert main(["media", "add", str(junk), "--config", str(config)]) == 1
    assert "refused" in capsys.readouterr().err
    assert main(["media", "add", str(tmp_path / "none.mp3"), "--config", str(config)]) == 1
    assert "no such file" in capsys.readouterr().err
    assert main(["media", "list", "--config", str(config)]) == 0
    assert "no clips" in capsys.readouterr().out
    assert audit_rows(config) == []

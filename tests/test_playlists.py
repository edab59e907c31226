"""Playlist files: the model, clip paths against the media library, and error messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.config import ConfigError, Playlist, load_config
from controller.config.playlists import load_playlist, load_playlists


@pytest.fixture
def media(tmp_path: Path) -> Path:
    folder = tmp_path / "audio"
    (folder / "sample").mkdir(parents=True)
    for name in ("a.mp3", "b.mp3", "sample/反诈提醒.mp3"):
        (folder / name).write_bytes(b"ID3")
    return folder


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "playlists"
    path.mkdir()
    return path


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_full_playlist(folder: Path, media: Path) -> None:
    text = (
        "title: 反诈骗宣传\norder: sequential\ngap_s: 1.5s\nclips: [a.mp3, sample/反诈提醒.mp3]\n"
    )
    playlist, errors = load_playlist(write(folder, "anti-fraud.yaml", text), media)
    assert errors == []
    assert playlist is not None
    assert playlist == Playlist(
        name="anti-fraud",
        title="反诈骗宣传",
        order="sequential",
        gap_s=1.5,
        clips=(media / "a.mp3", media / "sample" / "反诈提醒.mp3"),
    )
    assert all(clip.is_absolute() for clip in playlist.clips)


def test_defaults_title_is_the_name_and_no_gap_override(folder: Path, media: Path) -> None:
    playlist, errors = load_playlist(write(folder, "news.yaml", "clips: [b.mp3, a.mp3]\n"), media)
    assert errors == []
    assert playlist is not None
    assert (playlist.title, playlist.order, playlist.gap_s) == ("news", "sequential", None)
    assert playlist.clips == (media / "b.mp3", media / "a.mp3")  # the order as written


def test_a_missing_clip_names_file_line_and_folder(folder: Path, media: Path) -> None:
    text = "title: 反诈\nclips:\n  - a.mp3\n  - b.mp3\n  - x.mp3\n"
    playlist, errors = load_playlist(write(folder, "anti-fraud.yaml", text), media)
    assert playlist is None
    assert errors == [f"anti-fraud.yaml:5: clips[2]: file 'x.mp3' not found in {media}"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("clips: []\n", "p.yaml:1: clips: the playlist has no clips; list at least one file"),
        ("title: x\n", "p.yaml:1: clips: required key is missing"),
        (
            "clips: [a.mp3]\nshuffle: true\n",
            "p.yaml:2: shuffle: unknown key 'shuffle' (not allowed here)",
        ),
        ("order: random\nclips: [a.mp3]\n", "p.yaml:1: order: 'random' should be 'sequential'"),
        (
            "gap_s: soon\nclips: [a.mp3]\n",
            "p.yaml:1: gap_s: 'soon' is not a duration (use 30m, 90s, 1h30m or seconds)",
        ),
        (
            "clips: [a.mp3]\nclips: [b.mp3]\n",
            "p.yaml:2: clips: duplicate key 'clips' (already set on line 1)",
        ),
        ("clips: [a.mp3\n", "p.yaml:2: YAML syntax error: expected ',' or ']'"),
        ("", "p.yaml:1: the file is empty"),
        (
            "clips: [../secret.mp3]\n",
            "p.yaml:1: clips[0]: '../secret.mp3' must be a file inside {media}",
        ),
    ],
)
def test_bad_playlists(folder: Path, media: Path, text: str, expected: str) -> None:
    playlist, errors = load_playlist(write(folder, "p.yaml", text), media)
    assert playlist is None
    assert len(errors) == 1
    assert errors[0].startswith(expected.format(media=media))


def test_gap_durations(folder: Path, media: Path) -> None:
    gaps = {}
    for written in ("0", "3", "2.5s", "1m"):
        playlist, _ = load_playlist(
            write(folder, "p.yaml", f"gap_s: {written}\nclips: [a.mp3]\n"), media
        )
        assert playlist is not None
        gaps[written] = playlist.gap_s
    assert gaps == {"0": 0.0, "3": 3.0, "2.5s": 2.5, "1m": 60.0}


def test_folder_loads_every_playlist_skips_slogans_and_reports_broken_ones(
    folder: Path, media: Path
) -> None:
    write(folder, "anti-fraud.yaml", "clips: [a.mp3]\n")
    write(folder, "news.yaml", "clips: [b.mp3]\n")
    write(folder, "broken.yaml", "clips: [a.mp3\n")
    write(folder, "slogans.yaml", "- 六个一律\n- 十个凡是\n")  # LED slogans, not a playlist
    write(folder, "notes.txt", "not yaml at all: [")
    playlists, errors = load_playlists(folder, media)
    assert sorted(playlists) == ["anti-fraud", "news"]
    assert len(errors) == 1
    assert errors[0].startswith("broken.yaml:2: YAML syntax error")


def test_a_missing_folder_has_no_playlists(tmp_path: Path, media: Path) -> None:
    assert load_playlists(tmp_path / "nowhere", media) == ({}, [])


CONFIG = """\
station: {name: 测试站, media_dir: audio, playlists_dir: playlists}
relays: [{id: r, type: fake, channels: 2}]
zones: [{id: east, name: 东村, relays: ["r:1"]}]
schedule:
  slots:
    - {name: 早间, start: 07:00, duration: 30m, playlist: anti-fraud}
"""


def test_load_config_attaches_playlists(tmp_path: Path, folder: Path, media: Path) -> None:
    write(folder, "anti-fraud.yaml", "gap_s: 1\nclips: [a.mp3]\n")
    write(folder, "spare.yaml", "clips: [b.mp3]\n")  # not used by any slot: loaded anyway
    loaded = load_config(write(tmp_path, "config.yaml", CONFIG))
    assert sorted(loaded.playlists) == ["anti-fraud", "spare"]
    assert loaded.playlists["anti-fraud"].clips == (media / "a.mp3",)


def test_load_config_reports_a_missing_playlist(tmp_path: Path, folder: Path, media: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, "config.yaml", CONFIG))
    assert caught.value.messages == [
        "config.yaml:6: schedule.slots[0].playlist: playlist 'anti-fraud' not found"
        f" (no file {folder}/anti-fraud.yaml)"
    ]


def test_load_config_reports_errors_in_any_playlist(
    tmp_path: Path, folder: Path, media: Path
) -> None:
    write(folder, "anti-fraud.yaml", "clips: [a.mp3, gone.mp3]\n")
    write(folder, "spare.yaml", "clips: {a: 1}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, "config.yaml", CONFIG))
    # A broken playlist is reported once, in its own file, not again as "not found".
    assert caught.value.messages == [
        f"anti-fraud.yaml:1: clips[1]: file 'gone.mp3' not found in {media}",
        "spare.yaml:1: clips: {'a': 1} should be a list",
    ]

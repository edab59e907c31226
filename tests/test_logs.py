"""Logs for maintainers (issue 11, item 7): station time on every line whatever the host's zone,
a rotating file per process under `<data_dir>/log/`, a full disk or a read-only folder that
never stops the station, and a client gone mid-upload as one WARNING line, not a traceback."""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from peers.live_api import LiveApi
from waiting import wait_for

from controller.access.users import UserStore
from controller.core.clock import SystemClock
from controller.core.logs import LogFile, configure_logging, log_to_file

SH = ZoneInfo("Asia/Shanghai")
STAMP = re.compile(r"^(\S+) (INFO|WARNING|ERROR) \[engine\] ")


class NightClock(SystemClock):
    """03:00 station time, whatever the real hour: no slot is near, so nothing airs."""

    def now(self) -> datetime:
        return datetime(2027, 6, 1, 3, 0, tzinfo=SH)


@pytest.fixture
def root_logging() -> Iterator[None]:
    """The root logger as pytest had it, given back after the test changed it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
        if handler not in handlers:
            handler.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def test_lines_carry_station_time_in_the_file_and_on_stderr(
    tmp_path: Path, host_in_utc: None, root_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("engine")
    path = log_to_file(tmp_path / "var" / "log", "engine", SH)
    assert path == tmp_path / "var" / "log" / "engine.log"
    before = datetime.now(SH)
    logging.getLogger("controller.station").info("播出开始 / on air")
    for handler in logging.getLogger().handlers:
        handler.flush()
    for text in (path.read_text(encoding="utf-8"), capsys.readouterr().err):
        (line,) = [x for x in text.splitlines() if "on air" in x]
        match = STAMP.match(line)
        assert match, line
        stamp = datetime.fromisoformat(match.group(1))
        assert stamp.utcoffset() == SH.utcoffset(before)  # +08:00 on a host in UTC
        assert abs((stamp - before).total_seconds()) < 5
        assert line.endswith("controller.station: 播出开始 / on air")


def test_a_folder_that_cannot_be_made_leaves_stderr_only(
    tmp_path: Path, root_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("api")
    (tmp_path / "var").write_text("a file where the folder should be")
    assert log_to_file(tmp_path / "var" / "log", "api", SH) is None
    logging.getLogger("controller.api").info("still here")
    err = capsys.readouterr().err
    assert "日志文件无法打开" in err and "cannot open log file" in err
    assert "still here" in err


def test_a_full_disk_drops_file_lines_with_one_notice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    handler = LogFile(tmp_path / "engine.log", maxBytes=1 << 20, backupCount=1)
    assert handler.stream is not None
    handler.stream.close()
    handler.stream = open("/dev/full", "w", encoding="utf-8")  # noqa: SIM115 (the handler's)
    logger = logging.getLogger("test_logs.full")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        for n in range(5):
            logger.error("line %d", n)  # no exception reaches the caller
    finally:
        logger.removeHandler(handler)
        handler.close()
    err = capsys.readouterr().err
    assert err.count("日志文件写入失败") == 1, err
    assert "Traceback" not in err


def test_a_client_gone_mid_upload_is_one_warning_line(
    shipped: Path, caplog: pytest.LogCaptureFixture
) -> None:
    users = UserStore(shipped.parent / "var" / "broadcastctl.sqlite3")
    token = users.add("wang", "operator")
    users.close()
    boundary = "logs-boundary"
    head = (
        f"POST /api/media HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: 1000000\r\n\r\n--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="a.mp3"\r\n\r\n'
    ).encode()
    caplog.set_level(logging.INFO)
    with LiveApi(shipped, NightClock()) as live:
        sock = live.connect()
        sock.sendall(head + b"\0" * 20000)  # a twentieth of what it announced
        sock.shutdown(socket.SHUT_RDWR)  # the phone loses its signal
        sock.close()
        status, _ = live.request("GET", "/healthz")  # the server goes on
        assert status == 200
        wait_for(lambda: [r for r in caplog.records if "went away" in r.getMessage()], 10)
    gone = [r for r in caplog.records if "went away" in r.getMessage()]
    assert len(gone) == 1 and gone[0].levelno == logging.WARNING, caplog.text
    assert "POST /api/media" in gone[0].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info], caplog.text
    assert not list((shipped.parent / "var" / "media" / "tmp").glob("*"))  # nothing left over

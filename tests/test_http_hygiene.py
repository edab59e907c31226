"""The HTTP server under abuse, over real sockets against the real uvicorn server: headers and
bodies that never come are cut off, connections over the cap are shed or refused without a log
flood, operator routes answer while the shared thread pool is exhausted and uploads pile up."""

from __future__ import annotations

import logging
import select
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import anyio.to_thread
import pytest
from peers.live_api import LiveApi, read_all
from test_api_media import NightClock

from controller.access.users import UserStore

BOUNDARY = "hygiene-boundary"


@pytest.fixture
def operator(shipped: Path) -> str:
    users = UserStore(shipped.parent / "var" / "broadcastctl.sqlite3")
    token = users.add("wang", "operator")
    users.close()
    return token


@pytest.fixture
def live(shipped: Path, operator: str) -> Iterator[LiveApi]:
    with LiveApi(shipped, NightClock(), header_timeout_s=0.5, body_timeout_s=0.5) as api:
        yield api


def _closed_within(sock: socket.socket, seconds: float) -> tuple[bool, bytes]:
    sock.settimeout(seconds)
    try:
        return True, read_all(sock)
    except TimeoutError:
        return False, b""


def test_a_connection_without_headers_is_closed_after_the_header_timeout(live: LiveApi) -> None:
    with live.connect() as silent, live.connect() as partial:
        partial.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # never the blank line
        began = time.monotonic()
        assert _closed_within(silent, 10) == (True, b"")  # an idle socket just closes
        closed, answer = _closed_within(partial, 10)
        assert closed and answer.startswith(b"HTTP/1.1 408 ")
        assert time.monotonic() - began < 5  # sanity: 0.5 s configured


def test_a_trickled_body_is_cut_off_with_408(live: LiveApi) -> None:
    answer = b""
    with live.connect() as sock:
        sock.sendall(
            b"POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n{"
        )
        for _ in range(200):  # one byte every 50 ms: far below body_min_rate
            readable, _, _ = select.select([sock], [], [], 0.05)
            if readable:
                answer = read_all(sock)
                break
            try:
                sock.sendall(b" ")
            except OSError:
                break
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert "请求体发送过慢" in answer.decode()
    assert live.request("GET", "/healthz")[0] == 200


def test_half_open_connections_over_the_cap_are_shed_and_healthz_answers(
    shipped: Path, operator: str
) -> None:
    with LiveApi(shipped, NightClock(), max_connections=8, header_timeout_s=60) as live:
        socks = [live.connect() for _ in range(8 + 5)]
        closed = [s for s in socks if _closed_within(s, 0.5)[0]]
        assert len(closed) >= 5  # long before the 60 s header timeout
        assert live.sock.gate.open <= 8
        assert live.request("GET", "/healthz")[0] == 200  # it sent its headers at once
        for s in socks:
            s.close()


def _busy(live: LiveApi) -> socket.socket:
    """A connection with a request in progress: the app is waiting for its body."""
    sock = live.connect()
    sock.sendall(
        b"POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100\r\nExpect: 100-continue\r\n\r\n"
    )
    assert sock.recv(100).startswith(b"HTTP/1.1 100 ")  # uvicorn says so when the app reads
    return sock


def test_busy_connections_at_the_cap_refuse_more_with_503_and_one_log_line(
    shipped: Path, operator: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="controller.api.httpguard")
    with LiveApi(shipped, NightClock(), max_connections=8, body_timeout_s=60) as live:
        busy = [_busy(live) for _ in range(8)]
        for _ in range(40):
            extra = live.connect()
            closed, answer = _closed_within(extra, 5)
            assert closed and answer.startswith(b"HTTP/1.1 503 "), answer
            assert "连接过多" in answer.decode()
            extra.close()
        for s in busy:
            s.close()
    reports = [r for r in caplog.records if r.name == "controller.api.httpguard"]
    assert len(reports) == 1  # at most one line per 10 s, however many are refused


def _silence(path: Path) -> bytes:
    """A tiny file of three minutes of silence (about 35 kB of FLAC): each admitted upload
    decodes for seconds, long past the stops timed below (ten minutes only took 5 s longer)."""
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
         "anullsrc=r=8000:cl=mono", "-t", "180", "-c:a", "flac", str(path)],
        check=True,
    )  # fmt: skip
    return path.read_bytes()


def _upload_parts(token: str, audio: bytes) -> tuple[bytes, bytes]:
    """An upload's bytes, split before its last few so a test can hold it open."""
    body = (
        f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"s.flac\"\r\n"
        "Content-Type: audio/flac\r\n\r\n"
    ).encode() + audio + f"\r\n--{BOUNDARY}--\r\n".encode()
    head = (
        f"POST /api/media HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body[:-8], body[-8:]


def _timed_stop(live: LiveApi, token: str) -> float:
    began = time.monotonic()
    status, body = live.request(
        "POST", "/api/stop", {"reason": "测试"}, {"Authorization": f"Bearer {token}"}
    )
    assert status == 200, body
    return time.monotonic() - began


def test_stop_answers_while_uploads_pile_up_and_the_shared_pool_is_taken(
    shipped: Path, operator: str, tmp_path: Path
) -> None:
    audio = _silence(tmp_path / "silence.flac")
    with LiveApi(shipped, NightClock(), body_timeout_s=60) as live:
        head, tail = _upload_parts(operator, audio)
        uploads = [live.connect() for _ in range(30)]
        for sock in uploads:
            sock.sendall(head)
        assert _timed_stop(live, operator) < 2  # sanity: 1 s is the promise
        for sock in uploads:
            sock.sendall(tail)  # the admitted ones now decode three minutes each
        assert _timed_stop(live, operator) < 2
        status, _ = live.request(
            "DELETE", "/api/airings/none", headers={"Authorization": f"Bearer {operator}"}
        )
        assert status == 404
        # Every thread of the shared pool taken: sync routes would wait, 停播 must not.
        limiter = live.call(_default_limiter())
        holders = [object() for _ in range(int(limiter.total_tokens))]
        for holder in holders:
            live.call(limiter.acquire_on_behalf_of(holder))
        try:
            assert _timed_stop(live, operator) < 2
            assert live.request("GET", "/healthz")[0] == 200
        finally:
            for holder in holders:
                live.loop.call_soon_threadsafe(limiter.release_on_behalf_of, holder)
        statuses = []
        for sock in uploads:
            sock.settimeout(60)
            answer = read_all(sock)
            statuses.append(int(answer.split(b" ", 2)[1]))
            sock.close()
    assert set(statuses) <= {422, 503}  # silent, or too many at once; never a 5xx of ours
    assert statuses.count(503) >= 30 - 6  # 2 ingests + 4 waiting are admitted


async def _default_limiter() -> anyio.CapacityLimiter:
    return anyio.to_thread.current_default_thread_limiter()

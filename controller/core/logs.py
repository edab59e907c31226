"""Logs for maintainers: every process's lines on stderr (the journal, under systemd) and in
a rotating file of its own under `<data_dir>/log/`, stamped in station time with the offset.

A log that cannot be written (the folder read-only, the disk full) never stops the station:
the file is left out, or its lines are dropped, with one line on stderr saying so. Each process
has its own file (`engine.log`, `api.log`, `supervisor.log`): two processes rotating one file
would lose lines."""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import sys
from datetime import UTC, datetime, tzinfo
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s [{process}] %(name)s: %(message)s"
MAX_BYTES = 5 * 1024 * 1024
BACKUPS = 5  # 30 MB per process at the most
QUIET = {"apscheduler": logging.WARNING, "multipart": logging.WARNING}


class StationTimeFormatter(logging.Formatter):
    """`2026-12-03T07:00:00.012+08:00`: the station's clock, whatever the host's zone."""

    def __init__(self, fmt: str, tz: tzinfo) -> None:
        super().__init__(fmt)
        self.tz = tz

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created, self.tz).isoformat(timespec="milliseconds")


class LogFile(logging.handlers.RotatingFileHandler):
    """A rotating file whose write failures are said once on stderr, not once per line."""

    failed = False

    def handleError(self, record: logging.LogRecord) -> None:
        if not self.failed:
            self.failed = True
            error = sys.exc_info()[1]
            print(
                f"日志文件写入失败，此后的日志只在标准错误输出 / cannot write {self.baseFilename}: "
                f"{error}; later lines go to stderr only",
                file=sys.stderr,
            )

    def close(self) -> None:
        # the last buffered lines on a full disk: already said in handleError
        with contextlib.suppress(OSError):
            super().close()


def configure_logging(process: str, tz: tzinfo = UTC) -> None:
    """Lines of `process` on stderr, at INFO; libraries' chatter at WARNING."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    stream = logging.StreamHandler(sys.stderr)
    stream.setFormatter(StationTimeFormatter(FORMAT.format(process=process), tz))
    root.addHandler(stream)
    root.setLevel(logging.INFO)
    for name, level in QUIET.items():
        logging.getLogger(name).setLevel(level)


def log_to_file(folder: Path, process: str, tz: tzinfo) -> Path | None:
    """From now on `process` also logs to `<folder>/<process>.log`, and every line is stamped
    in `tz` (the station's zone, known once the config is read). None if the file cannot be
    opened; the reason is logged and stderr goes on."""
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler.formatter, StationTimeFormatter):
            handler.formatter.tz = tz
    path = folder / f"{process}.log"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handler = LogFile(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")
    except OSError as exc:
        logging.getLogger(__name__).warning(
            "日志文件无法打开，日志只在标准错误输出 / cannot open log file %s: %s", path, exc
        )
        return None
    handler.setFormatter(StationTimeFormatter(FORMAT.format(process=process), tz))
    root.addHandler(handler)
    return path

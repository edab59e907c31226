"""A streaming multipart/form-data reader: the file part goes straight to a temp file on disk."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import BinaryIO

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

FIELDS = frozenset({"title", "tags", "valid_from", "valid_until", "reason"})
MAX_FIELD_BYTES = 64 * 1024  # all text fields together
_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,5}")
_TEXT = {"type": "string"}
OPENAPI_BODY = {  # the form as OpenAPI shows it (the route reads the stream itself)
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        **{name: _TEXT for name in sorted(FIELDS)},
                    },
                }
            }
        },
    }
}


class FormError(Exception):
    """The upload cannot be read; `status` is the HTTP status, the message is bilingual."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def split_tags(values: Iterable[str]) -> list[str]:
    """Tags as typed: repeated fields and/or separated by commas or spaces, each once."""
    tags: list[str] = []
    for value in values:
        for tag in re.split(r"[,，、\s]+", value):
            if tag and tag not in tags:
                tags.append(tag)
    return tags


def safe_name(raw: str) -> str:
    """The last component of a client-sent file name (no directories, no traversal)."""
    name = PureWindowsPath(PurePosixPath(raw).name).name.strip()
    return "" if name in ("", ".", "..") else name[:200]


class UploadForm:
    """Feed it the body chunk by chunk; it keeps text fields and writes the one file part
    (field `file`) to `tmp_dir`, refusing it (413) as soon as it passes `max_file_bytes`."""

    def __init__(self, content_type: str, tmp_dir: Path, *, max_file_bytes: int) -> None:
        kind, options = parse_options_header(content_type)
        boundary = options.get(b"boundary")
        if kind != b"multipart/form-data" or not boundary:
            raise FormError(415, "请以 multipart/form-data 上传 / send multipart/form-data")
        self.tmp_dir = tmp_dir
        self.max_file_bytes = max_file_bytes
        self.file: Path | None = None
        self.filename: str | None = None
        self._fields: dict[str, list[str]] = {}
        self._field_bytes = 0
        self._out: BinaryIO | None = None
        self._written = 0
        self._headers: dict[str, str] = {}
        self._name = ""
        self._header = (b"", b"")
        self._buffer = bytearray()
        self._ended = False
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._part_begin,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
                "on_end": self._end,
            },
        )

    def write(self, chunk: bytes) -> None:
        try:
            self._parser.write(chunk)
        except FormParserError as exc:
            raise FormError(422, f"表单格式错误 / malformed multipart body: {exc}") from None

    def finish(self) -> None:
        """The body has ended: check it was complete and had a file."""
        if not self._ended:
            raise FormError(422, "上传不完整 / the multipart body ended early")
        if self.file is None or self._written == 0:
            raise FormError(422, "缺少音频文件（字段 file） / no file in field 'file'")

    def field(self, name: str) -> str | None:
        values = self._fields.get(name)
        return values[-1] if values else None

    def values(self, name: str) -> list[str]:
        return self._fields.get(name, [])

    def discard(self) -> None:
        """Close and remove the temp file (always called, whatever happened)."""
        if self._out is not None:
            self._out.close()
            self._out = None
        if self.file is not None:
            self.file.unlink(missing_ok=True)

    def _part_begin(self) -> None:
        self._headers, self._header, self._buffer = {}, (b"", b""), bytearray()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header = (self._header[0] + data[start:end], self._header[1])

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._header = (self._header[0], self._header[1] + data[start:end])

    def _header_end(self) -> None:
        name, value = self._header
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")
        self._header = (b"", b"")

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get("content-disposition", ""))
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        if filename is None:
            if self._name not in FIELDS:
                known = ", ".join(sorted(FIELDS | {"file"}))
                raise FormError(422, f"未知字段 / unknown field {self._name!r} (use {known})")
            return
        if self._name != "file" or self.file is not None:
            raise FormError(422, "只能上传一个文件，字段名 file / send one file, in field 'file'")
        self.filename = safe_name(filename.decode("utf-8", "replace"))
        match = _SUFFIX.fullmatch(Path(self.filename).suffix)
        suffix = match.group(0).lower() if match else ""
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        self.file = self.tmp_dir / f"upload-{uuid.uuid4().hex}{suffix}"
        self._out = self.file.open("xb")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._out is not None:
            self._written += end - start
            if self._written > self.max_file_bytes:
                mb = self.max_file_bytes / 1_048_576
                raise FormError(
                    413, f"文件过大，上限 {mb:.3g} MB / file too large (limit {mb:.3g} MB)"
                )
            self._out.write(data[start:end])
            return
        self._field_bytes += end - start
        if self._field_bytes > MAX_FIELD_BYTES:
            raise FormError(413, "表单字段过长 / form fields too long")
        self._buffer += data[start:end]

    def _part_end(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
            return
        try:
            text = self._buffer.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise FormError(422, f"字段不是 UTF-8 / field {self._name!r} is not UTF-8") from None
        self._fields.setdefault(self._name, []).append(text)

    def _end(self) -> None:
        self._ended = True

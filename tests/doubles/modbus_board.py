"""A Modbus RTU relay board double on a pty: standard coils, Waveshare timed commands, R421A08.

Written from the vendors' published frames (research report §B.1-B.2), with its own CRC and
framing, so that a bug in the product's codec cannot hide behind the same bug here.
"""

from __future__ import annotations

import termios
import threading
import time
from pathlib import Path

import serial


def _crc_table() -> list[int]:
    table = []
    for n in range(256):
        crc = n
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc_table()


def rtu_crc(data: bytes) -> bytes:
    crc = 0xFFFF
    for byte in data:
        crc = (crc >> 8) ^ _TABLE[(crc ^ byte) & 0xFF]
    return bytes([crc & 0xFF, crc >> 8])


class _Refuse(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


class ModbusBoardDouble:
    """One board on one pty end. Thread-based; follows the pty when socat is restarted.

    Fault knobs: `mute` (never answers), `noise` (bytes sent before every reply),
    `refuse_with` (answer every request with this exception code), `stuck` (channels that echo
    writes but never change: a welded contact or a bad coil driver).
    """

    def __init__(
        self, port: Path | str, *, profile: str = "standard", unit: int = 1, channels: int = 8
    ) -> None:
        if profile not in ("standard", "waveshare", "r421a08"):
            raise ValueError(f"unknown profile {profile!r}")
        self.port, self.profile, self.unit = str(port), profile, unit
        self.relays = [False] * channels
        self.requests: list[bytes] = []  # every request addressed to us, as received
        self.changes: list[tuple[float, int, bool]] = []  # (time.monotonic(), channel, on)
        self.mute = False
        self.noise = b""
        self.refuse_with: int | None = None
        self.stuck: set[int] = set()
        self.opened = 0  # times the pty was (re)opened
        self._timers: dict[int, tuple[float, bool]] = {}  # channel → (due, state then)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="modbus-board", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def is_on(self, channel: int) -> bool:
        return self.relays[channel - 1]

    def _set(self, channel: int, on: bool, *, keep_timer: bool = False) -> None:
        if not keep_timer:
            self._timers.pop(channel, None)
        if channel in self.stuck or self.relays[channel - 1] == on:
            return
        self.relays[channel - 1] = on
        self.changes.append((time.monotonic(), channel, on))

    def _run(self) -> None:
        port: serial.Serial | None = None
        buffer = bytearray()
        while not self._stop.is_set():
            if port is None:
                try:
                    port = serial.serial_for_url(self.port, baudrate=9600, timeout=0.01)
                except (OSError, serial.SerialException, termios.error):
                    time.sleep(0.02)
                    continue
                buffer.clear()
                self.opened += 1
            try:
                buffer += port.read(max(1, port.in_waiting))
                with self._lock:
                    self._expire()
                    while (frame := self._take(buffer)) is not None:
                        reply = self._answer(frame)
                        if reply is not None and not self.mute:
                            port.write(self.noise + reply)
            except (OSError, serial.SerialException, termios.error):
                port.close()
                port = None  # socat gone: wait for the link to come back
        if port is not None:
            port.close()

    def _expire(self) -> None:
        now = time.monotonic()
        for channel, (due, on) in list(self._timers.items()):
            if now >= due:
                self._set(channel, on)

    def _take(self, buffer: bytearray) -> bytes | None:
        """One request frame from the front of `buffer`, dropping bytes that start none."""
        while len(buffer) >= 2:
            if buffer[1] == 0x0F:
                if len(buffer) < 7:
                    return None
                length = 9 + buffer[6]
            else:
                length = 8
            if len(buffer) < length:
                return None
            frame = bytes(buffer[:length])
            if rtu_crc(frame[:-2]) == frame[-2:]:
                del buffer[:length]
                return frame
            del buffer[0]
        return None

    def _answer(self, frame: bytes) -> bytes | None:
        if frame[0] != self.unit:
            return None  # another board on the bus
        self.requests.append(frame)
        function = frame[1]
        try:
            if self.refuse_with is not None:
                raise _Refuse(self.refuse_with)
            if self.profile == "r421a08":
                body = self._r421a08(function, frame)
            else:
                body = self._coils(function, frame)
        except _Refuse as refusal:
            body = bytes([self.unit, function | 0x80, refusal.code])
        return body + rtu_crc(body)

    def _coils(self, function: int, frame: bytes) -> bytes:
        address = int.from_bytes(frame[2:4], "big")
        value = int.from_bytes(frame[4:6], "big")
        n = len(self.relays)
        if function == 0x01:
            if value < 1 or address + value > n:
                raise _Refuse(0x02)
            packed = bytearray((value + 7) // 8)
            for i in range(value):
                if self.relays[address + i]:
                    packed[i // 8] |= 1 << (i % 8)
            return bytes([self.unit, 0x01, len(packed)]) + bytes(packed)
        if function == 0x0F:
            if value < 1 or address + value > n:
                raise _Refuse(0x02)
            for i in range(value):
                self._set(address + i + 1, bool(frame[7 + i // 8] >> (i % 8) & 1))
            return frame[:6]
        if function != 0x05:
            raise _Refuse(0x01)
        waveshare = self.profile == "waveshare"
        if address < n:
            self._write_coil(address + 1, value, toggle=waveshare)
        elif waveshare and address == 0x00FF:
            for channel in range(1, n + 1):
                self._write_coil(channel, value, toggle=True)
        elif waveshare and 0x0200 <= address < 0x0200 + n and 1 <= value <= 0x7FFF:
            # Flash ON: ON now, OFF by itself after value × 100 ms.
            self._set(address - 0x0200 + 1, True)
            self._timers[address - 0x0200 + 1] = (time.monotonic() + value / 10, False)
        elif waveshare and 0x0400 <= address < 0x0400 + n and 1 <= value <= 0x7FFF:
            # Flash OFF, the mirror image (the product never sends it).
            self._set(address - 0x0400 + 1, False)
            self._timers[address - 0x0400 + 1] = (time.monotonic() + value / 10, True)
        elif waveshare and (0x0200 <= address < 0x0200 + n or 0x0400 <= address < 0x0400 + n):
            raise _Refuse(0x03)
        else:
            raise _Refuse(0x02)
        return frame[:6]

    def _write_coil(self, channel: int, value: int, *, toggle: bool) -> None:
        if value == 0xFF00:
            self._set(channel, True)
        elif value == 0x0000:
            self._set(channel, False)
        elif toggle and value == 0x5500:
            self._set(channel, not self.relays[channel - 1])
        else:
            raise _Refuse(0x03)

    def _r421a08(self, function: int, frame: bytes) -> bytes:
        register = int.from_bytes(frame[2:4], "big")
        n = len(self.relays)
        if function == 0x03:
            count = int.from_bytes(frame[4:6], "big")
            if register < 1 or count < 1 or register + count - 1 > n:
                raise _Refuse(0x02)
            data = b"".join(
                int(self.relays[register - 1 + i]).to_bytes(2, "big") for i in range(count)
            )
            return bytes([self.unit, 0x03, len(data)]) + data
        if function != 0x06:
            raise _Refuse(0x01)
        if not 1 <= register <= n:
            raise _Refuse(0x02)
        command, delay = frame[4], frame[5]
        if command == 0x01:
            self._set(register, True)
        elif command == 0x02:
            self._set(register, False)
        elif command == 0x03:
            self._set(register, not self.relays[register - 1])
        elif command == 0x04:  # latch: this one on, every other off
            for channel in range(1, n + 1):
                self._set(channel, channel == register)
        elif command in (0x05, 0x06):  # momentary (about 1 s) / delay: ON for N s, then OFF
            self._set(register, True)
            seconds = 1 if command == 0x05 else delay
            self._timers[register] = (time.monotonic() + seconds, False)
        else:
            raise _Refuse(0x03)
        return frame[:6]

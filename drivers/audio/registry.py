"""Builds the configured audio output (config `audio.output.type`) from an explicit table."""

from __future__ import annotations

from collections.abc import Callable

from drivers.audio.base import AudioOutput
from drivers.audio.file import FileOutput
from drivers.audio.null import NullOutput
from drivers.audio.retention import GB, AircheckStore
from drivers.settings.links import AudioOutputConfig


def _file(cfg: AudioOutputConfig) -> AudioOutput:
    limits = round(cfg.max_gb * GB), round(cfg.min_free_gb * GB)
    return FileOutput(AircheckStore(cfg.dir, cfg.keep_days, *limits))


def _null(cfg: AudioOutputConfig) -> AudioOutput:
    return NullOutput()


def _alsa(cfg: AudioOutputConfig) -> AudioOutput:
    # Imported here so stations without miniaudio installed can still run file/null outputs.
    from drivers.audio.alsa import AlsaOutput

    return AlsaOutput(cfg.device)


OUTPUTS: dict[str, Callable[[AudioOutputConfig], AudioOutput]] = {
    "file": _file,
    "null": _null,
    "alsa": _alsa,
}


def build_output(cfg: AudioOutputConfig) -> AudioOutput:
    try:
        factory = OUTPUTS[cfg.type]
    except KeyError:
        raise ValueError(f"unknown audio output type {cfg.type!r}") from None
    return factory(cfg)

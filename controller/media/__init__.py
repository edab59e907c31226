"""The media library: ingest of police audio (checks, loudness normalisation) and its clips."""

from controller.media.analyse import IngestError
from controller.media.ingest import upload_limit_bytes
from controller.media.library import Clip, ClipStatus, MediaLibrary

__all__ = ["Clip", "ClipStatus", "IngestError", "MediaLibrary", "upload_limit_bytes"]

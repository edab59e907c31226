"""The station configuration: config.yaml and playlists, read strictly, errors with lines."""

from controller.config.load import ConfigError, LoadedConfig, check_main, load_config
from controller.config.models import Config
from controller.config.playlists import Playlist

__all__ = ["Config", "ConfigError", "LoadedConfig", "Playlist", "check_main", "load_config"]

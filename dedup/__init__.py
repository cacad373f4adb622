"""dedup: near-duplicate article clusters and boilerplate for folders of scraped web text."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from dedup.config import (
    ClusterConfig,
    DedupConfig,
    IngestConfig,
    KeepPolicy,
    LshConfig,
    SegmentConfig,
    ShingleConfig,
    VerifyConfig,
)
from dedup.errors import ConfigError, DedupError, InputError, StoreMismatchError
from dedup.pipeline import DedupResult, run
from dedup.report import write_reports

try:
    __version__ = version("dedup")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

__all__ = [
    "ClusterConfig",
    "ConfigError",
    "DedupConfig",
    "DedupError",
    "DedupResult",
    "IngestConfig",
    "InputError",
    "KeepPolicy",
    "LshConfig",
    "SegmentConfig",
    "ShingleConfig",
    "StoreMismatchError",
    "VerifyConfig",
    "__version__",
    "run",
    "write_reports",
]

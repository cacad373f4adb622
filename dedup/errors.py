"""Exception hierarchy: the library raises only :class:`DedupError` subclasses for run failures."""

from __future__ import annotations


class DedupError(Exception):
    """Base class of every error a run can end with (the CLI prints ``Error: <message>``, exit 1)."""


class InputError(DedupError):
    """The input as a whole cannot be used (missing folder, nothing readable)."""


class ConfigError(DedupError, ValueError):
    """A parameter is out of range or inconsistent; raised before any article is read."""


class StoreMismatchError(DedupError):
    """A stored index was built with other MinHash/LSH parameters or another datasketch version."""


class ScratchError(DedupError):
    """The temporary file that holds the corpus' texts during a run cannot be made or written."""


__all__ = ["ConfigError", "DedupError", "InputError", "ScratchError", "StoreMismatchError"]

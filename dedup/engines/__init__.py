"""Execution engines: how the per-file stage functions are run (in-process, a process pool, or Apache
Spark: :mod:`dedup.engines.spark`, imported only when a run asks for it)."""

from __future__ import annotations

from dedup.engines.local import (
    keep_freed_heap,
    map_forked,
    map_ordered,
    no_huge_pages,
    release_memory,
    release_memory_if_grown,
)

__all__ = [
    "keep_freed_heap",
    "map_forked",
    "map_ordered",
    "no_huge_pages",
    "release_memory",
    "release_memory_if_grown",
]

from __future__ import annotations

import os
import platform
import sys

import pytest

from dedup.engines import map_forked, no_huge_pages, release_memory


def _set(enabled: bool) -> bool:
    try:
        from numpy._core.multiarray import _set_madvise_hugepage
    except ImportError:  # NumPy 1.26
        from numpy.core.multiarray import _set_madvise_hugepage
    return bool(_set_madvise_hugepage(enabled))


def test_run_commands_stop_numpy_asking_for_huge_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    previous = _set(True)
    try:
        monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE", raising=False)
        assert no_huge_pages() is True
        assert _set(True) is False  # it was off
        monkeypatch.setenv("NUMPY_MADVISE_HUGEPAGE", "1")  # the user's own choice wins
        assert no_huge_pages() is False
        assert _set(True) is True  # left on
    finally:
        _set(previous)


_STATE: dict[str, int] = {}


def _plus_state(x: int) -> int:
    return x + _STATE.get("offset", 0)


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("n_items", [0, 3, 20])
def test_meanwhile_runs_once_in_this_process_and_results_keep_their_order(workers: int, n_items: int) -> None:
    """``meanwhile`` runs here while the forked workers work; the workers were forked before it ran,
    so what it changes is not seen by them (with one worker it runs before the items)."""
    calls: list[int] = []
    _STATE["offset"] = 100

    def meanwhile() -> None:
        calls.append(os.getpid())
        _STATE["offset"] = 1000

    try:
        out = list(map_forked(_plus_state, range(n_items), workers, meanwhile=meanwhile))
    finally:
        _STATE.clear()
    assert calls == [os.getpid()]
    offset = 1000 if workers == 1 else 100
    assert out == [i + offset for i in range(n_items)]


def _resident_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="glibc malloc_trim"
)
def test_release_memory_hands_freed_heap_pages_back() -> None:
    blocks = [bytearray(64 * 1024) for _ in range(2048)]  # 134 MB of heap chunks (under the mmap threshold)
    last = blocks.pop()  # a live chunk above the freed ones: free() alone cannot shrink the heap
    before = _resident_mb()
    del blocks
    assert _resident_mb() > before - 64  # glibc kept the freed chunks
    assert release_memory() is True
    assert _resident_mb() < before - 100
    del last

from __future__ import annotations

import os
import platform
import subprocess
import sys
import threading
import time

import pytest

from dedup.engines import map_forked, map_ordered, no_huge_pages, release_memory


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


def _in_main_thread(x: int) -> tuple[int, bool]:
    return x, threading.current_thread() is threading.main_thread()


def _fail_on_three(x: int) -> int:
    if x == 3:
        raise ValueError("item 3 is bad")
    return x


@pytest.mark.parametrize("workers", [1, 2])
def test_forked_tasks_run_in_a_thread_of_their_own_and_their_errors_reach_the_caller(workers: int) -> None:
    """A forked worker runs each task in a new thread (a malloc arena of its own, not the parent's
    fragmented heap); results keep their order and a task's exception is raised here as it was."""
    assert list(map_forked(_in_main_thread, range(6), workers)) == [(i, workers == 1) for i in range(6)]
    with pytest.raises(ValueError, match="item 3 is bad"):
        list(map_forked(_fail_on_three, range(6), workers))
    # Unforked pools (the read workers) run their tasks as they are.
    assert list(map_ordered(_in_main_thread, range(3), workers)) == [(i, True) for i in range(3)]


def _init_state() -> None:
    _STATE["init"] = _STATE.get("init", 0) + 1
    _STATE["pid"] = os.getpid()


def _state_seen(x: int) -> tuple[int, int, bool]:
    return x, _STATE.get("init", 0), _STATE.get("pid", 0) == os.getpid()


@pytest.mark.parametrize("workers", [1, 2])
def test_initializer_runs_once_in_each_worker_before_its_items(workers: int) -> None:
    try:
        out = list(map_ordered(_state_seen, range(12), workers, initializer=_init_state))
        here = dict(_STATE)
    finally:
        _STATE.clear()
    if workers == 1:  # no worker process: nothing to initialise
        assert out == [(i, 0, False) for i in range(12)]
    else:
        assert out == [(i, 1, True) for i in range(12)]
    assert here == {}


_KEEP_HEAP = """
import os
from dedup.engines import keep_freed_heap, release_memory

def resident_mb():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6

assert keep_freed_heap() is True
blocks = [bytearray(1 << 20) for _ in range(200)]  # 210 MB of 1 MiB arrays
before = resident_mb()
del blocks
kept = resident_mb()
release_memory()
print(round(before - kept), round(before - resident_mb()))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="glibc mallopt")
def test_keep_freed_heap_keeps_freed_arrays_until_released() -> None:
    """With it, 1 MiB blocks come from the heap and their pages stay after ``del`` (glibc's default
    maps each one and unmaps it when freed); ``release_memory`` still hands them back."""
    done = subprocess.run([sys.executable, "-c", _KEEP_HEAP], capture_output=True, text=True, check=True)
    dropped_by_del, dropped_by_release = map(int, done.stdout.split())
    assert dropped_by_del < 20
    assert dropped_by_release > 180


_TRIM_IF_GROWN = """
import os
from dedup.engines import keep_freed_heap, release_memory_if_grown

def resident_mb():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6

keep_freed_heap()  # freed 1 MiB blocks stay in the heap until trimmed
first = release_memory_if_grown(16 << 20)  # the baseline
blocks = [bytearray(1 << 20) for _ in range(8)]
del blocks
small = release_memory_if_grown(16 << 20)  # 8 MB piled up: under the bound, kept
blocks = [bytearray(1 << 20) for _ in range(200)]
del blocks
before = resident_mb()
large = release_memory_if_grown(16 << 20)
print(first, small, large, round(before - resident_mb()))
"""


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="glibc malloc_trim"
)
def test_release_memory_if_grown_trims_only_past_the_bound() -> None:
    """Verification workers hand freed memory back only once more than the bound has piled up
    since their last trim (trimming after every chunk faulted the pages in again)."""
    done = subprocess.run([sys.executable, "-c", _TRIM_IF_GROWN], capture_output=True, text=True, check=True)
    first, small, large, dropped = done.stdout.split()
    assert (first, small, large) == ("False", "False", "True")
    assert int(dropped) > 150


_ORPHANS = """
import multiprocessing, os, time
from dedup.engines import map_ordered

def slow(x):
    time.sleep(0.05)
    return bytes(1 << 20)  # results that soon fill the pipe once nobody reads them

for i, _ in enumerate(map_ordered(slow, range(10_000), 2)):
    if i == 4:
        print(" ".join(str(p.pid) for p in multiprocessing.active_children()), flush=True)
        os.kill(os.getpid(), 9)  # killed as the OOM killer or a timeout would kill a nightly run
"""


def _running(pid: int) -> bool:
    """Whether the process exists and is no zombie (a container's init may not reap them)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_workers_die_with_a_killed_run() -> None:
    """A run killed by a signal leaves no worker behind (they would block on a full pipe forever)."""
    proc = subprocess.Popen([sys.executable, "-c", _ORPHANS], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    workers = [int(pid) for pid in proc.stdout.readline().split()]
    assert len(workers) == 2
    proc.wait(timeout=30)
    assert proc.returncode == -9
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(map(_running, workers)):
        time.sleep(0.05)
    assert [w for w in workers if _running(w)] == []

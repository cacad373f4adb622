"""Local engine: run a function over work items in order, in this process or a process pool."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import gc
import multiprocessing
import multiprocessing.context
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sized
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def no_huge_pages() -> bool:
    """Stop NumPy asking the kernel for transparent huge pages (``madvise``) for large arrays.

    Where THP is in ``madvise`` mode (the common default), each such request may stall in direct
    memory compaction; a run allocates and frees hundreds of large arrays, in forked workers too (they
    inherit the setting). Measured on the 92 MB benchmark corpus: 11.25-11.59 s per scan without,
    12.12-12.19 s with. NumPy's own ``NUMPY_MADVISE_HUGEPAGE`` variable, when set, wins.

    Returns:
        Whether the setting was changed.
    """
    if "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        return False
    try:
        from numpy._core.multiarray import _set_madvise_hugepage  # NumPy 2
    except ImportError:  # pragma: no cover - NumPy 1.26
        from numpy.core.multiarray import _set_madvise_hugepage
    _set_madvise_hugepage(False)
    return True


@functools.cache
def _libc_function(name: str) -> Callable[..., int] | None:
    """A glibc function (``malloc_trim``, ``mallopt``), or ``None`` where the C library has none
    (musl, macOS, Windows). Looked up once per process."""
    library = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(library), name) if library else None
    except (OSError, AttributeError):
        return None


def release_memory() -> bool:
    """Hand the heap's free pages back to the kernel (glibc ``malloc_trim``).

    glibc keeps memory freed by Python and NumPy in its heaps, where it still counts in the resident
    size (and in every forked worker's share). After the read stage of the 100 MB benchmark corpus
    that was 284 MB beside 454 MB of corpus arrays; one call (16 ms) returns it.

    Returns:
        Whether the C library could be asked.
    """
    trim = _libc_function("malloc_trim")
    if trim is None:
        return False
    trim(0)
    return True


_TRIMMED_AT: dict[int, int] = {}  # per process: resident bytes after its last release_memory_if_grown


def _resident_bytes() -> int | None:
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def release_memory_if_grown(by: int) -> bool:
    """:func:`release_memory` once this process' resident size has grown by more than ``by``
    bytes since the last time this function handed memory back (or since its first call).

    For workers that run many similar tasks: trimming after every one faults the pages in again
    for the next (a 40,000-paragraph list of near-identical lines has 1,950 verification chunks);
    trimming only when freed memory piles up bounds the worker by about ``by`` more. Where the
    resident size cannot be read (no ``/proc``), it trims every time.

    Returns:
        Whether memory was handed back.
    """
    now = _resident_bytes()
    if now is None:
        return release_memory()
    base = _TRIMMED_AT.setdefault(os.getpid(), now)
    if now - base <= by:
        return False
    trimmed = release_memory()
    _TRIMMED_AT[os.getpid()] = _resident_bytes() or now
    return trimmed


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc mallopt parameters


def keep_freed_heap(keep: int = 512 << 20, mmap_from: int = 32 << 20) -> bool:
    """Let this process keep up to ``keep`` bytes of freed heap and serve allocations under
    ``mmap_from`` from the heap (glibc ``M_TRIM_THRESHOLD`` and ``M_MMAP_THRESHOLD``).

    For short-lived workers that allocate and free arrays of the same sizes task after task (the
    read workers): by default glibc hands much of that memory back and faults it in again. Reading
    the 102 MB benchmark corpus, the two read workers took 100k–190k page faults and 0.6–1.0 s of
    system time, a tenth of their time; 35k and 0.4–0.55 s with this. The memory goes back when
    the worker ends.

    Returns:
        Whether the C library could be asked.
    """
    mallopt = _libc_function("mallopt")
    if mallopt is None:
        return False
    mallopt(_M_TRIM_THRESHOLD, keep)
    mallopt(_M_MMAP_THRESHOLD, mmap_from)
    return True


_PR_SET_PDEATHSIG = 1  # Linux prctl option: the signal this process gets when its parent dies


def _start_worker(parent: int, initializer: Callable[[], object] | None) -> None:
    """First thing in every pool worker: die with the process that made it, then ``initializer``.

    A run killed by a signal it does not handle (cron's ``timeout`` sends TERM, the OOM killer
    KILL) runs no clean-up, and its workers would live on: blocked writing results to a pipe that
    their sibling workers still hold open, with their memory, night after night. Linux kills them
    (``PR_SET_PDEATHSIG``); the pool makes them from this process' main thread, whose end is the
    process' end. A parent gone before the call is caught by the parent-pid check.
    """
    prctl = _libc_function("prctl") if sys.platform.startswith("linux") else None
    if prctl is not None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)
    if initializer is not None:
        initializer()


def map_ordered(
    func: Callable[[T], R],
    items: Iterable[T],
    workers: int,
    fork: bool = False,
    meanwhile: Callable[[], object] | None = None,
    initializer: Callable[[], object] | None = None,
) -> Iterator[R]:
    """``map`` with results in input order, whatever the worker count.

    Args:
        func: a picklable top-level function.
        items: work items (picklable).
        workers: 1 runs in this process; more uses a process pool of that size.
        fork: start the workers by forking this process, so they see its current memory (large
            read-only state set up before the call) without pickling it.
        meanwhile: called once in this process while the workers run their first items (with one
            worker, before them): work of this process that the items do not need.
        initializer: called once in each worker process before its first item (not with one
            worker: this process is no worker).

    Yields:
        ``func(item)`` for each item, in the order of ``items``.
    """
    if workers <= 1:
        if meanwhile is not None:
            meanwhile()
        yield from map(func, items)
        return
    context = multiprocessing.get_context("fork") if fork else None
    if fork:
        release_memory()  # the workers start from (and share) the smaller heap
        # Objects that exist now move to the collector's permanent generation: a collection in a
        # forked worker would otherwise write to every one of them and copy the whole heap.
        gc.freeze()
    try:
        task = functools.partial(_in_own_arena, func) if fork else func
        yield from _pooled(task, items, workers, context, meanwhile, initializer)
    finally:
        if fork:
            gc.unfreeze()


def _in_own_arena(func: Callable[[T], R], item: T) -> R:
    """``func(item)`` in a short-lived thread of this (forked worker) process.

    glibc gives a new thread a malloc arena of its own, so the task's arrays are not placed in the
    free holes of the main heap that the worker inherited from its parent. Those holes (260 MB
    after the read stage of the 102 MB benchmark corpus, handed back to the kernel but still in
    the heap's free lists) are where the main thread's allocations go first; spread over them, a
    band task of that corpus faulted in 190 MB of pages for 70 MB of live arrays, against 75 MB
    in a thread, in the same time. The arena is reused by the next task's thread, and
    :func:`release_memory` trims it like the main heap.
    """
    outcome: list[tuple[bool, object]] = []

    def target() -> None:
        try:
            outcome.append((True, func(item)))
        except BaseException as exc:  # re-raised in the worker's main thread
            outcome.append((False, exc))

    thread = threading.Thread(target=target, name="dedup-task")
    thread.start()
    thread.join()
    ok, value = outcome[0]
    if not ok:
        assert isinstance(value, BaseException)
        raise value
    return value  # type: ignore[return-value]


def _pooled(
    func: Callable[[T], R],
    items: Iterable[T],
    workers: int,
    context: multiprocessing.context.BaseContext | None,
    meanwhile: Callable[[], object] | None = None,
    initializer: Callable[[], object] | None = None,
) -> Iterator[R]:
    if isinstance(items, Sized):  # no idle worker for a short list (with ``meanwhile``, one item is worth a fork)
        workers = max(1, min(workers, len(items)))
    start = functools.partial(_start_worker, os.getpid(), initializer)
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=start)
    _OPEN_POOLS.add(pool)
    try:
        # Bounded look-ahead keeps memory flat: at most 4 batches per worker are in flight.
        pending = []
        iterator = iter(items)
        for item in iterator:
            pending.append(pool.submit(func, item))
            if len(pending) >= 4 * workers:
                if meanwhile is not None:
                    meanwhile, run = None, meanwhile
                    run()
                yield pending.pop(0).result()
        if meanwhile is not None:
            # A forking pool starts every worker at its first submit, before its manager thread:
            # this process forks nothing while it runs ``meanwhile``.
            meanwhile()
        for future in pending:
            yield future.result()
    except BaseException:
        _abandon(pool)
        raise
    finally:
        _OPEN_POOLS.discard(pool)
    pool.shutdown(wait=True)


_OPEN_POOLS: set[ProcessPoolExecutor] = set()


def abandon_pools() -> None:
    """End every pool still open, at once (see :func:`_abandon`): for a run that stops on an
    exception raised outside the pool's generator (an interrupt while this process was busy with
    a result), which leaves the generator suspended and its pool open until the interpreter's
    exit, where ``concurrent.futures`` joins it."""
    for pool in list(_OPEN_POOLS):
        _abandon(pool)
        _OPEN_POOLS.discard(pool)


def _abandon(pool: ProcessPoolExecutor) -> None:
    """End a pool whose results are no longer wanted (the run failed or was interrupted) at once.

    ``shutdown(wait=True)`` would wait for the tasks under way, and could wait forever: a worker
    killed while it wrote a result (SIGTERM sent to the whole process group, as ``timeout`` and
    systemd send it) leaves half a message in the result pipe, and the pool's manager thread waits
    for the rest, since this process holds the pipe's write end too. The workers are killed, and
    that end is closed: the manager thread then reads the end of the pipe, finds the pool broken
    and stops, and the process can exit. (``_processes`` and ``_result_queue`` are the pool's own
    attributes, unchanged from Python 3.9 to 3.13; without them the pool is shut down as before.)
    """
    # Taken first: shutdown(wait=False) lets go of them.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    writer = getattr(getattr(pool, "_result_queue", None), "_writer", None)
    manager = getattr(pool, "_executor_manager_thread", None)
    for process in processes:
        with contextlib.suppress(OSError, ValueError):
            process.kill()
    if writer is not None:
        with contextlib.suppress(OSError):
            writer.close()
    pool.shutdown(wait=False, cancel_futures=True)
    if manager is not None:
        # Its end awaited here, not at the interpreter's exit: there, Python 3.11 wakes it without
        # its lock and could find it closing its pipes ("Exception ignored ... Bad file descriptor").
        manager.join(timeout=10)


def map_forked(
    func: Callable[[T], R], items: Iterable[T], workers: int, meanwhile: Callable[[], object] | None = None
) -> Iterator[R]:
    """:func:`map_ordered` in workers forked from this process (they share its memory copy-on-write)."""
    return map_ordered(func, items, workers, fork=True, meanwhile=meanwhile)

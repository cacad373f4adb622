"""The benchmarks' own measuring code (the benchmarks themselves run outside the test suite)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def perf():  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import perf
    finally:
        sys.path.pop(0)
    return perf


@pytest.mark.skipif(not os.path.exists("/proc/self/smaps_rollup"), reason="Linux /proc")
def test_tree_memory_sums_a_process_and_its_children(perf) -> None:  # type: ignore[no-untyped-def]
    code = "import sys, time; b = b'x' * 60_000_000; print(flush=True); time.sleep(60)"
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None
        child.stdout.readline()  # its 60 MB are written
        alone = perf._tree_memory_kib(child.pid)
        with_parent = perf._tree_memory_kib(os.getpid())
        assert perf._tree_pids(os.getpid())[0] == os.getpid()
        assert child.pid in perf._tree_pids(os.getpid())
    finally:
        child.kill()
        child.wait()
    assert alone[0] >= 58_000 and alone[1] >= 58_000  # KiB
    assert with_parent[0] > alone[0] and with_parent[1] > alone[1]
    assert child.pid not in perf._tree_pids(os.getpid())  # reaped: no longer counted

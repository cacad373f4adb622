from __future__ import annotations

import pytest

from dedup.engines import no_huge_pages


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

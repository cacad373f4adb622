"""The spilled text list: a file-backed list of strings that must read back exactly what was put in."""

from __future__ import annotations

import multiprocessing

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedup import spill
from dedup.spill import SpilledTexts

texts_strategy = st.lists(st.text(max_size=40), max_size=30)


# The patched sizes are the same for every example, so one monkeypatch serves them all.
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    batches=st.lists(texts_strategy, max_size=5),
    replacements=st.lists(st.tuples(st.integers(min_value=0), st.text(max_size=40)), max_size=10),
    picks=st.lists(st.integers(min_value=0), max_size=40),
)
def test_reads_back_what_was_appended_and_replaced(
    monkeypatch: pytest.MonkeyPatch, batches: list[list[str]], replacements: list[tuple[int, str]], picks: list[int]
) -> None:
    # Tiny write pieces and read gaps: every path (pending bytes, several reads, one read) is taken.
    monkeypatch.setattr(spill, "_FLUSH_BYTES", 16)
    monkeypatch.setattr(spill, "_GAP_BYTES", 8)
    texts, expected = SpilledTexts(), []
    for batch in batches:
        texts.extend(batch)
        expected.extend(batch)
    for row, text in replacements:
        if expected:
            texts[row % len(expected)] = text
            expected[row % len(expected)] = text
    assert len(texts) == len(expected)
    assert list(texts) == expected
    rows = [p % len(expected) for p in picks] if expected else []
    assert texts.take(rows) == [expected[r] for r in rows]
    assert texts.take(np.array(rows, dtype=np.int64)) == [expected[r] for r in rows]
    if expected:
        assert texts[-1] == expected[-1] and texts[1:3] == expected[1:3]


def test_empty_and_out_of_range() -> None:
    texts = SpilledTexts()
    assert len(texts) == 0 and not texts and texts.take([]) == [] and list(texts) == []
    texts.extend(["a"])
    with pytest.raises(IndexError):
        texts[1]
    with pytest.raises(IndexError):
        texts.take([0, -2])


def test_equality_with_lists_and_each_other() -> None:
    assert SpilledTexts(["x", "ü"]) == ["x", "ü"] == SpilledTexts(["x", "ü"])
    assert SpilledTexts(["x"]) != ["y"] and SpilledTexts(["x"]) != ("x", "y")


def _read_in_child(texts: SpilledTexts, rows: list[int], queue: multiprocessing.Queue) -> None:
    queue.put(texts.take(rows))


def test_forked_processes_read_the_same_file() -> None:
    """Forked verification workers read the parent's file side by side (``pread``: no shared position)."""
    texts = SpilledTexts([f"paragraph {i} " * (i % 7) for i in range(5000)])
    texts[3] = "replaced before the fork"
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    rows = [[4999, 3, 0], list(range(0, 5000, 3)), [3, 3]]
    children = [context.Process(target=_read_in_child, args=(texts, r, queue)) for r in rows]
    for child in children:
        child.start()
    got = sorted((queue.get(timeout=30) for _ in children), key=len)
    for child in children:
        child.join(timeout=30)
    assert got == sorted((texts.take(r) for r in rows), key=len)
    assert texts.take([3]) == ["replaced before the fork"]

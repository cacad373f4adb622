from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dedup.normalize import normalize_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", ""),
        ("   \t\n ", ""),
        ("Hello\x00\x07World", "hello world"),
        ('“Curly” and "straight" quotes', "curly and straight quotes"),
        ("Kratom’s role", "kratoms role"),
        ("Kratom's role", "kratoms role"),
        ("em—dash – en-dash", "em dash en dash"),
        ("ＦＵＬＬ width", "full width"),
        ("Straße", "strasse"),
        ("ﬁne ligature", "fine ligature"),
        ("non\u00a0breaking\u2003space", "non breaking space"),
        ("under_score…ellipsis!!", "under score ellipsis"),
        ("7-hydroxymitragynine", "7 hydroxymitragynine"),
    ],
)
def test_normalize_edge_cases(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


@given(st.text())
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once


@given(st.text())
def test_normalize_has_no_stray_whitespace(text: str) -> None:
    out = normalize_text(text)
    assert out == out.strip()
    assert "  " not in out

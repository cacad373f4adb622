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


@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_ascii_fast_path_matches_unicode_path(text: str) -> None:
    import unicodedata

    from dedup import normalize

    folded = unicodedata.normalize("NFKC", text).casefold().translate(normalize._QUOTES)
    folded = normalize._INNER_APOSTROPHE.sub("", folded)
    assert normalize_text(text) == " ".join(normalize._NON_WORD.sub(" ", folded).split())

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dedup import normalize
from dedup.normalize import normalize_many, normalize_text


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


def _reference(text: str) -> str:
    """The definition, written plainly: NFKC, casefold, quote folding, in-word apostrophes, punctuation."""
    folded = unicodedata.normalize("NFKC", text).casefold().translate(normalize._QUOTES)
    folded = re.sub(r"(?<=\w)'(?=\w)", "", folded)
    return " ".join(re.sub(r"[\W_]+", " ", folded).split())


# Mostly ASCII punctuation, quotes, underscores and line breaks, with some letters outside ASCII.
_TRICKY = st.text(alphabet=st.sampled_from(list("ab Z9_'`\"-.,!\n\t\r’“”é\u00a0ßﬁＡ\x00\x1c")), max_size=40)


@given(st.one_of(st.text(), _TRICKY))
def test_normalize_matches_reference(text: str) -> None:
    assert normalize_text(text) == _reference(text)


@given(st.lists(st.one_of(st.text(), _TRICKY), max_size=6))
def test_normalize_many_matches_one_by_one(texts: list[str]) -> None:
    assert normalize_many(texts) == [_reference(t) for t in texts]


@given(st.text(alphabet="ab \n", max_size=80))
def test_collapse_spaces_matches_line_by_line(text: str) -> None:
    assert normalize._collapse_spaces(text.encode()) == [" ".join(line.split()) for line in text.split("\n")]


_ASCII_TRICKY = st.text(alphabet=st.sampled_from(list("ab Z9_'`\"-.,!\n\t\r\x00\x1c")), max_size=40)


@given(st.lists(st.one_of(st.text(alphabet=st.characters(max_codepoint=127)), _ASCII_TRICKY), min_size=5, max_size=12))
def test_normalize_many_of_an_articles_worth_matches_reference(texts: list[str]) -> None:
    # Long ASCII batches take the vectorised path that collapses spaces in NumPy.
    texts = [f"{t} and the long filler words of a real paragraph around it, {t}." * 2 for t in texts]
    joined = "\n".join(texts)
    assert len(joined) >= normalize._VECTOR_BYTES
    assert normalize_many(texts) == [_reference(t) for t in texts]

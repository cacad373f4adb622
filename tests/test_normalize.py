from __future__ import annotations

import html
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
        ("हिन्दी भाषा", "हिन्दी भाषा"),  # vowel signs are marks, part of their word
        ("العَرَبِيَّة لغـــة", "العربية لغة"),  # Arabic vowel points and elongation dropped
        ("שָׁלוֹם", "שלום"),
        ("卡痛是植物。Kratom 7号", "卡 痛 是 植 物 kratom 7 号"),  # each Han character a word
        ("クラトムです", "ク ラ ト ム で す"),
        ("ภาษาไทยเป็น", "ภ า ษ า ไ ท ย เ ป็ น"),  # a Thai letter with its vowel and tone marks
        ("크라톰은 식물", "크라톰은 식물"),  # Korean is written with spaces
        ("Kra\u00adtom, kra\u200btom\u200d and \ufeffkratom\u200e", "kratom kratom and kratom"),  # invisible
        ("Kratom&#8217;s &amp; &#x4E2D;&eacute;t&eacute; &notice &amp", "kratoms 中 été notice amp"),  # references
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
    """The definition, written plainly: NFKC, casefold, quote folding, in-word apostrophes; then
    words are letters, digits and combining marks (Arabic and Hebrew points dropped), and each
    character of an unspaced script (not a mark) starts a word of its own."""
    entity = r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});"
    text = re.sub(entity, lambda m: html.unescape(m[0]).replace("\n", " "), text)
    folded = unicodedata.normalize("NFKC", text)
    folded = "".join(ch for ch in folded if ord(ch) not in normalize.POINTS and unicodedata.category(ch) != "Cf")
    folded = unicodedata.normalize("NFKC", folded.casefold()).translate(str.maketrans(normalize._QUOTES))
    folded = re.sub(r"(?<=\w)'(?=\w)", "", folded)
    words, word, alone = [], "", False  # alone: the word is one unspaced character and its marks
    for ch in folded:
        mark = unicodedata.category(ch)[0] == "M"
        if not (mark or ch.isalnum()):
            words.append(word)
            word, alone = "", False
            continue
        unspaced = not mark and any(lo <= ord(ch) <= hi for lo, hi in normalize.UNSPACED_SCRIPTS)
        if unspaced or (alone and not mark):
            words.append(word)
            word = ""
        word += ch
        alone = unspaced or (alone and mark)
    return " ".join(w for w in [*words, word] if w)


# Mostly ASCII punctuation, quotes, underscores and line breaks, with some letters outside ASCII.
_TRICKY = st.lists(
    st.sampled_from(
        [
            *"ab Z9_'`\"-.,!\n\t\r’“”é\u00a0ßﬁＡ\x00\x1c卡クัิ์ไ\u0301\u064e\u0640\u05b8ि्\u00ad\u200b\ufeff&;#",
            "&amp;",
            "&#769;",
            "&#10;",
            "&NewLine;",
        ]
    ),
    max_size=40,
).map("".join)


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

"""Text normalisation: the canonical form every comparison (shingles, rapidfuzz, exact matches) runs on."""

from __future__ import annotations

import re
import unicodedata

# Order matters: NFKC first (it turns full-width letters, ligatures and non-breaking spaces into their
# plain forms), then casefold (which NFKC output may still need, e.g. "ß" -> "ss"), then quote folding
# (curly and straight quotes become one character), then apostrophes inside words are dropped so
# "kratom’s" and "kratom's" and "kratoms" agree, and finally every other punctuation run becomes a space.
_QUOTES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u02bc": "'",
        "`": "'",
        "\u00b4": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u00ab": '"',
        "\u00bb": '"',
    }
)
_INNER_APOSTROPHE = re.compile(r"(?<=\w)'(?=\w)")
_NON_WORD = re.compile(r"[\W_]+")


def normalize_text(text: str) -> str:
    """Fold Unicode form, case, quotes, punctuation and whitespace.

    Args:
        text: raw paragraph text.

    Returns:
        Lower-case words separated by single spaces (no punctuation, no leading/trailing space).

    >>> normalize_text("Kratom’s  “Role”—in PAIN!")
    'kratoms role in pain'
    >>> normalize_text(normalize_text("Ｆｕｌｌ-width, ﬁne."))
    'full width fine'
    """
    if text.isascii():
        # ASCII is already NFKC and casefold() equals lower() on it; only the backtick is a quote.
        folded = text.lower().replace("`", "'")
    else:
        folded = unicodedata.normalize("NFKC", text).casefold().translate(_QUOTES)
    if "'" in folded:
        folded = _INNER_APOSTROPHE.sub("", folded)
    return " ".join(_NON_WORD.sub(" ", folded).split())


__all__ = ["normalize_text"]

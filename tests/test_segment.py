from __future__ import annotations

from dedup.config import SegmentConfig
from dedup.segment import split_paragraphs, split_segments

SEED_LIKE = (
    "Kratom, a plant native to Southeast Asia, has garnered attention in the realm of natural remedies.\n"
    "- Understanding Kratom's Role in Chronic Pain Management\n"
    "- The Science Behind Kratom and Neuropathic Pain Relief Today\n"
    "Understanding Kratom's Role in Chronic Pain Management\n"
    "Mitragyna speciosa, commonly known as kratom, has garnered attention within the realm of natural remedies.\n"
)


def test_one_segment_per_line() -> None:
    assert split_segments("a\nb\n\nc\r\nd") == ["a", "b", "c", "d"]


def test_empty_text_has_no_segments() -> None:
    assert split_segments("") == []
    assert split_paragraphs("a", "  \n\n \t", SegmentConfig()) == []


def test_hard_wrapped_text_is_rejoined() -> None:
    text = (
        "This paragraph was wrapped at a fixed width by an editor and\n"
        "continues on the next line until it finally ends here.\n"
        "\n"
        "A second paragraph, also wrapped at the same fixed width, which\n"
        "goes on for a while before it ends.\n"
    )
    assert split_segments(text) == [
        "This paragraph was wrapped at a fixed width by an editor and continues on the next line until it finally ends here.",
        "A second paragraph, also wrapped at the same fixed width, which goes on for a while before it ends.",
    ]


def test_headings_and_bullets_are_short() -> None:
    paras = split_paragraphs("a.txt", SEED_LIKE, SegmentConfig())
    assert [(p.index, p.is_short) for p in paras] == [(0, False), (1, True), (2, True), (3, True), (4, False)]
    # The bullet and the heading it repeats normalise to the same text.
    assert paras[1].norm == paras[3].norm == "understanding kratoms role in chronic pain management"


def test_long_sentence_without_bullet_is_not_short() -> None:
    text = "one two three four five six seven eight nine ten eleven."
    (p,) = split_paragraphs("a", text, SegmentConfig(min_words=10))
    assert not p.is_short
    assert p.words == 11
    assert p.chars == len(text)


def test_punctuation_only_segments_are_dropped() -> None:
    paras = split_paragraphs("a", "***\n---\nReal words here.", SegmentConfig())
    assert [p.text for p in paras] == ["Real words here."]
    assert paras[0].index == 0


def test_sentences_join_back_to_the_paragraph() -> None:
    from dedup.segment import split_sentences

    text = "See e.g. the U.S. report. It is short. A much longer closing sentence follows here!"
    sentences = split_sentences(text)
    # "e.g." and "U.S." make short fragments that join the next ones until five words are reached.
    assert sentences == ["see e g the u s", "report it is short a much longer closing sentence follows here"]
    (p,) = split_paragraphs("a", text, SegmentConfig(min_words=3))
    assert p.sentences == tuple(sentences)
    assert " ".join(p.sentences) == p.norm
    assert split_sentences("...") == []
    assert split_sentences("Tiny.") == ["tiny"]


def test_full_stops_of_other_scripts_end_sentences_and_prose() -> None:
    """Hindi's danda and the Arabic question mark end a sentence before a space, the Chinese full
    stop with none; a paragraph that ends with one reads as prose, not a heading (a Hindi
    paragraph of 12 words was short, under twice --min-words, and never matched)."""
    from dedup.segment import split_sentences

    hindi = "हिन्दी भाषा बहुत सुंदर है और यह भारत में बोली जाती है। यह दुनिया की प्रमुख भाषाओं में से एक है।"
    assert split_sentences(hindi) == [
        "हिन्दी भाषा बहुत सुंदर है और यह भारत में बोली जाती है",
        "यह दुनिया की प्रमुख भाषाओं में से एक है",
    ]
    assert split_sentences("هل هذه اللغة جميلة جدا حقا؟ نعم إنها لغة جميلة جدا حقا.") == [
        "هل هذه اللغة جميلة جدا حقا",
        "نعم إنها لغة جميلة جدا حقا",
    ]
    assert split_sentences("卡痛是一种原产于东南亚的植物。近年来受到广泛关注！") == [
        "卡 痛 是 一 种 原 产 于 东 南 亚 的 植 物",
        "近 年 来 受 到 广 泛 关 注",
    ]
    (paragraph,) = split_paragraphs("a", hindi.split("। ")[0] + "।", SegmentConfig())
    assert (paragraph.words, paragraph.is_short) == (12, False)


def test_sentence_break_taking_the_end_mark_equals_a_look_behind_break() -> None:
    """The break pattern consumes the end mark (faster to find); normalising drops the mark anyway,
    so the sentences are those of a break that leaves it, on seeded random punctuation soups."""
    import random
    import re

    from dedup.normalize import normalize_many
    from dedup.segment import _join_short, split_sentences

    look_behind = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+")
    alphabet = [*"abé_ß .!?…\"'”’)]-*1#\t\u00a0x", "Dr. ", '. "', "…” ", "word ", "it's "]
    rng = random.Random(7)
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 50)))
        expected = _join_short(normalize_many(look_behind.split(text)), 5)
        assert split_sentences(text) == expected, text


def test_segment_memo_gives_the_paragraphs_of_a_fresh_split(monkeypatch) -> None:
    """Articles that repeat headings, bullets and whole paragraphs (with other neighbours, other
    Unicode around them) split the same with a memo, also when the memo fills up and is emptied."""
    from dedup import segment

    cfg = SegmentConfig()
    long_paragraph = "A long paragraph that several articles repeat word for word. " * 5
    lines = [
        "# A Heading",
        "- Understanding Kratom's Role",
        "Kratom, a plant native to Southeast Asia, has garnered attention. It is used widely!",
        "Café owners say “it works”. Others disagree… strongly, in fact.",
        "...",
        "1. A numbered item that runs on for quite a few words here",
        "Short line",
        long_paragraph.strip(),
    ]
    articles = ["\n".join(lines[i:] + lines[:i]) + "\n\n" + lines[i] for i in range(len(lines))]
    articles.append(SEED_LIKE)
    for limit in (2, 1000):
        monkeypatch.setattr(segment, "_MEMO_LIMIT", limit)
        memo = segment.SegmentMemo()
        for k, text in enumerate(articles * 2):
            assert split_paragraphs(f"a{k}", text, cfg, memo) == split_paragraphs(f"a{k}", text, cfg)
            assert len(memo) <= limit + len(split_segments(text))
        if limit == 1000:  # the long paragraph is kept from its second article on, short ones at once
            assert long_paragraph.strip() in memo.done and "# A Heading" in memo.done
    memo = segment.SegmentMemo()
    segment.segment_article(long_paragraph, cfg, memo)
    assert long_paragraph.strip() not in memo.done and len(memo.seen_once) == 1


def test_end_mark_lookups_equal_end_anchored_patterns() -> None:
    """A segment's last character decides whether it ends a sentence (hard-wrapped lines) or reads
    as prose (headings are short): the same answers as the end-anchored patterns used before, on
    seeded random strings with Unicode whitespace after the mark."""
    import random
    import re

    from dedup.segment import _PROSE_END, _SENTENCE_END

    sentence_end = re.compile(r"[.!?:;\"')\]]\s*$")
    prose_end = re.compile(r"[.!?…\"'”’)]\s*$")
    alphabet = [*"ab .!?…:;\"'”’)]-*\t\n\u00a0\u2003\r", "word "]
    rng = random.Random(11)
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        stripped = text.strip()
        assert (stripped[-1:] in _SENTENCE_END) == bool(sentence_end.search(stripped)), text
        assert (text.rstrip()[-1:] in _PROSE_END) == bool(prose_end.search(text)), text

"""Bad input is normal input: every kind is skipped with a reason and the rest is read."""

from __future__ import annotations

import gzip
import json
import os
import random
import sys
from pathlib import Path

import pytest

from dedup.config import IngestConfig
from dedup.errors import ConfigError
from dedup.ingest import (
    InputFormat,
    bad_names,
    compress,
    decode_bytes,
    detect_format,
    discover_files,
    parquet_readable,
    read_file,
    read_file_bytes,
)
from dedup.records import Skip
from tests.conftest import fail_listing

GOOD = "A perfectly ordinary article paragraph with enough words to be indexed by the scanner.\n"


def _reasons(root: Path, rel: str, cfg: IngestConfig | None = None) -> list[str]:
    return [s.reason for s in read_file(root, rel, cfg or IngestConfig()).skips]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "good.txt").write_text(GOOD, encoding="utf-8")
    return tmp_path


def test_plain_text(folder: Path) -> None:
    result = read_file(folder, "good.txt", IngestConfig())
    assert [(a.id, a.text) for a in result.articles] == [("good.txt", GOOD)]
    assert result.skips == ()
    assert result.read_ok


def test_binary(folder: Path) -> None:
    (folder / "img.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    assert _reasons(folder, "img.txt") == ["binary"]


def test_invalid_utf8(folder: Path) -> None:
    (folder / "bad.txt").write_bytes("café au lait ".encode() + b"\xff\xfe broken \xc3\x28 bytes")
    assert _reasons(folder, "bad.txt") == ["invalid_utf8"]


def test_legacy_encoding_is_detected(folder: Path) -> None:
    text = "Le café est très bon et la crème brûlée aussi, déclare le chef pâtissier à Paris."
    (folder / "latin.txt").write_bytes(text.encode("cp1252"))
    result = read_file(folder, "latin.txt", IngestConfig())
    assert result.skips == ()
    assert "caf" in result.articles[0].text and "Paris" in result.articles[0].text


CJK = {
    "gbk": "卡痛是一种原产于东南亚的植物，近年来因其潜在的健康益处而受到广泛关注。许多人使用它来缓解疼痛。",
    "big5": "卡痛是一種原產於東南亞的植物，近年來因其潛在的健康益處而受到廣泛關注。許多人使用它來緩解疼痛。",
    "shift_jis": "クラトムは東南アジア原産の植物で、近年その潜在的な健康効果が注目を集めています。多くの人が使用しています。",
    "euc_jp": "多くの人が痛みの緩和やエネルギーの向上のために使用していますが、専門家は使用前に医師に相談することを勧めています。",
    "euc_kr": "크라톰은 동남아시아가 원산지인 식물로, 최근 잠재적인 건강 효과로 주목을 받고 있습니다. 많은 사람들이 사용합니다.",
}


@pytest.mark.parametrize("encoding", sorted(CJK))
def test_chinese_japanese_and_korean_legacy_encodings_are_read(folder: Path, encoding: str) -> None:
    """Their byte pairs look like valid UTF-8 now and then, which once made every such file
    ``invalid_utf8``."""
    (folder / "cjk.txt").write_bytes(CJK[encoding].encode(encoding))
    result = read_file(folder, "cjk.txt", IngestConfig())
    assert (result.skips, [a.text for a in result.articles]) == ((), [CJK[encoding]])


@pytest.mark.parametrize(
    "damage",
    [lambda b: b[:20] + b"\xff" + b[21:], lambda b: b + "Ökonomie".encode("cp1252"), lambda b: b + b"\xc3"],
)
def test_damaged_utf8_is_not_taken_for_a_legacy_encoding(folder: Path, damage: object) -> None:
    """UTF-8 with a few bad bytes stays ``invalid_utf8`` although the detector names an encoding
    for it (cp932 for this French text with one byte changed): a guess would garble its valid
    characters."""
    text = "Le café crème et la crème brûlée sont délicieux. Déjà vu, naïve façade, où est l’hôtel ? C'est très bien."
    (folder / "fr.txt").write_bytes(damage(text.encode("utf-8")))  # type: ignore[operator]
    assert _reasons(folder, "fr.txt") == ["invalid_utf8"]


def test_an_html_page_is_decoded_with_the_charset_it_declares(folder: Path) -> None:
    """The declared ISO-8859-2, where the detector says cp1250 and garbles three letters; a page
    whose bytes its declaration does not decode is detected as an undeclared one."""
    page = '<html><head><meta charset="{}"></head><body><article><p>{}</p></article></body></html>'
    polish = "Zażółć gęślą jaźń. Łódź jest pięknym miastem w Polsce, gdzie mieszka wielu ludzi. " * 4
    (folder / "pl.html").write_bytes(page.format("iso-8859-2", polish).encode("iso-8859-2"))
    (folder / "pl.txt").write_bytes(polish.encode("iso-8859-2"))  # no declaration: detected
    french = "Le café crème et la crème brûlée. " * 4
    (folder / "fr.html").write_bytes(page.format("shift_jis", french).encode("cp1252"))
    (folder / "fr.txt").write_bytes(french.encode("cp1252"))
    text = lambda name: read_file(folder, name, IngestConfig()).articles[0].text  # noqa: E731
    assert text("pl.html") == polish.strip()
    assert "gęślą" not in text("pl.txt")
    assert text("fr.html") == text("fr.txt").strip()


def test_markdown_is_read_as_its_text(folder: Path) -> None:
    """Links keep their text but not their address, images, HTML tags and YAML front matter go,
    emphasis marks too; headings and list items keep a mark the segmenter drops; a table row is
    one line; a rule of dashes that opens no front matter is not one."""
    page = (
        "---\ntitle: Kratom facts\ntags: [a, b]\n---\n"
        "# Kratom *facts*\n\n"
        "Kratom is [legal](https://example.com/legal?ref=42) in **most** places ![map](m.png)<br>today.\n"
        "It is sold <span>widely</span>.\n\n"
        "1. first\n2. second\n\n"
        "| a | b |\n| --- | --- |\n| c | d |\n\n"
        "```\ncode line\n```\n\n<div>\nraw <b>html</b>\n</div>\n"
    )
    (folder / "page.md").write_text(page, encoding="utf-8")
    (folder / "rule.markdown").write_text("---\nNot front matter, a paragraph.\n\n---\n", encoding="utf-8")
    assert read_file(folder, "page.md", IngestConfig()).articles[0].text == "\n".join(
        [
            "# Kratom facts",
            "Kratom is legal in most places today.",
            "It is sold widely.",
            "- first",
            "- second",
            "a | b",
            "c | d",
            "code line",
            "raw  html ",
        ]
    )
    assert read_file(folder, "rule.markdown", IngestConfig()).articles[0].text == "Not front matter, a paragraph."
    # Text saved as Markdown, a paragraph a line with no blank line between: still a paragraph a line.
    (folder / "lines.md").write_text("First paragraph here.\nSecond paragraph [there](x.html).\n", encoding="utf-8")
    assert (
        read_file(folder, "lines.md", IngestConfig()).articles[0].text
        == "First paragraph here.\nSecond paragraph there."
    )


def test_an_html_page_saved_as_text_or_markdown_is_read_as_html(folder: Path) -> None:
    """A scraper that saved a page as .txt or .md: its main text, as the same page saved as .html
    gives (its navigation and markup made words before); text that only mentions a tag is text."""
    page = (
        "<!DOCTYPE html>\n<html><head><title>T</title></head><body><nav>Home | Shop | Blog</nav>"
        f"<article><p>{GOOD.strip()}</p><p>{GOOD.strip()} Twice.</p></article><footer>(c) Site</footer></body></html>"
    )
    for name in ("page.html", "page.txt", "page.md"):
        (folder / name).write_text("\ufeff  " + page if name != "page.html" else page, encoding="utf-8")
    texts = {
        name: read_file(folder, name, IngestConfig()).articles[0].text for name in ("page.html", "page.txt", "page.md")
    }
    assert texts["page.txt"] == texts["page.md"] == texts["page.html"]
    assert "Home" not in texts["page.txt"]
    (folder / "note.txt").write_text(
        "<html> is the root element of a page, as every tutorial says first.", encoding="utf-8"
    )
    assert read_file(folder, "note.txt", IngestConfig()).articles[0].text.startswith("<html> is")


def test_utf16_with_bom(folder: Path) -> None:
    (folder / "u16.txt").write_bytes("Hello UTF-16 world".encode("utf-16"))
    assert read_file(folder, "u16.txt", IngestConfig()).articles[0].text == "Hello UTF-16 world"


@pytest.mark.parametrize("content", [b"", b"   \n\t\n"])
def test_empty(folder: Path, content: bytes) -> None:
    (folder / "empty.md").write_bytes(content)
    assert _reasons(folder, "empty.md") == ["empty"]


def test_gzip_and_truncated_gzip(folder: Path) -> None:
    data = gzip.compress(GOOD.encode() * 50)
    (folder / "ok.txt.gz").write_bytes(data)
    (folder / "cut.txt.gz").write_bytes(data[: len(data) // 2])
    (folder / "notgz.txt.gz").write_bytes(b"plain bytes, not gzip")
    assert read_file(folder, "ok.txt.gz", IngestConfig()).articles[0].text == GOOD * 50
    assert _reasons(folder, "cut.txt.gz") == ["corrupt_gzip"]
    assert _reasons(folder, "notgz.txt.gz") == ["corrupt_gzip"]


def test_too_large(folder: Path) -> None:
    (folder / "big.txt").write_text(GOOD * 100, encoding="utf-8")
    (folder / "big.txt.gz").write_bytes(gzip.compress((GOOD * 100).encode()))
    small = IngestConfig(max_file_bytes=1000)
    assert _reasons(folder, "big.txt", small) == ["too_large"]
    assert _reasons(folder, "big.txt.gz", small) == ["too_large"]


def test_unreadable_dangling_link(folder: Path) -> None:
    os.symlink(folder / "missing-target.txt", folder / "dangling.txt")
    assert _reasons(folder, "dangling.txt") == ["unreadable"]


def test_unsupported_extension(folder: Path) -> None:
    (folder / "doc.pdf").write_bytes(b"%PDF-1.4")
    assert read_file(folder, "doc.pdf", IngestConfig()).skips == (
        Skip("doc.pdf", "unsupported_type", "not .txt/.md/.html/.json/.jsonl/.parquet nor an HTML page"),
    )


_MIRRORED = (  # how wget and browsers save pages: after an XML declaration, a comment, or nothing
    "<!DOCTYPE html>\n",
    '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN">\n',
    "<!-- saved from url=(0042)https://example.com/kratom/guide/ -->\n<html><head><title>T</title></head>",
    "  <!-- cached 2026-11-02 --><!-- by WP Super Cache -->\n<HTML lang=en><BODY>",
)


@pytest.mark.parametrize("start", _MIRRORED)
@pytest.mark.parametrize("name", ["index.php?p=12", "kratom-guide", "page.asp", "p.shtml", "p.xhtml", "a.html?x=1"])
def test_a_page_whose_name_gives_no_format_is_read_as_html(folder: Path, name: str, start: str) -> None:
    """Pages of a wget mirror keep the server's name (a script, a query, no suffix at all): read
    as HTML when they hold an HTML page, as the same page saved as .html is."""
    body = f"<nav>Home | Shop</nav><article><p>{GOOD.strip()}</p></article><footer>(c) Site</footer></body></html>"
    (folder / "same.html").write_text(start + body, encoding="utf-8")
    (folder / name).write_text(start + body, encoding="utf-8")
    read = read_file(folder, name, IngestConfig())
    assert read.skips == ()
    assert read.articles[0].text == read_file(folder, "same.html", IngestConfig()).articles[0].text
    assert "<p>" not in read.articles[0].text


def test_a_file_whose_name_gives_no_format_and_holds_no_page_is_skipped(folder: Path) -> None:
    """Text, a PDF, a page's fragment, a page too large to open, a compressed file of no format:
    skipped as before (only a whole HTML page is read under another name)."""
    (folder / "notes").write_text(GOOD, encoding="utf-8")
    (folder / "frag.php").write_text(f"<div><p>{GOOD}</p></div>", encoding="utf-8")
    (folder / "big").write_text(f"<!DOCTYPE html><p>{GOOD * 100}</p>", encoding="utf-8")
    (folder / "page.gz").write_bytes(gzip.compress(f"<!DOCTYPE html><p>{GOOD}</p>".encode()))
    nor = "not .txt/.md/.html/.json/.jsonl/.parquet nor an HTML page"
    assert read_file(folder, "notes", IngestConfig()).skips == (Skip("notes", "unsupported_type", nor),)
    assert read_file(folder, "frag.php", IngestConfig()).skips == (Skip("frag.php", "unsupported_type", nor),)
    small = IngestConfig(max_file_bytes=1000)  # not opened, as a URI's file over the limit is not read
    big = read_file(folder, "big", small).skips
    assert big == (Skip("big", "unsupported_type", "not .txt/.md/.html/.json/.jsonl/.parquet"),)
    assert read_file(folder, "page.gz", IngestConfig()).skips[0].reason == "unsupported_type"
    for name in ("notes", "frag.php", "big"):  # the bytes Spark read give the same outcome
        raw = (folder / name).read_bytes()
        limit = small if name == "big" else IngestConfig()
        assert read_file_bytes(name, raw, limit).skips == read_file(folder, name, limit).skips


def test_jsonl_records_and_malformed_line(folder: Path) -> None:
    lines = [
        json.dumps({"id": "a1", "text": GOOD}),
        '{"id": "a2", "text": "unterminated',
        json.dumps({"id": "a3", "body": "no text field"}),
        "",
        json.dumps({"text": GOOD + "x"}),
        json.dumps({"id": "a1", "text": "duplicate id"}),
        json.dumps({"id": "a6", "text": "  "}),
        json.dumps(["not", "an", "object"]),
    ]
    (folder / "feed.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = read_file(folder, "feed.jsonl", IngestConfig())
    assert [a.id for a in result.articles] == ["feed.jsonl#a1", "feed.jsonl#5"]
    assert [(s.path, s.reason) for s in result.skips] == [
        ("feed.jsonl:2", "malformed_json"),
        ("feed.jsonl#3", "missing_text"),
        ("feed.jsonl#a1", "duplicate_id"),
        ("feed.jsonl#a6", "empty"),
        ("feed.jsonl#8", "missing_text"),
    ]


def test_jsonl_lines_end_at_line_feeds_and_carriage_returns_only(folder: Path) -> None:
    """A record holding a raw U+2028, U+2029 or U+0085 (``json.dumps(..., ensure_ascii=False)``
    writes them so) is one record: ``str.splitlines`` cut it there into malformed pieces, and the
    records after it took other line numbers. CR LF and CR end lines too; whitespace around a
    record is not part of it."""
    texts = [GOOD + "\u2028" + GOOD, GOOD + "\x85 next", GOOD + "\u2029", GOOD + "y"]
    lines = [json.dumps({"text": t}, ensure_ascii=False) for t in texts]
    raw = f"{lines[0]}\r\n{lines[1]}\r{lines[2]}\u2028\n \x85\n{lines[3]}\n"
    (folder / "feed.jsonl").write_bytes(raw.encode("utf-8"))
    result = read_file(folder, "feed.jsonl", IngestConfig())
    assert [(a.id, a.text) for a in result.articles] == [
        ("feed.jsonl#1", texts[0]),
        ("feed.jsonl#2", texts[1]),
        ("feed.jsonl#3", texts[2]),
        ("feed.jsonl#5", texts[3]),
    ]
    assert result.skips == ()


def test_a_text_field_may_hold_a_list_of_paragraphs(folder: Path) -> None:
    """A JSON record's text field, or a Parquet list<string> column, holding the article's
    paragraphs: one per line; a list of anything else is no text."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    paragraphs = [GOOD.strip(), "A second paragraph of the same article, long enough to count."]
    lines = [json.dumps({"id": "a", "text": paragraphs}), json.dumps({"id": "b", "text": [1, 2]})]
    (folder / "feed.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    pq.write_table(pa.table({"text": [paragraphs, None]}), folder / "rows.parquet")
    result = read_file(folder, "feed.jsonl", IngestConfig())
    assert [(a.id, a.text) for a in result.articles] == [("feed.jsonl#a", "\n".join(paragraphs))]
    assert [(s.path, s.reason) for s in result.skips] == [("feed.jsonl#2", "missing_text")]
    rows = read_file(folder, "rows.parquet", IngestConfig())
    assert [(a.id, a.text) for a in rows.articles] == [("rows.parquet#1", "\n".join(paragraphs))]
    assert [(s.path, s.reason) for s in rows.skips] == [("rows.parquet#2", "missing_text")]


def test_jsonl_custom_fields(folder: Path) -> None:
    (folder / "f.jsonl.gz").write_bytes(gzip.compress(json.dumps({"key": "k9", "body": GOOD}).encode()))
    result = read_file(folder, "f.jsonl.gz", IngestConfig(text_field="body", id_field="key"))
    assert [a.id for a in result.articles] == ["f.jsonl.gz#k9"]


def test_json_object_list_and_malformed(folder: Path) -> None:
    (folder / "one.json").write_text(json.dumps({"text": GOOD}), encoding="utf-8")
    (folder / "many.json").write_text(json.dumps([{"id": 7, "text": GOOD}, {"text": GOOD}]), encoding="utf-8")
    (folder / "broken.json").write_text('{"text": ', encoding="utf-8")
    (folder / "notext.json").write_text('{"title": "x"}', encoding="utf-8")
    assert [a.id for a in read_file(folder, "one.json", IngestConfig()).articles] == ["one.json"]
    assert [a.id for a in read_file(folder, "many.json", IngestConfig()).articles] == ["many.json#7", "many.json#2"]
    assert _reasons(folder, "broken.json") == ["malformed_json"]
    assert _reasons(folder, "notext.json") == ["missing_text"]


def test_json_nested_too_deeply_is_malformed(folder: Path) -> None:
    """The parser's recursion limit is bad input too, not a failed run."""
    deep = "[" * 100_000 + "]" * 100_000
    (folder / "deep.json").write_text(deep)
    record = json.dumps({"text": GOOD})
    (folder / "deep.jsonl").write_text(f'{{"text": "x", "y": {deep}}}\n{record}\n')
    skipped = read_file(folder, "deep.json", IngestConfig()).skips
    assert [(s.path, s.reason, s.detail) for s in skipped] == [("deep.json", "malformed_json", "nested too deeply")]
    lines = read_file(folder, "deep.jsonl", IngestConfig())
    assert [(s.path, s.reason, s.detail) for s in lines.skips] == [
        ("deep.jsonl:1", "malformed_json", "nested too deeply")
    ]
    assert [a.id for a in lines.articles] == ["deep.jsonl#2"]


def test_json_lone_surrogates_become_replacement_characters(folder: Path) -> None:
    """JSON may escape a lone surrogate, which no UTF-8 report or store can hold."""
    (folder / "s.jsonl").write_text(
        '{"id": "a\\ud800", "text": "Half \\udc00 a pair in an article long enough to index."}\n'
    )
    (article,) = read_file(folder, "s.jsonl", IngestConfig()).articles
    assert (article.id, article.text) == ("s.jsonl#a\ufffd", "Half \ufffd a pair in an article long enough to index.")
    article.text.encode("utf-8")


@pytest.mark.skipif(sys.platform != "linux", reason="Linux file names are bytes")
def test_file_names_that_are_not_utf8_are_skipped_by_name(tmp_path: Path) -> None:
    (tmp_path / "ok.txt").write_text(GOOD)
    with open(os.path.join(os.fsencode(tmp_path), b"caf\xe9.txt"), "w") as fh:
        fh.write(GOOD)
    good, skips = bad_names(discover_files(tmp_path))
    assert good == ["ok.txt"]
    assert [(s.path, s.reason, s.detail) for s in skips] == [
        ("caf\\xe9.txt", "bad_name", "file name is not UTF-8; rename the file")
    ]


def test_html_main_text_only(folder: Path) -> None:
    page = """<html><head><title>T</title></head><body>
    <nav><a href="/">Home</a> | <a href="/shop">Shop</a></nav>
    <div class="cookie-banner">We use cookies to improve your experience. Accept all cookies.</div>
    <article><h1>Understanding Kratom</h1>
    <p>Kratom, a plant native to Southeast Asia, has garnered attention in the realm of natural remedies.</p>
    <p>The leaves of this tropical evergreen tree contain compounds that interact with the nervous system.</p>
    </article><footer>Copyright 2024 Example Corp. All rights reserved. Privacy policy.</footer></body></html>"""
    (folder / "page.html").write_text(page, encoding="utf-8")
    (folder / "blank.htm").write_text("<html><body><script>var x = 1;</script></body></html>", encoding="utf-8")
    text = read_file(folder, "page.html", IngestConfig()).articles[0].text
    assert "Kratom, a plant native to Southeast Asia" in text
    assert "tropical evergreen tree" in text
    assert "cookies" not in text and "Copyright" not in text and "Shop" not in text
    assert _reasons(folder, "blank.htm") == ["no_text"]


PAGE = """<html><head><title>T</title></head><body>
<nav><a href="/">Home</a> | <a href="/shop">Shop</a></nav>
<article><h1>Understanding Kratom</h1>
<p>Kratom, a plant native to Southeast Asia, has garnered attention in the realm of natural remedies.</p>
<p>The leaves of this tropical evergreen tree contain compounds that interact with the nervous system.</p>
</article><footer>Copyright 2024 Example Corp. All rights reserved. Privacy policy.</footer></body></html>"""


def test_a_json_text_field_holding_html_is_extracted_with_text_is_html(folder: Path) -> None:
    """Scraped dumps keep whole pages in a JSON field: ``text_is_html`` reads them as .html files
    are read (a record with no main text is skipped as no_text), where they are plain text otherwise."""
    (folder / "page.html").write_text(PAGE, encoding="utf-8")
    records = [{"id": "p", "html": PAGE}, {"id": "blank", "html": "<html><body><script>x()</script></body></html>"}]
    (folder / "dump.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    (folder / "one.json").write_text(json.dumps({"html": PAGE}), encoding="utf-8")
    html = IngestConfig(text_field="html", text_is_html=True)
    page_text = read_file(folder, "page.html", IngestConfig()).articles[0].text
    dump = read_file(folder, "dump.jsonl", html)
    assert [(a.id, a.text) for a in dump.articles] == [("dump.jsonl#p", page_text)]
    assert dump.skips == (Skip("dump.jsonl#blank", "no_text", "no main text found in HTML"),)
    assert [a.text for a in read_file(folder, "one.json", html).articles] == [page_text]
    plain = read_file(folder, "dump.jsonl", IngestConfig(text_field="html")).articles
    assert [a.text for a in plain] == [records[0]["html"], records[1]["html"]]  # tags and all


def test_a_json_text_field_holding_markdown_is_read_as_markdown(folder: Path) -> None:
    """Crawlers for language models keep pages as Markdown in a JSON field: ``text_is_markdown``
    reads it as an .md file is read (link addresses dropped), in a JSONL record and a .json object;
    it and ``text_is_html`` exclude each other."""
    page = "# Title\n\nKratom is [legal](https://example.com/legal?aff=1) in most places today, they say.\n"
    (folder / "page.md").write_text(page, encoding="utf-8")
    (folder / "dump.jsonl").write_text(json.dumps({"id": "p", "markdown": page}) + "\n", encoding="utf-8")
    (folder / "one.json").write_text(json.dumps({"markdown": page}), encoding="utf-8")
    markdown = IngestConfig(text_field="markdown", text_is_markdown=True)
    page_text = read_file(folder, "page.md", IngestConfig()).articles[0].text
    assert "example.com" not in page_text
    assert [(a.id, a.text) for a in read_file(folder, "dump.jsonl", markdown).articles] == [("dump.jsonl#p", page_text)]
    assert [a.text for a in read_file(folder, "one.json", markdown).articles] == [page_text]
    assert read_file(folder, "dump.jsonl", IngestConfig(text_field="markdown")).articles[0].text == page
    with pytest.raises(ConfigError, match="exclude each other"):
        IngestConfig(text_is_html=True, text_is_markdown=True)


def test_discover_sorted_hidden_skipped_and_loop_safe(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "a").mkdir()
    (tmp_path / "b" / "2.txt").write_text("x")
    (tmp_path / "b" / "1.txt").write_text("x")
    (tmp_path / "a" / "z.md").write_text("x")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config.txt").write_text("x")
    (tmp_path / ".hidden.txt").write_text("x")
    os.symlink(tmp_path, tmp_path / "b" / "loop")  # a link back to the root: must not recurse forever
    os.symlink(tmp_path / "a", tmp_path / "c")  # a link to a folder already walked: entered once only
    assert list(discover_files(tmp_path)) == ["a/z.md", "b/1.txt", "b/2.txt"]


def test_discover_leaves_out_what_it_is_told_whatever_the_spelling(tmp_path: Path) -> None:
    """dedup's own reports folder and store inside the scanned folder are never listed: a folder
    known by device and inode (a link to it is not followed either), a file by its real path."""
    for rel in ("a.txt", "report/clusters.csv", "sub/b.txt", "index.sqlite", "index.sqlite-wal"):
        (tmp_path / rel).parent.mkdir(exist_ok=True)
        (tmp_path / rel).write_text("x")
    os.symlink(tmp_path / "report", tmp_path / "sub" / "to-report")
    exclude = [tmp_path / "sub" / ".." / "report", Path(os.path.relpath(tmp_path / "index.sqlite")), tmp_path / "gone"]
    assert list(discover_files(tmp_path, exclude)) == ["a.txt", "index.sqlite-wal", "sub/b.txt"]
    assert list(discover_files(tmp_path, [tmp_path / "sub" / ".."])) != []  # never the folder itself
    assert len(list(discover_files(tmp_path))) == 5  # without: the report folder, once (not again by the link)


def test_a_folder_that_cannot_be_listed_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.txt").write_text(GOOD)
    (tmp_path / "b.txt").write_text(GOOD)
    fail_listing(monkeypatch, tmp_path / "a")
    unreadable: list[Skip] = []
    assert list(discover_files(tmp_path, unreadable=unreadable)) == ["b.txt"]
    assert unreadable == [Skip("a/", "unreadable", "Permission denied")]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_pipes_are_reported_not_opened(tmp_path: Path) -> None:
    """Opening a named pipe waits for a writer for ever: a nightly run would hang."""
    (tmp_path / "a.txt").write_text(GOOD)
    os.mkfifo(tmp_path / "pipe.txt")
    os.symlink(tmp_path / "pipe.txt", tmp_path / "link.txt")
    os.symlink(tmp_path / "nowhere.txt", tmp_path / "dangling.txt")  # the reader says why
    unreadable: list[Skip] = []
    assert list(discover_files(tmp_path, unreadable=unreadable)) == ["a.txt", "dangling.txt"]
    assert unreadable == [
        Skip("link.txt", "unreadable", "not a regular file (a named pipe)"),
        Skip("pipe.txt", "unreadable", "not a regular file (a named pipe)"),
    ]


def test_detect_format() -> None:
    assert detect_format("x.HTM")[0] is not None
    assert detect_format("x.txt.gz") == (detect_format("x.txt")[0], "gzip")
    assert detect_format("x.gz") == (None, "gzip")
    assert detect_format("a.b/x.JSONL.ZST") == (InputFormat.JSONL, "zstd")
    assert detect_format("x.parquet") == (InputFormat.PARQUET, None)
    assert detect_format("x.tar.xz") == (None, "xz")


def test_decode_bytes_strips_bom() -> None:
    assert decode_bytes(b"\xef\xbb\xbfhello") == "hello"


def test_bytes_read_elsewhere_give_what_the_file_gives(tmp_path: Path) -> None:
    """``read_file_bytes`` (Spark reads the bytes) gives ``read_file``'s articles and skips, file by file."""
    small = IngestConfig(max_file_bytes=200)
    files = {
        "a.txt": b"Plain words of an article, long enough to keep.",
        "b.txt": b"\x00\x00binary",
        "c.md": b"",
        "d.html": b"<html><body><article><p>" + b"Main text of a page here. " * 5 + b"</p></article></body></html>",
        "e.jsonl": b'{"id": "x", "text": "one"}\n{broken\n{"id": "x", "text": "again"}\n',
        "f.json": b'[{"text": "first"}, {"nope": 1}]',
        "g.txt.gz": gzip.compress(b"Compressed words of an article."),
        "h.txt.gz": gzip.compress(b"Compressed words. " * 100)[:40],
        "i.txt.gz": gzip.compress(b"x" * 300),
        "j.txt": b"y" * 300,
        "k.pdf": b"%PDF-1.4",
        "l.txt": "caf\xe9 cr\xe8me br\xfbl\xe9e, a legacy encoding of French words".encode("latin-1"),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    for name, data in files.items():
        assert read_file_bytes(name, data, small) == read_file(tmp_path, name, small), name


@pytest.mark.parametrize(
    ("suffix", "codec", "corrupt"),
    [
        (".gz", "gzip", "corrupt_gzip"),
        (".bz2", "bzip2", "corrupt_compressed"),
        (".xz", "xz", "corrupt_compressed"),
        (".zst", "zstd", "corrupt_compressed"),
    ],
)
def test_compressed_files(folder: Path, suffix: str, codec: str, corrupt: str) -> None:
    """gzip, bzip2, xz and Zstandard files read as their content; a cut or foreign stream is
    corrupt, a stream that unpacks past --max-file-mb too large, on disk and from bytes alike."""
    records = "".join(json.dumps({"id": i, "text": GOOD}) + "\n" for i in range(3)).encode()
    data = compress(records, codec)
    files = {
        f"ok.jsonl{suffix}": data,
        f"cut.jsonl{suffix}": data[: len(data) // 2],
        f"foreign.jsonl{suffix}": b"plain bytes, not compressed",
        f"two.txt{suffix}": compress(GOOD.encode(), codec) + compress(b"Second frame.\n", codec),
        f"big.txt{suffix}": compress(GOOD.encode() * 100, codec),
    }
    small = IngestConfig(max_file_bytes=1000)
    for name, raw in files.items():
        (folder / name).write_bytes(raw)
        assert read_file(folder, name, small) == read_file_bytes(name, raw, small)
    ok = read_file(folder, f"ok.jsonl{suffix}", small)
    assert [(a.id, a.text) for a in ok.articles] == [(f"ok.jsonl{suffix}#{i}", GOOD) for i in range(3)]
    assert _reasons(folder, f"cut.jsonl{suffix}", small) == [corrupt]
    assert _reasons(folder, f"foreign.jsonl{suffix}", small) == [corrupt]
    if codec != "gzip":  # multi-member gzip is read by gzip itself; the others' frames here
        assert read_file(folder, f"two.txt{suffix}", small).articles[0].text == GOOD + "Second frame.\n"
    (skip,) = read_file(folder, f"big.txt{suffix}", small).skips
    assert (skip.reason, skip.detail) == ("too_large", "more than 1000 bytes after decompression")


def _parquet(path: Path, columns: dict[str, list[object]], compression: str = "snappy") -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table(columns), path, compression=compression)
    return path.read_bytes()


def test_parquet_rows_are_articles(folder: Path) -> None:
    """One article per row, ``FILE#id`` (else the row number from 1); rows without text, repeated
    ids or empty texts are skipped one by one, as JSONL records are."""
    raw = _parquet(
        folder / "dump.parquet",
        {
            "id": ["a", None, "a", "d", "e"],
            "text": [GOOD, "Second " + GOOD, "Repeat " + GOOD, None, "  "],
            "url": ["u1", "u2", "u3", "u4", "u5"],
        },
    )
    result = read_file(folder, "dump.parquet", IngestConfig())
    assert result == read_file_bytes("dump.parquet", raw, IngestConfig())
    assert [(a.id, a.text) for a in result.articles] == [("dump.parquet#a", GOOD), ("dump.parquet#2", "Second " + GOOD)]
    assert result.skips == (
        Skip("dump.parquet#a", "duplicate_id", "record 3 repeats id 'a'"),
        Skip("dump.parquet#4", "missing_text", "no text in field 'text' (a string, or a list of strings)"),
        Skip("dump.parquet#e", "empty", "empty text"),
    )
    by_url = read_file(folder, "dump.parquet", IngestConfig(text_field="text", id_field="url"))
    assert [a.id for a in by_url.articles] == ["dump.parquet#u1", "dump.parquet#u2", "dump.parquet#u3"]
    # One column for both, as a JSONL record's one field: the text is the id too.
    same = read_file(folder, "dump.parquet", IngestConfig(text_field="text", id_field="text"))
    assert [a.text for a in same.articles] == [GOOD, "Second " + GOOD, "Repeat " + GOOD]


def test_parquet_text_of_bytes_and_bad_files(folder: Path) -> None:
    _parquet(folder / "bytes.parquet", {"text": [GOOD.encode(), b"\x00\x01\x02 binary"], "n": [1, 2]})
    result = read_file(folder, "bytes.parquet", IngestConfig())
    assert [(a.id, a.text) for a in result.articles] == [("bytes.parquet#1", GOOD)]
    assert result.skips == (Skip("bytes.parquet:2", "binary", "control bytes in the first 8 KiB"),)
    _parquet(folder / "other.parquet", {"body": [GOOD]})
    _parquet(folder / "ints.parquet", {"text": [1, 2]})
    raw = _parquet(folder / "cut.parquet", {"text": [GOOD] * 50})
    (folder / "cut.parquet").write_bytes(raw[: len(raw) // 2])
    (folder / "empty.parquet").write_bytes(b"")
    details = {
        name: [(s.reason, s.detail) for s in read_file(folder, name, IngestConfig()).skips]
        for name in ("other.parquet", "ints.parquet", "empty.parquet")
    }
    assert details == {
        "other.parquet": [("missing_text", "no column 'text'")],
        "ints.parquet": [("missing_text", "column 'text' holds int64, not text")],
        "empty.parquet": [("empty", "")],
    }
    assert _reasons(folder, "cut.parquet") == ["malformed_parquet"]


def test_parquet_limit_counts_the_unpacked_text(folder: Path) -> None:
    """--max-file-mb holds the uncompressed size of the text and id columns, read from the file's
    metadata before any row is: a small file of repetitive text can hold far more."""
    raw = _parquet(folder / "big.parquet", {"text": [f"{i} {GOOD * 40}" for i in range(40)], "id": list(range(40))})
    assert len(raw) < 50_000
    (skip,) = read_file(folder, "big.parquet", IngestConfig(max_file_bytes=50_000)).skips
    assert skip.reason == "too_large"
    assert skip.detail.endswith("bytes in columns text, id > limit 50000")
    assert len(read_file(folder, "big.parquet", IngestConfig()).articles) == 40
    # One text in 1,000 rows: 3 KB in the metadata, 3.5 MB of text.
    raw = _parquet(folder / "same.parquet", {"text": [GOOD * 40] * 1000})
    assert len(raw) < 20_000
    (skip,) = read_file(folder, "same.parquet", IngestConfig(max_file_bytes=1_000_000)).skips
    assert (skip.reason, skip.detail) == ("too_large", f"{len(GOOD) * 40_000} bytes > limit 1000000")


def test_parquet_without_pyarrow_is_unsupported(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _parquet(folder / "dump.parquet", {"text": [GOOD]})
    monkeypatch.setattr("dedup.ingest.parquet_readable", lambda: False)
    assert read_file(folder, "dump.parquet", IngestConfig()).skips == (
        Skip("dump.parquet", "unsupported_type", "reading Parquet needs pyarrow: pip install 'dedup[parquet]'"),
    )
    assert parquet_readable.__wrapped__()  # installed here: the tests need the parquet extra


def test_a_parquet_reader_that_ends_the_process_is_a_skip(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pyarrow's C++ code ends the process (``std::terminate``, SIGABRT) on some damaged files: the
    file is read in a forked child, whose death makes it a skip; the reader goes on."""
    _parquet(folder / "bad.parquet", {"text": [GOOD]})
    monkeypatch.setattr("dedup.ingest._parquet_columns", lambda *args: os.abort())
    assert read_file(folder, "bad.parquet", IngestConfig()).skips == (
        Skip("bad.parquet", "malformed_parquet", "the Parquet reader failed on it (signal 6)"),
    )
    assert read_file(folder, "good.txt", IngestConfig()).articles


def test_damaged_parquet_files_are_skips(folder: Path) -> None:
    """Bytes changed at random in a Parquet file: every outcome is articles or a skip."""
    raw = _parquet(folder / "ok.parquet", {"id": list(range(30)), "text": [f"{i} {GOOD}" for i in range(30)]})
    rng = random.Random(3)
    reasons = set()
    for k in range(60):
        damaged = bytearray(raw)
        for _ in range(rng.choice([1, 5, 20])):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        result = read_file_bytes(f"d{k}.parquet", bytes(damaged), IngestConfig())
        reasons.update(s.reason for s in result.skips)
        assert result.articles or result.skips
    assert "malformed_parquet" in reasons

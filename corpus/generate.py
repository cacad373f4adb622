"""Seeded generator of SEO-style articles with planted near-duplicates and ground truth.

Articles imitate the specimens in ``../shared/seeds``: a summary paragraph, an intro, a bullet list
that repeats the section headings, sections with one or two body paragraphs, a conclusion; reused
template openers ("X, a plant native to Y, has garnered attention in the realm of Z"); disclaimer
paragraphs pasted into many articles. On top of independent articles it plants:

* near-duplicate families: an original plus 1-3 variants made by synonym swaps, sentence reorder,
  light rewording (fillers added or dropped), truncation (last section and conclusion dropped),
  one paragraph rewritten, boilerplate added;
* template siblings: same skeleton, headings, openers and boilerplate as another article but every
  body paragraph written afresh (must NOT cluster);
* partial borrowers: an article that copies a single paragraph of another (must NOT cluster).

Output (``--out DIR``): the articles under ``DIR/articles/`` (``.txt`` mostly, some ``.md``,
``.html``, gzipped ``.txt.gz`` and records in ``feeds/*.jsonl``), ``DIR/truth.csv`` (``path,cluster``:
every article, near-duplicate families share a label) and ``DIR/copies.csv`` (which segment was
copied from where, and how). Paths in both CSVs are relative to ``DIR/articles`` and spelled the way
``dedup`` names articles (``feeds/batch-01.jsonl#r00012`` for a record).

Usage::

    python -m corpus.generate --out corpus/sample --articles 240 --seed 7
"""

from __future__ import annotations

import argparse
import csv
import gzip
import html
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

TOPICS = [
    ("kratom", "plant", "Southeast Asia", ["mitragynine", "7-hydroxymitragynine"]),
    ("ashwagandha", "herb", "India", ["withanolides", "withaferin A"]),
    ("turmeric", "spice", "South Asia", ["curcumin", "turmerone"]),
    ("CBD oil", "extract", "Europe", ["cannabidiol", "terpenes"]),
    ("ginseng", "root", "East Asia", ["ginsenosides", "polysaccharides"]),
    ("valerian root", "herb", "Europe", ["valerenic acid", "isovaleric acid"]),
    ("lion's mane", "mushroom", "North America", ["hericenones", "erinacines"]),
    ("green tea", "beverage", "China", ["EGCG", "L-theanine"]),
    ("rhodiola", "herb", "Siberia", ["rosavin", "salidroside"]),
    ("moringa", "tree", "Africa", ["quercetin", "chlorogenic acid"]),
    ("elderberry", "berry", "Europe", ["anthocyanins", "flavonols"]),
    ("maca", "root", "the Andes", ["macamides", "glucosinolates"]),
]
ASPECTS = [
    "chronic pain",
    "sleep quality",
    "anxiety relief",
    "immune support",
    "daily energy",
    "mental focus",
    "inflammation",
    "digestive health",
    "neuropathic pain",
    "stress management",
    "joint comfort",
    "mood balance",
    "recovery after exercise",
    "healthy ageing",
]
AUDIENCES = [
    "adults",
    "athletes",
    "older adults",
    "office workers",
    "students",
    "people with busy lives",
    "first-time users",
    "long-term users",
    "patients",
    "wellness enthusiasts",
]
MECHANISMS = [
    "opioid receptors",
    "serotonin pathways",
    "the stress hormone cortisol",
    "inflammatory markers",
    "the gut microbiome",
    "nerve growth factors",
    "cellular energy production",
    "the immune response",
    "blood flow",
    "neurotransmitter balance",
]
FORMS = ["powder", "capsules", "tea", "tincture", "extract", "gummies"]
LEADS = [
    "",
    "",
    "",
    "",
    "In many cases, ",
    "According to recent reports, ",
    "For this reason, ",
    "At the same time, ",
    "In practice, ",
    "Over the past decade, ",
    "Interestingly, ",
    "As a rule, ",
    "Not surprisingly, ",
    "By contrast, ",
    "In everyday use, ",
]
TAILS = [
    "",
    "",
    "",
    "",
    " in the long run",
    " for most people",
    " when used responsibly",
    " according to early studies",
    " in small clinical trials",
    " under medical supervision",
    " in traditional practice",
    " across different age groups",
    " at moderate doses",
]
CORES = [
    "{Name} may offer support for {aspect}",
    "many {audience} turn to {name} {form} to manage {aspect}",
    "the {compound} found in {name} appears to interact with {mechanism}",
    "researchers have linked {name} to changes in {mechanism}",
    "the quality of {name} products varies widely between suppliers",
    "dosage plays a decisive role in how {name} affects {aspect}",
    "{name} has a long history of use in {region}",
    "side effects of {name} are usually mild but can include nausea and headaches",
    "{audience} often combine {name} with other routines for {aspect}",
    "the evidence on {name} and {aspect} is still limited",
    "regulators in several countries have issued guidance on {name}",
    "some studies suggest that {compound} can influence {mechanism}",
    "{name} {form} are among the most popular ways to take this {kind}",
    "experts recommend starting with a low dose of {name}",
    "the effects of {name} often appear within a few hours",
    "{name} should not replace prescribed treatment for {aspect}",
    "interest in {name} has grown quickly among {audience}",
    "the {kind} contains several active compounds, including {compound}",
    "tolerance to {name} can develop with daily use",
    "independent lab testing helps confirm the purity of {name} {form}",
    "{name} is sometimes described as a gentle option for {aspect}",
    "the legal status of {name} differs from one region to another",
    "people taking other medication should check for interactions with {name}",
    "small trials have reported improvements in {aspect} with {name}",
    "the way {name} is harvested and dried changes its potency",
    "users describe the taste of {name} {form} as earthy and bitter",
    "{compound} is thought to be responsible for most of the effects of {name}",
    "a balanced diet and regular sleep make {name} more effective for {aspect}",
    "online reviews of {name} should be read with caution",
    "the recommended serving of {name} depends on body weight and sensitivity",
    "pharmacists are a useful source of advice on {name}",
    "{name} is not suitable for pregnant or breastfeeding women",
    "long-term safety data on {name} are still being collected",
    "combining {name} with alcohol is widely discouraged",
    "many brands now sell standardised {name} {form}",
    "the popularity of {name} has prompted new research into {aspect}",
    "traditional healers in {region} used {name} for {aspect}",
    "consistency matters more than quantity when taking {name}",
    "{name} may influence {mechanism} in ways that are not fully understood",
    "clear labelling helps consumers compare {name} products",
]
OPENERS = [
    "{Name}, a {kind} native to {region}, has garnered attention in the realm of {aspect}.",
    "{Name}, a natural {kind} from {region}, has gained attention as a potential aid for {aspect}.",
    "{Name}, a {kind} with a long history in {region}, has emerged as a subject of interest for {aspect}.",
]
HEADINGS = [
    "Understanding {Name}'s Role in {Aspect}",
    "The Science Behind {Name} and {Aspect}",
    "Balancing Benefits and Risks: {Name} for {Aspect}",
    "How to Use {Name} Safely",
    "What Research Says About {Name}",
    "Choosing a Quality {Name} Product",
    "Regulatory Considerations for {Name}",
    "Common Questions About {Name} and {Aspect}",
]
BOILERPLATE = [
    "Disclaimer: This article is for informational purposes only and does not constitute medical "
    "advice. Always consult a qualified healthcare professional before starting any new supplement, "
    "especially if you are pregnant, nursing, taking medication or have a medical condition.",
    "The statements in this article have not been evaluated by the Food and Drug Administration. "
    "The products mentioned are not intended to diagnose, treat, cure or prevent any disease, and "
    "individual results may vary from person to person.",
    "Subscribe to our newsletter to receive the latest articles, product reviews and exclusive "
    "discounts straight to your inbox every week. We respect your privacy and you can unsubscribe "
    "at any time with a single click.",
]
SYNONYMS = {
    "may": ["might", "could"],
    "many": ["numerous", "plenty of"],
    "often": ["frequently", "regularly"],
    "widely": ["broadly", "extensively"],
    "quickly": ["rapidly", "swiftly"],
    "several": ["various", "multiple"],
    "support": ["help", "aid"],
    "limited": ["scarce", "thin"],
    "popular": ["common", "favoured"],
    "useful": ["helpful", "valuable"],
    "recommend": ["advise", "suggest"],
    "mild": ["minor", "slight"],
    "effects": ["impacts", "results"],
    "changes": ["shifts", "alterations"],
    "grown": ["risen", "increased"],
    "suggest": ["indicate", "imply"],
    "harvested": ["gathered", "picked"],
    "long": ["lengthy", "extended"],
    "decisive": ["key", "crucial"],
    "gentle": ["mild", "soft"],
    "quality": ["standard", "grade"],
    "research": ["study", "investigation"],
    "improvements": ["gains", "benefits"],
    "check": ["verify", "confirm"],
    "describe": ["characterise", "depict"],
    "usually": ["typically", "generally"],
    "clear": ["plain", "precise"],
    "traditional": ["customary", "conventional"],
    "new": ["fresh", "novel"],
    "advice": ["guidance", "counsel"],
}
FILLERS = ["In fact, ", "Notably, ", "Of course, ", "Indeed, ", "Clearly, "]


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


@dataclass
class Spec:
    """Slots of one article's topic."""

    name: str
    kind: str
    region: str
    compounds: list[str]
    aspect: str

    def fill(self, template: str, rng: random.Random) -> str:
        values = {
            "name": self.name,
            "Name": _cap(self.name),
            "kind": self.kind,
            "region": self.region,
            "aspect": self.aspect,
            "Aspect": " ".join(_cap(w) for w in self.aspect.split()),
            "compound": rng.choice(self.compounds),
            "audience": rng.choice(AUDIENCES),
            "mechanism": rng.choice(MECHANISMS),
            "form": rng.choice(FORMS),
        }
        return template.format(**values)


@dataclass
class Section:
    heading: str
    paragraphs: list[list[str]]  # each paragraph is a list of sentences


@dataclass
class Article:
    """An article as structured content; rendering turns it into segments."""

    spec: Spec
    summary: list[str]
    intro: list[str]
    sections: list[Section]
    conclusion: list[str]
    boilerplate: list[str] = field(default_factory=list)

    def segments(self) -> list[tuple[str, str]]:
        """``(kind, text)`` in reading order; kinds: summary, intro, bullet, heading, body, ..."""
        out = [("summary", " ".join(self.summary)), ("intro", " ".join(self.intro))]
        out += [("bullet", f"- {s.heading}") for s in self.sections]
        for s in self.sections:
            out.append(("heading", s.heading))
            out += [("body", " ".join(p)) for p in s.paragraphs]
        if self.conclusion:
            out.append(("conclusion", " ".join(self.conclusion)))
        out += [("boilerplate", b) for b in self.boilerplate]
        return out


def _sentence(spec: Spec, rng: random.Random) -> str:
    core = spec.fill(rng.choice(CORES), rng)
    lead = rng.choice(LEADS)
    body = f"{lead}{core}" if lead else _cap(core)
    return f"{body}{rng.choice(TAILS)}."


def _paragraph(spec: Spec, rng: random.Random, opener: bool = False) -> list[str]:
    sentences = [spec.fill(rng.choice(OPENERS), rng)] if opener else []
    while len(sentences) < rng.randint(4, 7):
        s = _sentence(spec, rng)
        if s not in sentences:
            sentences.append(s)
    return sentences


def new_article(rng: random.Random, spec: Spec | None = None, headings: list[str] | None = None) -> Article:
    """A fresh article; ``spec``/``headings`` given to make a template sibling."""
    if spec is None:
        name, kind, region, compounds = rng.choice(TOPICS)
        spec = Spec(name, kind, region, compounds, rng.choice(ASPECTS))
    if headings is None:
        headings = [spec.fill(h, rng) for h in rng.sample(HEADINGS, rng.randint(3, 4))]
    sections = [
        Section(h, [_paragraph(spec, rng, opener=(i == 0 and rng.random() < 0.5)) for i in range(rng.randint(1, 2))])
        for h in headings
    ]
    boiler = [b for b in BOILERPLATE if rng.random() < 0.22]
    return Article(
        spec,
        _paragraph(spec, rng),
        _paragraph(spec, rng, opener=True),
        sections,
        _paragraph(spec, rng),
        boiler,
    )


def _spin_sentence(sentence: str, rng: random.Random, rate: float) -> str:
    def swap(m: re.Match[str]) -> str:
        word = m.group(0)
        options = SYNONYMS.get(word.lower())
        if options and rng.random() < rate:
            new = rng.choice(options)
            return _cap(new) if word[0].isupper() else new
        return word

    return re.sub(r"[A-Za-z]+", swap, sentence)


def _reword(sentence: str, rng: random.Random) -> str:
    for filler in FILLERS:
        if sentence.startswith(filler):
            return _cap(sentence[len(filler) :])
    return rng.choice(FILLERS) + sentence[:1].lower() + sentence[1:]


def make_variant(orig: Article, rng: random.Random) -> tuple[Article, list[str]]:
    """A near-duplicate of ``orig`` and the names of the transforms applied."""
    if rng.random() < 0.08:
        copy = Article(orig.spec, orig.summary, orig.intro, orig.sections, orig.conclusion, orig.boilerplate)
        return copy, ["exact_copy"]
    transforms = ["spin"]
    rate = rng.uniform(0.15, 0.35)

    def edit(paragraph: list[str]) -> list[str]:
        p = [_spin_sentence(s, rng, rate) for s in paragraph]
        if rng.random() < 0.25:
            p = [_reword(s, rng) if rng.random() < 0.3 else s for s in p]
        if rng.random() < 0.3:
            rng.shuffle(p)
        return p

    sections = [Section(s.heading, [edit(p) for p in s.paragraphs]) for s in orig.sections]
    conclusion = edit(orig.conclusion)
    if rng.random() < 0.3 and len(sections) > 2:
        sections = sections[:-1]
        conclusion = []
        transforms.append("truncate")
    if rng.random() < 0.25:
        target = rng.randrange(len(sections))
        paras = list(sections[target].paragraphs)
        paras[-1] = _paragraph(orig.spec, rng)
        sections[target] = Section(sections[target].heading, paras)
        transforms.append("rewrite_one")
    boiler = list(orig.boilerplate)
    if rng.random() < 0.3:
        extra = [b for b in BOILERPLATE if b not in boiler]
        if extra:
            boiler.append(rng.choice(extra))
            transforms.append("add_boilerplate")
    variant = Article(orig.spec, edit(orig.summary), edit(orig.intro), sections, conclusion, boiler)
    return variant, transforms


def template_sibling(orig: Article, rng: random.Random) -> Article:
    """Same topic, headings and boilerplate; every body paragraph new."""
    sib = new_article(rng, spec=orig.spec, headings=[s.heading for s in orig.sections])
    sib.boilerplate = list(orig.boilerplate)
    return sib


# --------------------------------------------------------------------------- rendering


def render_text(a: Article) -> str:
    return "\n".join(text for _, text in a.segments()) + "\n"


def render_markdown(a: Article) -> str:
    lines = []
    for kind, text in a.segments():
        lines.append(f"## {text}" if kind == "heading" else text)
        if kind != "bullet":
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def render_html(a: Article, rng: random.Random) -> str:
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(a.sections[0].heading)}</title></head><body>",
        "<nav><a href='/'>Home</a> | <a href='/shop'>Shop</a> | <a href='/blog'>Blog</a> | "
        "<a href='/contact'>Contact</a></nav>",
        "<div class='cookie-banner'>We use cookies to improve your experience. "
        "By continuing to browse you accept our cookie policy.</div><main><article>",
    ]
    in_list = False
    for kind, text in a.segments():
        if kind == "bullet":
            if not in_list:
                parts.append("<ul>")
                in_list = True
            parts.append(f"<li>{html.escape(text[2:])}</li>")
            continue
        if in_list:
            parts.append("</ul>")
            in_list = False
        tag = "h2" if kind == "heading" else "p"
        parts.append(f"<{tag}>{html.escape(text)}</{tag}>")
    parts.append("</article></main>")
    parts.append(
        f"<footer>Copyright {rng.randint(2015, 2025)} Wellness Media Ltd. All rights reserved. "
        "Privacy policy | Terms of use | Affiliate disclosure</footer></body></html>"
    )
    return "\n".join(parts) + "\n"


def _slug(a: Article) -> str:
    return re.sub(r"[^a-z0-9]+", "-", f"{a.spec.name} {a.spec.aspect}".lower()).strip("-")


# --------------------------------------------------------------------------- corpus


@dataclass
class Planted:
    """One generated article with its place in the ground truth."""

    article: Article
    family: str
    source: int | None = None  # index of the article it was derived from
    transforms: list[str] = field(default_factory=list)
    borrowed: tuple[int, int, int] | None = None  # (source article, source segment, own segment)


def plan_corpus(n_articles: int, seed: int) -> list[Planted]:
    """Decide every article: originals, variants, template siblings and partial borrowers."""
    rng = random.Random(seed)
    items: list[Planted] = []
    while len(items) < n_articles:
        roll = rng.random()
        if roll < 0.22 and n_articles - len(items) >= 2:
            base = Planted(new_article(rng), family=f"f{len(items):05d}")
            items.append(base)
            base_idx = len(items) - 1
            for _ in range(min(rng.randint(1, 3), n_articles - len(items))):
                variant, transforms = make_variant(base.article, rng)
                items.append(Planted(variant, base.family, base_idx, transforms))
        elif roll < 0.32 and items:
            src = rng.randrange(len(items))
            items.append(
                Planted(template_sibling(items[src].article, rng), f"f{len(items):05d}", src, ["template_sibling"])
            )
        elif roll < 0.40 and items:
            src = rng.randrange(len(items))
            art = new_article(rng)
            src_segments = items[src].article.segments()
            bodies = [i for i, (k, _) in enumerate(src_segments) if k == "body"]
            seg = rng.choice(bodies)
            sentences = src_segments[seg][1]
            # Insert the borrowed paragraph as the first body paragraph of the new article.
            art.sections[0].paragraphs.insert(0, [sentences])
            own = next(i for i, (k, _) in enumerate(art.segments()) if k == "body")
            items.append(Planted(art, f"f{len(items):05d}", src, ["borrow_one"], (src, seg, own)))
        else:
            items.append(Planted(new_article(rng), f"f{len(items):05d}"))
    return items[:n_articles]


def write_corpus(out: Path, n_articles: int = 240, seed: int = 7, formats: bool = True) -> dict[str, int]:
    """Generate and write a corpus with ``truth.csv`` and ``copies.csv``.

    Args:
        out: destination folder (created; existing generated files are overwritten).
        n_articles: number of articles.
        seed: random seed; the same seed gives byte-identical files.
        formats: mix in .md, .html, .txt.gz and JSONL records; plain .txt only when False.

    Returns:
        Counts: articles, families with two or more members, planted variants.
    """
    rng = random.Random(seed + 1)
    items = plan_corpus(n_articles, seed)
    meta = out
    out = out / "articles"
    out.mkdir(parents=True, exist_ok=True)
    paths: list[str] = []
    jsonl: dict[str, list[str]] = {}
    for i, item in enumerate(items):
        a = item.article
        folder = a.spec.name.replace("'", "").replace(" ", "-").lower()
        stem = f"{folder}/{i:05d}-{_slug(a)}"
        roll = rng.random() if formats else 1.0
        if roll < 0.08:
            feed = f"feeds/batch-{i % 3 + 1:02d}.jsonl"
            rid = f"r{i:05d}"
            record = {"id": rid, "title": a.sections[0].heading, "text": render_text(a)}
            jsonl.setdefault(feed, []).append(json.dumps(record, ensure_ascii=False))
            paths.append(f"{feed}#{rid}")
            continue
        if roll < 0.16:
            rel, data = f"{stem}.md", render_markdown(a).encode()
        elif roll < 0.24:
            rel, data = f"{stem}.html", render_html(a, rng).encode()
        elif roll < 0.30:
            rel, data = f"{stem}.txt.gz", gzip.compress(render_text(a).encode(), mtime=0)
        else:
            rel, data = f"{stem}.txt", render_text(a).encode()
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        paths.append(rel)
    for feed, lines in jsonl.items():
        target = out / feed
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with (meta / "truth.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["path", "cluster"])
        w.writerows(sorted((p, item.family) for p, item in zip(paths, items, strict=True)))
    with (meta / "copies.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["path", "segment", "source_path", "source_segment", "transform"])
        rows = []
        for p, item in zip(paths, items, strict=True):
            if item.source is None:
                continue
            if item.borrowed:
                src, src_seg, own = item.borrowed
                rows.append((p, own, paths[src], src_seg, "borrow_one"))
            elif "template_sibling" not in item.transforms:
                rows.append((p, "*", paths[item.source], "*", "+".join(item.transforms)))
        w.writerows(sorted(rows, key=lambda r: (r[0], str(r[1]))))
    families = {}
    for item in items:
        families[item.family] = families.get(item.family, 0) + 1
    return {
        "articles": len(items),
        "families": sum(1 for n in families.values() if n > 1),
        "variants": sum(
            1 for item in items if item.source is not None and item.transforms[0] in ("spin", "exact_copy")
        ),
    }


def main(argv: list[str] | None = None) -> None:
    """Command line: ``python -m corpus.generate --out DIR [--articles N] [--seed S] [--plain]``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--articles", type=int, default=240)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--plain", action="store_true", help="only .txt files")
    args = parser.parse_args(argv)
    counts = write_corpus(args.out, args.articles, args.seed, formats=not args.plain)
    print(json.dumps(counts))


if __name__ == "__main__":
    main()

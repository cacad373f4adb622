"""Shared fixtures: generated corpora with ground truth and a CLI runner."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from corpus.generate import write_corpus
from dedup.cli import build_config
from dedup.config import DedupConfig

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "corpus" / "sample"
GOLDEN = Path(__file__).resolve().parent / "golden"


def fail_listing(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Make ``os.scandir`` of ``folder`` fail as a folder without read permission does (tests run
    as root too, whom permissions do not stop)."""
    real = os.scandir

    def scandir(path: str | Path) -> object:
        if Path(path) == folder:
            raise PermissionError(13, "Permission denied")
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)


def read_truth_csv(path: Path) -> dict[str, str]:
    with path.open(newline="", encoding="utf-8") as fh:
        return {row["path"]: row["cluster"] for row in csv.DictReader(fh)}


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 160-article generated corpus (all formats) with truth.csv; its articles are under articles/."""
    out = tmp_path_factory.mktemp("generated")
    write_corpus(out, n_articles=160, seed=3)
    return out


@pytest.fixture(scope="session")
def plain_generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 120-article generated corpus of plain .txt files."""
    out = tmp_path_factory.mktemp("plain")
    write_corpus(out, n_articles=120, seed=5, formats=False)
    return out


@pytest.fixture
def cfg() -> DedupConfig:
    """Default configuration, one worker."""
    return build_config(workers=1)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()

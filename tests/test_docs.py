"""The README documents every command, option and column, and CI runs its test command."""

from __future__ import annotations

import re

import typer.main

from dedup.cli import app
from dedup.report import ARTICLES_COLUMNS, BOILERPLATE_COLUMNS, CLUSTERS_COLUMNS, PAIRS_COLUMNS
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands() -> dict[str, object]:
    group = typer.main.get_command(app)
    return dict(group.commands)  # type: ignore[attr-defined]


def test_every_command_has_help_and_is_documented() -> None:
    commands = _commands()
    assert set(commands) >= {"scan", "eval"}
    for name, command in commands.items():
        assert command.help, name
        assert f"### `dedup {name}" in README, name


def test_every_option_is_documented() -> None:
    for name, command in _commands().items():
        for param in command.params:
            for opt in param.opts:
                if opt.startswith("--") and opt != "--help":
                    assert f"`{opt}`" in README, (name, opt)


def test_every_csv_column_is_documented() -> None:
    for column in (*CLUSTERS_COLUMNS, *PAIRS_COLUMNS, *BOILERPLATE_COLUMNS, *ARTICLES_COLUMNS):
        assert f"`{column}`" in README, column


def test_ci_runs_the_readme_test_command() -> None:
    blocks = re.findall(r"```bash\n(.*?)```", README.split("## Quickstart")[1].split("\n## ")[0], re.S)
    assert len(blocks) == 2
    test_command = blocks[1].strip()
    assert "pytest" in test_command
    assert test_command in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_readme_tables_are_generated_from_results() -> None:
    import json
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import render
    finally:
        sys.path.pop(0)
    results = ROOT / "benchmarks" / "results"
    for name, builder in (
        ("quality", render.quality_table),
        ("perf", render.perf_table),
        ("incremental", render.incremental_table),
        ("adversarial", render.adversarial_table),
        ("spark", render.spark_table),
        ("shards", render.shards_table),
    ):
        path = results / f"{name}.json"
        assert path.exists(), path
        table = builder(json.loads(path.read_text()))
        block = README.split(f"<!-- {name}:start -->\n")[1].split(f"<!-- {name}:end -->")[0]
        assert block == table + "\n"

"""``python -m dedup`` runs the command-line interface."""

from __future__ import annotations

from dedup.cli import app

app(prog_name="dedup")

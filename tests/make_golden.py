"""Regenerate tests/golden/sample/*.csv from the committed sample corpus (review the diff!).

python tests/make_golden.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from typer.testing import CliRunner

from dedup.cli import app

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GOLDEN_ARGS = ["scan", str(ROOT / "corpus" / "sample" / "articles"), "--workers", "1", "--quiet", "--out"]


def main() -> int:
    out = HERE / "golden" / "sample"
    result = CliRunner().invoke(app, [*GOLDEN_ARGS, str(out)])
    if result.exit_code != 0:
        print(result.output, file=sys.stderr)
        return result.exit_code
    (out / "summary.json").unlink()  # timings differ run to run; not a golden file
    print(f"wrote {sorted(p.name for p in out.iterdir())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The README's Python API example runs as written, in a fresh interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MARKER = "<!-- python-api-example: tests/cli/test_python_api.py runs this block -->"


def readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    after = text.split(MARKER, 1)[1]
    opening = "```python\n"
    assert after.lstrip("\n").startswith(opening), "the marker must sit above a python block"
    body = after.lstrip("\n")[len(opening):]
    return body.split("\n```", 1)[0] + "\n"


def test_the_readme_example_prints_what_the_readme_says(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("LEDGER_URL", "LEDGER_SCHEMA", "LEDGER_KEK", "LEDGER_CONFIG")}
    env["TMPDIR"] = str(tmp_path)  # the example's mkdtemp lands under the test's directory
    done = subprocess.run([sys.executable, "-c", readme_example()], check=False,
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines == [
        "PHQ-9 down to 9.",
        "refused: role front-desk may not read notes for purpose TREAT (the attempt was "
        "recorded)",
        "[('desk', 'granted'), ('dr-lee', 'granted'), ('dr-lee', 'granted'), "
        "('desk', 'denied')]",
        "[True, True, True]",
    ]
    readme = (ROOT / "README.md").read_text()
    assert "`refused: role front-desk may not read notes for purpose TREAT (the\nattempt was " \
           "recorded)`" in readme  # the prose under the example quotes the same refusal

"""Repository hygiene: nothing ignored is tracked, and no key file is ever committed."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KEY_FILE = re.compile(r"\.(kek|key|pem|p12|pfx)$")


def git(*args: str) -> list[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True)
    return [line for line in out.stdout.splitlines() if line]


def test_no_tracked_file_is_ignored() -> None:
    assert git("ls-files", "-ci", "--exclude-standard") == []


def test_no_key_file_is_tracked() -> None:
    assert [f for f in git("ls-files") if KEY_FILE.search(f)] == []


def test_the_key_file_check_sees_a_key_file() -> None:
    assert KEY_FILE.search("demo-data-tampered/keys/main.kek")
    assert KEY_FILE.search("keys/checkpoint.key")
    assert not KEY_FILE.search("keys/checkpoint.pub")

"""The one way the ledger makes files and directories: exactly 0600 and 0700, under the
most open umask and under one that takes the owner's own bits away (issue 12, defect 9)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.primitives import private_files


@pytest.fixture(params=[0o000, 0o277], ids=["umask-000", "umask-277"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    before = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(before)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_directories_and_their_missing_parents_are_0700(umask: int, tmp_path: Path) -> None:
    private_files.make_dir(tmp_path / "a" / "b")
    private_files.make_dir(tmp_path / "a" / "b")  # again: nothing to do
    assert [mode(tmp_path / "a"), mode(tmp_path / "a" / "b")] == [0o700, 0o700]


def test_a_file_where_a_directory_should_be_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(FileExistsError, match="File exists"):
        private_files.make_dir(tmp_path / "file")


def test_files_are_0600_however_made(umask: int, tmp_path: Path) -> None:
    private_files.write_new(tmp_path / "new", b"x")
    private_files.replace(tmp_path / "replaced", b"y")
    private_files.replace(tmp_path / "replaced", b"z")
    os.close(private_files.open_private(tmp_path / "appended", os.O_WRONLY | os.O_APPEND))
    assert {p.name: mode(p) for p in tmp_path.iterdir()} == {
        "new": 0o600, "replaced": 0o600, "appended": 0o600}
    assert (tmp_path / "replaced").read_bytes() == b"z"
    with pytest.raises(FileExistsError):
        private_files.write_new(tmp_path / "new", b"never over an existing file")
    assert (tmp_path / "new").read_bytes() == b"x"


def test_an_open_directory_is_seen(tmp_path: Path) -> None:
    tmp_path.chmod(0o750)
    assert private_files.open_to_others(tmp_path) == 0o750
    tmp_path.chmod(0o700)
    assert private_files.open_to_others(tmp_path) is None

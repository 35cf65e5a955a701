"""Files and directories only their owner may use: 0600 and 0700, whatever the umask.

Every file the ledger creates (databases, keys, the public key, head files, checkpoint
notes, bundles) and every directory it makes goes through these functions. Each creates
with the final mode, so nothing is ever more open than that even for a moment (a umask can
only take bits away), then sets the mode exactly, in case the umask took away the owner's.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700


def make_dir(path: Path) -> None:
    """Make ``path`` and its missing parents, each 0700; existing ones are left as they are
    (FileExistsError if ``path`` is something else, as ``Path.mkdir`` says)."""
    if path.exists() and not path.is_dir():
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(path))
    missing = []
    while not path.exists() and path.parent != path:
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:  # made at this moment by another writer, the same way
            continue
        os.chmod(folder, DIR_MODE)


def create(path: Path) -> int:
    """A new file, 0600, open for writing (its descriptor). Never replaces one:
    FileExistsError if ``path`` exists."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    return _exact(fd)


def write_new(path: Path, data: bytes) -> None:
    """Write ``data`` to a new 0600 file (FileExistsError if it exists)."""
    with os.fdopen(create(path), "wb") as f:
        f.write(data)


def replace(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` (0600) in one step: a reader sees the old file or the
    new one, never half of it. Staged in a hidden sibling, then renamed over it."""
    staged = path.with_name(f".{path.name}.{os.getpid()}.partial")
    fd = _exact(os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(staged, path)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise


def open_private(path: Path, flags: int) -> int:
    """Open ``path`` with ``flags``, creating it 0600 if it does not exist."""
    fd = os.open(path, flags | os.O_CREAT, FILE_MODE)
    try:
        st = os.fstat(fd)
        if st.st_size == 0 and stat.S_IMODE(st.st_mode) != FILE_MODE:
            os.fchmod(fd, FILE_MODE)  # just created, under a umask that took bits away
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_to_others(path: Path) -> int | None:
    """The mode of directory ``path`` if its group or others have any access, else None."""
    mode = stat.S_IMODE(path.stat().st_mode)
    return mode if mode & (stat.S_IRWXG | stat.S_IRWXO) else None


def _exact(fd: int) -> int:
    try:
        os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd

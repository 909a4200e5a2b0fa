"""Files only their owner may read: folders made 0700, files created 0600 from their first byte.

What development keeps under `var/` is secret: the signing key, the SQLite database (password hashes),
and the mail folder (reset links). A file created with the default mode and chmod'ed afterwards can be
opened by another local user in between, so the mode is given to `os.open` (or `mkstemp`) itself.
Existing files and folders keep the mode they have.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def make_private_dir(path: str | Path) -> Path:
    """`path` and any missing parents, the last made 0700 (an existing folder is left as it is)."""
    path = Path(path)
    if not path.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
    return path


def create_private_file(path: str | Path) -> None:
    """An empty file at `path`, 0600, unless one is there (or its folder is not)."""
    with contextlib.suppress(FileExistsError, FileNotFoundError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))


def write_private_file(path: str | Path, data: bytes) -> None:
    """Write `data` to a new file at `path` made 0600 at creation (a stale one there is replaced)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)  # O_CREAT keeps an existing file's mode; a new file takes the one given here
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)

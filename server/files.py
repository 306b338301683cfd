"""Weir's files at rest: the data directory is 0700, every file Weir creates there 0600.

Modes are set explicitly (created with the mode, then ``chmod``-ed to it), never left to the
process umask: under ``umask 000`` a database must not become readable by other users.

SQLite databases are created here before SQLite opens them. SQLite then gives the ``-wal``,
``-shm`` and ``-journal`` files it creates itself the main file's permissions (its Unix VFS
``fchmod``-s them to the database's mode whatever the umask), so a 0600 database keeps its
companions 0600. A umask set around opening would change it for every thread of the process
(the API loop, the embedded worker), and a ``chmod`` after opening leaves a window; creating
the file first has neither problem.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

DIRECTORY_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create ``path`` and any missing parent as 0700; directories that exist are left as is."""
    missing: list[Path] = []
    current = Path(path)
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            directory.mkdir(mode=DIRECTORY_MODE)
            os.chmod(directory, DIRECTORY_MODE)  # mkdir's mode is filtered by the umask
    return Path(path)


def private_data_dir(data_dir: Path) -> Path:
    """Weir's data directory, created if needed, and 0700 even if it existed."""
    private_dir(data_dir)
    os.chmod(data_dir, DIRECTORY_MODE)
    return Path(data_dir)


def create_private(path: Path) -> int | None:
    """Create ``path`` as an empty 0600 file and return its descriptor; None if it exists."""
    private_dir(Path(path).parent)
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
    except FileExistsError:
        return None
    os.fchmod(descriptor, FILE_MODE)
    return descriptor


def private_file(path: Path) -> Path:
    """Make sure ``path`` exists; if Weir creates it here, it is 0600 (a SQLite database too)."""
    descriptor = create_private(path)
    if descriptor is not None:
        os.close(descriptor)
    return Path(path)

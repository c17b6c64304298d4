"""Files as ctcot writes them: whole or not at all.

:data:`PathLike` is what every ctcot function that takes a path accepts.
"""
import os
import uuid
from pathlib import Path
from typing import Union

__all__ = ["PathLike", "atomic_write"]

PathLike = Union[str, "os.PathLike[str]"]


def atomic_write(path: PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a sibling temporary file renamed over it.

    Readers, and a run that is interrupted, see either the old file or the new one, never half
    of one. open() (unlike mkstemp) gives the file the usual umask permissions.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)

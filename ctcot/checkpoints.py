"""The checkpoints an ESPnet training leaves in its output directory: find the damaged ones, and a full disk.

ESPnet's trainer writes, after each epoch N, ``checkpoint.pth`` (model, optimizers, schedulers and
reporter: what ``--resume`` reads) and then ``<N>epoch.pth`` (the model), and at the end the
averaged models. A write cut short (a full disk, a killed process) leaves a truncated zip that
``torch.load`` rejects only later, when resuming or averaging, without naming the file.
:func:`set_aside_damaged` finds such files before a training (re)starts, moves them to
``<output_dir>/damaged/`` (nothing is deleted), and rewrites ``<N>epoch.pth`` from ``checkpoint.pth``
when the checkpoint holds epoch N, which it does when the disk filled up between the two writes.
Without a loadable ``checkpoint.pth`` the training starts again from its first epoch.
"""
from __future__ import annotations

import logging
import os
import shutil
import time
import zipfile
import zlib
from pathlib import Path
from typing import Dict, Optional

from ctcot.fileio import PathLike

__all__ = ["DAMAGED_DIR", "damage", "set_aside_damaged", "disk_full_message"]

logger = logging.getLogger(__name__)


DAMAGED_DIR = "damaged"
MIN_FREE_BYTES = 16 << 20  # below this much, no checkpoint is likely to fit


def damage(path: PathLike) -> Optional[str]:
    """Why the torch checkpoint ``path`` cannot be loaded, or ``None`` if it is whole.

    ``torch.save`` writes a zip archive: the archive's directory and every member's CRC are
    checked, which reads the file once but unpickles nothing.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            bad_member = archive.testzip()
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
        return f"not a complete torch checkpoint ({error})"
    return None if bad_member is None else f"member {bad_member} is corrupt"


def _checkpoint_files(output_dir: Path):
    """The regular ``.pth`` files of ``output_dir`` and its ``epochs/`` (links to them are ESPnet's)."""
    for directory in (output_dir, output_dir / "epochs"):
        for path in sorted(directory.glob("*.pth")):
            if path.is_file() and not path.is_symlink():
                yield path


def set_aside_damaged(output_dir: PathLike) -> Dict[Path, str]:
    """Move the damaged checkpoints of ``output_dir`` to ``output_dir/damaged/``; restore what can be.

    A missing (or damaged) ``<N>epoch.pth`` is rewritten from ``checkpoint.pth`` when that holds
    epoch N (the model ESPnet saves in both), so that averaging finds every epoch it ranks.

    Returns:
        Each file moved, with why.
    """
    output_dir = Path(output_dir)
    moved = {}
    for path in _checkpoint_files(output_dir):
        reason = damage(path)
        if reason is None:
            continue
        aside = output_dir / DAMAGED_DIR / f"{path.relative_to(output_dir).as_posix().replace('/', '_')}." \
                                           f"{time.strftime('%Y%m%d-%H%M%S')}"
        aside.parent.mkdir(exist_ok=True)
        os.replace(path, aside)
        moved[path] = reason
        logger.warning("%s is damaged (%s): moved to %s", path, reason, aside)
    checkpoint = output_dir / "checkpoint.pth"
    if checkpoint in moved:
        logger.warning("%s: the training starts again from its first epoch (no complete checkpoint to resume from)",
                       output_dir)
    elif checkpoint.is_file():
        _restore_epoch_model(checkpoint)
    return moved


def _restore_epoch_model(checkpoint: Path) -> None:
    """Write ``<N>epoch.pth`` from ``checkpoint.pth`` (epoch N) if it is missing."""
    import torch  # only here: the check itself needs no torch

    # Memory-mapped: only the reporter is read unless the model must be written.
    state = torch.load(checkpoint, map_location="cpu", weights_only=False, mmap=True)
    epoch = state["reporter"]["epoch"]
    target = checkpoint.parent / f"{epoch}epoch.pth"
    if epoch < 1 or target.exists():
        return
    partial = target.with_name(target.name + ".partial")
    torch.save(state["model"], partial)
    os.replace(partial, target)  # never a truncated file under the real name
    logger.info("%s: restored from %s (epoch %d)", target, checkpoint, epoch)


def disk_full_message(output_dir: PathLike) -> Optional[str]:
    """What to say if the file system of ``output_dir`` has no room for its next checkpoint, else ``None``.

    The room needed is that of the largest checkpoint already there (at least 16 MiB): a
    training that dies writing a checkpoint on a full disk often reports only a zip-writer error
    ("unexpected pos ...").
    """
    output_dir = Path(output_dir)
    free = shutil.disk_usage(output_dir).free
    need = max([MIN_FREE_BYTES, *(path.stat().st_size for path in _checkpoint_files(output_dir))])
    if free >= need:
        return None
    return (f"no space left on the device of {output_dir}: {free / 2**20:.1f} MiB free, and a checkpoint here takes "
            f"up to {need / 2**20:.1f} MiB. Free some space (or use another --expdir) and run the same command again: "
            f"the training resumes from its last complete epoch")

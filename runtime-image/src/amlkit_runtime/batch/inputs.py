"""Input files of a batch job and their split into mini-batches.

Like a `uri_folder` input in Azure ML, a folder means every file under it, at any
depth; work is split at the file level, `mini_batch_size` files a mini-batch. Files
are taken in sorted order of their path, so the split, and the order of the output
rows, is the same on every run.
"""

from __future__ import annotations

import os
from pathlib import Path

from amlkit_runtime.batch.settings import BatchInputError


def list_input_files(path: Path) -> list[Path]:
    """Every file of `path` (a folder, walked recursively, or one file), sorted.

    Each file is opened once, so that an unreadable file (no permission, a broken
    link) is reported before any work starts rather than as a scoring failure.
    """
    if not path.exists():
        raise BatchInputError(f"input {str(path)!r} does not exist: give a folder or a file")
    if path.is_file():
        files = [path]
    elif path.is_dir():
        files = []
        for root, dirs, names in os.walk(path, onerror=_raise_walk_error):
            dirs.sort()
            files.extend(Path(root) / name for name in sorted(names))
        files.sort()
    else:
        raise BatchInputError(f"input {str(path)!r} is neither a folder nor a file")
    if not files:
        raise BatchInputError(f"input folder {str(path)!r} holds no files: nothing to score")
    for file in files:
        _check_readable(file)
    return files


def split_mini_batches(files: list[Path], mini_batch_size: int) -> list[list[Path]]:
    """Consecutive runs of `mini_batch_size` files; the last one may be shorter."""
    return [files[i : i + mini_batch_size] for i in range(0, len(files), mini_batch_size)]


def _check_readable(file: Path) -> None:
    if not file.is_file():  # a broken link, a FIFO (opening it would block), a socket
        kind = "a broken link" if file.is_symlink() else "not a regular file"
        raise BatchInputError(
            f"input file {str(file)!r} cannot be read ({kind}): every input file "
            "must be a readable regular file"
        )
    try:
        with open(file, "rb") as handle:
            handle.read(1)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise BatchInputError(
            f"input file {str(file)!r} cannot be read ({reason}): every input file "
            "must be a readable regular file"
        ) from None


def _raise_walk_error(exc: OSError) -> None:
    raise BatchInputError(
        f"input folder {exc.filename!r} cannot be listed ({exc.strerror}): "
        "it must be a readable folder"
    ) from None

"""Files amlkit writes (`plan --json`, `config schema -o`): checked before any work is
done, written atomically, never over an input.

A bad destination is bad input (exit 2, one line), found before a stack renders:
a folder, a path under a file, a folder that cannot be created or written, or a file the
command reads (the stack file, a CLI v2 file, a policy config, a model or code
folder). The text goes to a temporary file beside the destination and is renamed
over it, so a failed or interrupted write leaves the old file, never half a new
one, and no temporary file behind. A device or FIFO (`/dev/null`, `/dev/stdout`) is
written as it is.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .common import fail


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


def check_output(path: Path, option: str, inputs: Iterable[Path] = ()) -> Path:
    """`path` if a command may write its result there; else exit 2 with one line saying
    why. `inputs` are the files and folders the command reads."""
    target = _real(path)
    if target.is_dir():
        raise fail(f"{option} {path}: is a folder; give a file name, e.g. {path}/plan.json")
    if _is_device(target):
        return path  # /dev/null, /dev/stdout, a FIFO: written as they are
    for item in inputs:
        real = _real(item)
        if real == target or (target.exists() and real.exists() and real.samefile(target)):
            raise fail(f"{option} {path}: is a file this command reads; write the output elsewhere")
    for item in inputs:
        real = _real(item)
        if real.is_dir() and real in target.parents:
            raise fail(
                f"{option} {path}: lies in {item}, a folder this command reads; "
                "write the output elsewhere"
            )
    for parent in (target.parent, *target.parent.parents):
        if parent.exists():
            if not parent.is_dir():
                raise fail(f"{option} {path}: {parent} is not a folder")
            break
    try:  # the folder exists (or is made) and takes a file: found now, not after the work
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as error:
        raise fail(f"{option} {path}: cannot be written: {error.strerror or error}") from None
    return path


def _is_device(path: Path) -> bool:
    return path.exists() and not (path.is_file() or path.is_dir())


def _mode(path: Path) -> int:
    """The file's own mode when it exists, else what a plain `open()` would create."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_atomically(path: Path, text: str, option: str) -> None:
    """Write `text` to `path` through a temporary file in the same folder and a rename;
    on any failure remove the temporary file and exit 2 with one line."""
    temporary: str | None = None
    try:
        if _is_device(_real(path)):  # nothing to replace atomically
            with path.open("w", encoding="utf-8") as stream:
                stream.write(text)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.fchmod(fd, _mode(path))
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
        temporary = None
    except OSError as error:
        raise fail(f"{option} {path}: cannot be written: {error.strerror or error}") from None
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)

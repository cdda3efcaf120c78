"""What a batch job writes: predictions rows, the failure report, the summary.

`append_row` follows Azure ML: the rows returned by every `run()` are appended to
one file, with no header, fields separated by a space (Azure's own samples read it
back with `pd.read_csv(..., sep=" ", header=None)`). A pandas DataFrame gives one
line a row; a list gives one line an element (a list or tuple element becomes
several fields). Fields holding a space, a quote or a newline are quoted, CSV
style, so every returned row is exactly one record.

Every file lands under its final name in one step: it is written under a hidden
temporary name in the same folder, flushed to disk, then linked to its final name.
The link fails if the name exists, so a finished file is never overwritten and a
crashed run never leaves a half-written file under a final name.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO

SEPARATOR = " "


class ResultTypeError(TypeError):
    """`run()` returned something that is not a DataFrame or a list."""


def count_and_write_rows(result: Any, part: Path | None) -> int:
    """Write the rows of one `run()` result to `part` (when given); return how many.

    Accepts a pandas DataFrame or Series, a numpy array, a list or a tuple, as Azure
    ML does. pandas and numpy are not imported here: they are recognised by their
    methods, so the runner stays importable without them.
    """
    if hasattr(result, "to_csv") and hasattr(result, "shape"):  # DataFrame, Series
        if part is not None:
            result.to_csv(part, sep=SEPARATOR, header=False, index=False, lineterminator="\n")
        return int(result.shape[0])
    if hasattr(result, "tolist") and hasattr(result, "ndim"):  # numpy array
        result = result.tolist()
    if not isinstance(result, list | tuple):
        raise ResultTypeError(
            f"run() returned {type(result).__name__}; it must return a pandas DataFrame "
            "or a list, one row or element per successful item"
        )
    if part is not None:
        with open(part, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, delimiter=SEPARATOR, lineterminator="\n")
            for item in result:
                writer.writerow(item if isinstance(item, list | tuple) else [item])
    return len(result)


def concatenate_atomically(parts: Iterable[Path], final: Path) -> None:
    """Concatenate `parts`, in order, into `final`, which must not exist yet."""
    tmp = _tmp_name(final)
    try:
        with open(tmp, "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    _copy(src, out)
            out.flush()
            os.fsync(out.fileno())
        _publish(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


def _copy(src: BinaryIO, out: BinaryIO) -> None:
    """Append `src` to `out`, inside the kernel where it can (copy_file_range, Linux)."""
    if hasattr(os, "copy_file_range"):
        size = os.fstat(src.fileno()).st_size
        copied = 0
        try:
            while copied < size:
                done = os.copy_file_range(src.fileno(), out.fileno(), size - copied)
                if done == 0:
                    break
                copied += done
            return
        except OSError:  # a file system without it: the rest in user space
            src.seek(copied)
            out.seek(0, os.SEEK_END)
    shutil.copyfileobj(src, out, 1024 * 1024)


def write_json_atomically(final: Path, payload: Any) -> None:
    """Write `payload` as indented JSON into `final`, which must not exist yet."""
    _write_text_atomically(final, json.dumps(payload, indent=2) + "\n")


def write_jsonl_atomically(final: Path, records: Iterable[Any]) -> None:
    """Write one JSON object a line into `final`, which must not exist yet."""
    _write_text_atomically(final, "".join(json.dumps(r) + "\n" for r in records))


def _write_text_atomically(final: Path, text: str) -> None:
    tmp = _tmp_name(final)
    try:
        with open(tmp, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        _publish(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


def _tmp_name(final: Path) -> Path:
    return final.with_name(f".{final.name}.{os.getpid()}.tmp")


def _publish(tmp: Path, final: Path) -> None:
    """Give `tmp` the name `final` in one step, never replacing an existing file."""
    try:
        os.link(tmp, final)  # fails with FileExistsError instead of overwriting
    except FileExistsError:
        raise
    except OSError:
        # File systems without hard links (some network mounts): check, then rename.
        if final.exists():
            raise FileExistsError(str(final)) from None
        os.rename(tmp, final)

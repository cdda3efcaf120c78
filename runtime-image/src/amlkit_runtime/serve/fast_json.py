"""Faster `json.loads` for scoring scripts, with the standard library's results.

Azure-style scripts start with `json.loads(raw_data)`; for a 100-row request that
parse costs more than the model (0.43 ms against 0.31 ms for the sample model here).
`install()` replaces `json.loads` in this worker process with one that parses with
orjson and falls back to the standard library whenever orjson refuses the input or
any argument besides the document is given. Both produce the same Python values for
the JSON orjson accepts (dict, list, str, int, float, bool, None; last duplicate
key wins); what orjson refuses (NaN/Infinity literals, lone surrogates, invalid JSON)
goes to the standard library, so results and exceptions are the standard library's.
orjson reads integers beyond 64 bits as floats where the standard library keeps them
exact, so a document with a run of 19 or more digits goes to the standard library
too (found by mapping every digit to 9 and searching for nineteen 9s: about 15 us
for a 100-row body, where a regex takes 200 us).

On by default; AMLKIT_FAST_JSON=0 turns it off. It is installed before the script is
imported, so `from json import loads` in the script gets it too.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_standard_loads = json.loads
_DIGITS_TO_9 = str.maketrans("012345678", "999999999")
_DIGITS_TO_9_BYTES = bytes.maketrans(b"012345678", b"999999999")
_NINETEEN = "9" * 19
_NINETEEN_BYTES = b"9" * 19


def _loads(s: Any, *args: Any, **kwargs: Any) -> Any:
    if args or kwargs:
        return _standard_loads(s, *args, **kwargs)
    if isinstance(s, str):
        if _NINETEEN in s.translate(_DIGITS_TO_9):
            return _standard_loads(s)
    elif isinstance(s, bytes | bytearray):
        if _NINETEEN_BYTES in s.translate(_DIGITS_TO_9_BYTES):
            return _standard_loads(s)
    else:
        return _standard_loads(s)
    try:
        return orjson.loads(s)
    except (ValueError, TypeError):
        return _standard_loads(s)


_loads.__doc__ = _standard_loads.__doc__
_loads.__wrapped__ = _standard_loads  # type: ignore[attr-defined]


def install() -> None:
    """Make `json.loads` the accelerated one in this process."""
    json.loads = _loads


def installed() -> bool:
    """Whether `install()` has run."""
    return json.loads is _loads

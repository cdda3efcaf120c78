"""The `amlkit` command: thin sub-commands over specs, components, the plan and local mode.

One module a noun (`plan`, `config`, `local`), assembled in `root`; what they share
(consoles, exit codes, common options) is in `common`. Exit codes, for CI: 0 all good;
1 a check failed; 2 the input is wrong; 3 amlkit itself failed.
"""

from .common import EXIT_BAD_CONFIG, EXIT_CHECK_FAILED, EXIT_INTERNAL, EXIT_OK
from .root import app, main

__all__ = ["EXIT_BAD_CONFIG", "EXIT_CHECK_FAILED", "EXIT_INTERNAL", "EXIT_OK", "app", "main"]

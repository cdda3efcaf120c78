"""`python -m amlkit` runs the amlkit command."""

from .cli import main

main()

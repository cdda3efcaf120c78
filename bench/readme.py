"""bench/README.md, one section a benchmark: each script replaces its own section and
leaves the others (written by the other scripts, or by hand) as they are."""

from __future__ import annotations

from pathlib import Path

README = Path(__file__).resolve().with_name("README.md")


def replace_section(heading: str, section: str, readme: Path = README) -> None:
    """Put `section` (which starts with `heading`) in place of the section under
    `heading`, or at the end; re-read just before writing, a blank line before the next."""
    text = readme.read_text() if readme.exists() else "# Benchmarks\n"
    start = text.find(heading + "\n")
    section = section.rstrip("\n") + "\n\n"
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        following = text.find("\n## ", start + len(heading))
        text = text[:start] + section + (text[following + 1 :] if following != -1 else "")
    readme.write_text(text.rstrip("\n") + "\n")

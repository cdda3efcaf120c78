from __future__ import annotations

import pytest

from amlkit.components.durations import iso_milliseconds, iso_minutes, iso_seconds


@pytest.mark.parametrize(
    ("seconds", "iso"),
    [
        (0, "PT0S"),
        (2, "PT2S"),
        (10, "PT10S"),
        (90, "PT1M30S"),
        (120, "PT2M"),
        (0.5, "PT0.5S"),
        (3600, "PT1H"),
        (3661, "PT1H1M1S"),
    ],
)
def test_seconds(seconds: float, iso: str) -> None:
    assert iso_seconds(seconds) == iso


def test_milliseconds_and_minutes() -> None:
    assert iso_milliseconds(5000) == "PT5S"
    assert iso_milliseconds(1500) == "PT1.5S"
    assert iso_milliseconds(180_000) == "PT3M"
    assert iso_minutes(5) == "PT5M"
    assert iso_minutes(90) == "PT1H30M"


def test_negative_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        iso_seconds(-1)

"""Argument types for the command line: numbers checked at the door, with the reason in the error."""
from __future__ import annotations

import argparse
from typing import Callable


def number(cast: Callable[[str], float], minimum: float, what: str, note: str = "") -> Callable[[str], float]:
    """An argparse ``type``: ``cast(text)`` at least ``minimum``; errors say ``what`` was expected (and ``note``)."""

    def parse(text: str):
        try:
            value = cast(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not value >= minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum:g}{note}, got {text}")
        return value

    return parse

"""Errors of the workers package."""

from __future__ import annotations


class InputError(ValueError):
    """A line of an offline scoring file that cannot be scored (not JSON, no `text`); says which line."""

"""Errors of the domain floor."""

from __future__ import annotations


class PolicyError(ValueError):
    """A site policy that cannot be built (unknown attribute, threshold out of range, ...)."""

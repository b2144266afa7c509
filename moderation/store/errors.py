"""Errors of the storage floor. Each carries a stable `code` (and values) that the web layer words in the
reader's language; the English message is for logs and the CLI."""

from __future__ import annotations

from typing import Any


class StoreError(Exception):
    code = "store_error"

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message)
        self.params = params


class DecisionError(StoreError, ValueError):
    """A decision that is refused (wrong action, missing reason, too late to undo...)."""

    def __init__(self, code: str, message: str, **params: Any) -> None:
        super().__init__(message, **params)
        self.code = code


class ExternalIdConflict(StoreError):
    """An external id reused with a different text; nothing of the request is stored."""

    code = "conflict"

    def __init__(self, index: int, external_id: str) -> None:
        super().__init__(f"external_id {external_id!r} already names a comment with a different text")
        self.index = index
        self.external_id = external_id


class AccountError(StoreError, ValueError):
    """A site or account that cannot be created (name taken, not an email address, short password)."""

    code = "account"

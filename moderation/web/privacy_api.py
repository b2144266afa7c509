"""A site's authors and their personal data: `GET` (export) and `DELETE` (erasure) of
`/api/v1/authors/<author_id>`, with the site's secret key only."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from moderation.store import privacy
from moderation.web.api import authenticate
from moderation.web.context import get_resources
from moderation.web.errors import ApiError

bp = Blueprint("privacy_api", __name__, url_prefix="/api/v1")

MAX_AUTHOR_ID = 200  # as `author.id` of a submitted comment


def _not_found(author_id: str) -> ApiError:
    return ApiError(404, "not_found", "nothing is stored about this author for this site")


def _checked(author_id: str) -> str:
    """An id no comment can have (too long, control characters, which submissions refuse) is simply not
    found, without asking the database (PostgreSQL refuses NUL in a query)."""
    if not 1 <= len(author_id) <= MAX_AUTHOR_ID or any(ord(c) < 32 or c == "\x7f" for c in author_id):
        raise _not_found(author_id)
    return author_id


@bp.get("/authors/<path:author_id>")
def export_author(author_id: str) -> Response:
    """Everything stored about the author: their comments with decisions and scores, their labels."""
    resources = get_resources()
    site = authenticate(resources, browser_allowed=False)
    exported = privacy.export_author(resources.sessions, site, _checked(author_id))
    if exported is None:
        raise _not_found(author_id)
    response = jsonify(exported)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.delete("/authors/<path:author_id>")
def erase_author(author_id: str) -> Response:
    """Removes the author's texts and identity from storage, search and training labels. Repeating it
    answers 200 again (with zero counts and when it was done); an author never seen is 404."""
    resources = get_resources()
    site = authenticate(resources, browser_allowed=False)
    erasure = privacy.erase_author(
        resources.sessions,
        site,
        _checked(author_id),
        actor=f"site:{site.name}",
        fallback_key=resources.config.secret_key,
        caches=privacy.Caches(resources.redis, resources.config.embeddings_dir),
    )
    if erasure is None:
        raise _not_found(author_id)
    return jsonify(erasure.to_dict())

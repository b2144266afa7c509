"""The demo article at `/demo/` and the embeddable comment form `/embed.js`.

The demo page is what a site's article page looks like with our form in it: a static German news
article that includes `/embed.js` with the demo site's publishable key, exactly as a site would. It
needs no login. The demo site is named by `MODERATION_DEMO_SITE` (`moderation up` creates it and
allows this server's own origin for its publishable key); without it the page says so instead of
showing a form that could never post.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, request, send_from_directory
from sqlalchemy import select

from moderation.store.tables import Site
from moderation.web.context import get_resources

bp = Blueprint("demo", __name__)

# The article the demo's comments belong to (the comment API's `article_id`).
ARTICLE_ID = "russland-kasachstan-befuerchtung"
EMBED_LANGUAGES = ("de", "en")
# Sites include the script from their own pages: browsers may keep it a few minutes, no longer, so a
# fix reaches every site soon.
EMBED_MAX_AGE_S = 300


def _own_origin() -> str:
    """The origin the reader's browser sends with the form's requests: scheme, host and port."""
    return request.host_url.rstrip("/")


@bp.get("/demo/")
def article() -> tuple[str, int]:
    resources = get_resources()
    name = resources.config.demo_site
    with resources.sessions() as session:
        site = session.scalars(select(Site).where(Site.name == name)).first()
        key = site.publishable_key if site is not None else None
        origins = list(site.allowed_origins or []) if site is not None else []
    lang = request.args.get("lang")
    origin = _own_origin()
    if site is None:
        problem = "no_site"
    elif origin not in origins:
        problem = "origin"
    else:
        problem = None
    return render_template(
        "demo.html",
        site_name=name,
        key=key,
        article_id=ARTICLE_ID,
        lang=lang if lang in EMBED_LANGUAGES else "de",
        origin=origin,
        problem=problem,
    ), (404 if problem == "no_site" else 200)


@bp.get("/embed.js")
def embed_script() -> Response:
    """The comment form script, for any site's pages (so readable from every origin)."""
    response = send_from_directory(
        current_app.static_folder or "static", "embed.js", mimetype="text/javascript", max_age=EMBED_MAX_AGE_S
    )
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response

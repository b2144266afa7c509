"""The models page: the active version, its model card, and the history of versions."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, render_template

from moderation.store import model_versions
from moderation.web.context import get_resources

bp = Blueprint("model_versions", __name__)


@bp.get("/models")
def index() -> Any:
    with get_resources().sessions() as db:
        active = model_versions.active_version(db)
        versions = model_versions.history(db)
    card = next((v.card for v in versions if v.version == active), None) or {}
    metrics = card.get("metrics") if isinstance(card.get("metrics"), dict) else {}
    corpora = card.get("corpora") or card.get("training_corpora") or []
    return render_template(
        "models.html",
        active=active,
        versions=versions,
        card=card,
        metrics=metrics,
        corpora=corpora if isinstance(corpora, list) else [],
        card_json=json.dumps(card, indent=2, ensure_ascii=False, sort_keys=True, default=str),
    )

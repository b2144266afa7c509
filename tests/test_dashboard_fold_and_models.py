"""Folding long comments on the queue, and reading model cards for the models page (no database)."""

from __future__ import annotations

import re
from types import SimpleNamespace

from moderation.web.dashboard import model_summary
from moderation.web.dashboard.fold import FOLD_AT, fold
from tests.browser.model_cards import model_card

FILLER = "Die Berichterstattung über Zentralasien ist einseitig und die Quellen sind dünn. "
THREAT = "dann bekommt ihr Besuch von uns"


def test_short_text_is_not_folded() -> None:
    assert fold("Kurz und klar.", [{"start": 0, "end": 4, "attribute": "insult"}]).html is None


def test_a_late_span_stays_visible_in_the_folded_text() -> None:
    text = FILLER * 8 + THREAT + ". " + FILLER * 4
    start = text.index(THREAT)
    folded = fold(text, [{"start": start, "end": start + len(THREAT), "attribute": "threat", "weight": 0.4}])
    assert folded.html is not None
    assert f'data-attribute="threat" title="threat +0.40">{THREAT}</mark>' in folded.html
    assert folded.html.count("…") == 2  # a gap before the excerpt, and after it
    assert 0 < folded.hidden_chars < len(text) - FOLD_AT // 2
    assert folded.html.startswith("Die Berichterstattung")


def test_an_early_span_needs_no_excerpt_and_text_is_cut_at_a_word() -> None:
    text = "Ihr Idioten! " + FILLER * 6
    folded = fold(text, [{"start": 4, "end": 11, "attribute": "insult"}])
    assert folded.html is not None and "<mark" in folded.html
    assert folded.html.count("…") == 1
    shown = re.sub(r"<[^>]+>", "", str(folded.html).split('<span class="gap"')[0]).rstrip(" ")
    assert text.startswith(shown) and text[len(shown)] == " "  # cut after a whole word
    assert folded.hidden_chars == len(text) - len(shown)


def test_many_short_lines_fold_too() -> None:
    text = "\n".join(f"Zeile {n}" for n in range(12))
    folded = fold(text, [])
    assert folded.html is not None and "Zeile 2" in folded.html and "Zeile 5" not in folded.html


def test_bad_spans_are_ignored() -> None:
    text = FILLER * 6
    assert fold(text, [{"start": "x"}, {"end": 3}]).html is not None


def test_licence_restrictions() -> None:
    assert [model_summary.restriction_of(x) for x in ("cc-by-4.0", "MIT", "cc0")] == [None, None, None]
    assert model_summary.restriction_of("cc-by-nc-sa-4.0") == "non_commercial"
    assert model_summary.restriction_of("research-only") == "research_only"
    assert model_summary.restriction_of("unstated") == model_summary.restriction_of(None) == "unstated"


def test_summaries_compare_each_version_with_the_one_before() -> None:
    rows = [
        SimpleNamespace(version="new", card=model_card("2026-11-24T09:00:00Z", 0.769, 0.064)),
        SimpleNamespace(version="old", card=model_card("2026-11-20T09:00:00Z", 0.741, 0.081)),
        SimpleNamespace(version="ancient", card={"metrics": {"toxicity_macro_f1": 0.7}, "corpora": ["x"]}),
    ]
    new, old, ancient = model_summary.summaries(rows)
    figures = {f.key: f for f in new.figures}
    assert figures["germeval_f1"].value == 0.769 and round(figures["germeval_f1"].change or 0, 3) == 0.028
    assert figures["germeval_f1"].improved is True
    assert figures["civil_held"].improved is True  # fewer civil comments held is better
    assert figures["toxicity_auc"].improved is None  # unchanged
    assert {c.name for c in new.restricted} == {"germeval2019", "germs_at", "semeval2021_task6"}
    assert [c.name for c in new.restricted_by("research_only")] == ["semeval2021_task6"]
    assert new.created is not None and new.created.day == 24 and new.compared_with == "old"
    assert old.compared_with == "ancient"
    # An old card: its one figure under its old name; a corpus without a licence counts as unstated.
    assert [(f.key, f.previous) for f in ancient.figures] == [("germeval_f1", None)]
    assert ancient.restricted[0].restriction == "unstated" and ancient.created is None


def test_raw_metrics_are_flattened_to_paths() -> None:
    flat = dict(model_summary.flat_metrics(model_card("2026-11-24T09:00:00Z", 0.769, 0.064)["metrics"]))
    assert flat["toxicity › germeval2018 › ece"] == 0.03
    assert flat["propaganda_topic_thresholds › 0.4 › civil_held"] == 0.064
    assert model_summary.flat_metrics(None) == []

"""The promotion guard's rules, on figures alone (`moderation.domain.learning.judge`)."""

from __future__ import annotations

from moderation.domain.enums import Outcome
from moderation.domain.learning import PUBLIC_FLOOR, Figures, GuardVerdict, judge


def codes(verdict: GuardVerdict) -> list[str]:
    return [reason.code for reason in verdict.reasons]


def test_a_slice_of_one_kind_or_below_the_floor_is_refused() -> None:
    assert codes(judge(Figures(None), None, 0.6)) == ["slice_one_kind"]
    verdict = judge(Figures(0.58), None, 0.5)
    assert verdict.outcome is Outcome.REFUSED and codes(verdict) == ["below_floor"]


def test_a_model_not_above_chance_on_a_small_slice_is_refused() -> None:
    verdict = judge(Figures(0.65, slice_low=0.49), None, 0.5, 30)
    assert verdict.outcome is Outcome.REFUSED and codes(verdict) == ["not_above_chance"]
    assert verdict.reasons[0].params == {"auc": 0.65, "slice": 30, "low": 0.49}
    assert judge(Figures(0.65, slice_low=0.56), None, 0.5, 300).outcome is Outcome.PROMOTED


def test_the_first_model_must_beat_generic_toxicity_on_the_slice() -> None:
    assert codes(judge(Figures(0.7), None, 0.6)) == ["first_beats_generic"]
    verdict = judge(Figures(0.7), None, 0.72)
    assert verdict.outcome is Outcome.REFUSED and codes(verdict) == ["not_beats_generic"]


def test_a_model_blind_to_public_offensiveness_is_refused_even_when_the_slice_improves() -> None:
    """Inverted or corrupted labels can look good on a slice that is corrupted too."""
    blind = Figures(0.9, {"germeval2018_offense": PUBLIC_FLOOR - 0.1, "germs_at": 0.7})
    for active in (None, Figures(0.7, {"germeval2018_offense": 0.8, "germs_at": 0.7})):
        verdict = judge(blind, active, 0.6)
        assert verdict.outcome is Outcome.REFUSED
        assert codes(verdict) == ["public_below_floor"]
        assert verdict.reasons[0].params["name"] == "germeval2018_offense"


def test_a_public_figure_that_falls_above_the_floor_is_noted_not_held_against_the_site() -> None:
    """A growing site leans less on the generic scores: its public figures fall while its slice improves
    (GerMS-AT as a site: germeval2018_offense 0.806 with 800 labels, 0.721 with 5,827)."""
    active = Figures(0.70, {"germeval2018_offense": 0.806})
    verdict = judge(Figures(0.73, {"germeval2018_offense": 0.721}), active, 0.58)
    assert verdict.outcome is Outcome.PROMOTED
    assert codes(verdict) == ["slice_holds", "public_drifted"]
    assert verdict.reasons[1].params == {
        "name": "germeval2018_offense",
        "auc": 0.721,
        "active": 0.806,
        "floor": PUBLIC_FLOOR,
    }


def test_a_drop_on_the_slice_keeps_the_active_model() -> None:
    active = Figures(0.75, {"germeval2018_offense": 0.8})
    verdict = judge(Figures(0.735, {"germeval2018_offense": 0.8}), active, 0.6)
    assert verdict.outcome is Outcome.KEPT and codes(verdict) == ["auc_dropped"]
    held = judge(Figures(0.745, {"germeval2018_offense": 0.8}), active, 0.6)
    assert held.outcome is Outcome.PROMOTED and codes(held) == ["slice_holds"]

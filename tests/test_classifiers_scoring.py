from __future__ import annotations

from pathlib import Path

import pytest

from classifiers.scoring import Scorer
from moderation.domain.attributes import ATTRIBUTES, GENERIC_NAMES
from tests import classifier_fixtures
from workers.pipeline import score_set


@pytest.fixture(scope="module")
def scorer(tmp_path_factory: pytest.TempPathFactory) -> Scorer:
    return classifier_fixtures.quick_scorer(tmp_path_factory)


@pytest.fixture(scope="module")
def model_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return classifier_fixtures.quick_registry(tmp_path_factory)


INSULT = "Du bist ein dummer Vollidiot"
CIVIL = "Ich finde die Analyse zu Kasachstan sehr aufschlussreich."
ASSERTED = "Die NATO hat Russland eingekreist, Kasachstan ist doch gar kein echter Staat, das weiß jeder."
DEBUNKED = "Die Behauptung, Kasachstan sei kein echter Staat, ist Kreml-Propaganda."


def test_insult_scores_high_and_civil_comment_low(scorer: Scorer) -> None:
    insult, civil = scorer.score([INSULT, CIVIL])
    assert insult.toxicity > 0.7
    assert insult.insult > 0.7
    # Below the default hold threshold (0.4). Reader comments get a flatter toxicity calibration than
    # tweets (docs/models.md), so a civil comment no longer scores near 0.1.
    assert civil.toxicity < 0.4
    assert civil.propaganda < 0.3


def test_asserted_narrative_is_propaganda_but_debunked_one_is_not(scorer: Scorer) -> None:
    asserted, debunked = scorer.score([ASSERTED, DEBUNKED])
    assert asserted.propaganda > 0.6
    assert {n for n, _ in asserted.narratives} >= {"artificial_state", "nato_encirclement"}
    assert debunked.propaganda < 0.3
    assert debunked.narratives == []
    assert not [s for s in debunked.spans if s.attribute.startswith("narrative:")]


def test_span_covers_exactly_the_insulting_word(scorer: Scorer) -> None:
    text = "Ehrlich gesagt: du bist ein Vollidiot, und zwar ein großer."
    (result,) = scorer.score([text])
    toxic_spans = {text[s.start : s.end] for s in result.spans if s.attribute in ("toxicity", "insult")}
    assert "Vollidiot" in toxic_spans
    assert all(0 <= s.start < s.end <= len(text) for s in result.spans)


def test_span_on_obfuscated_word_points_at_the_original_characters(scorer: Scorer) -> None:
    text = "@user|LBR|Halt die Klappe, du Schw3in!!!"
    (result,) = scorer.score([text])
    words = {text[s.start : s.end] for s in result.spans if s.attribute in ("toxicity", "insult")}
    assert "Schw3in" in words


def test_narrative_span_points_at_the_claim(scorer: Scorer) -> None:
    (result,) = scorer.score([ASSERTED])
    claims = {ASSERTED[s.start : s.end] for s in result.spans if s.attribute == "narrative:artificial_state"}
    assert claims == {"kein echter Staat"}


def test_scores_have_the_api_shape(scorer: Scorer) -> None:
    """The classifier scores every attribute the service knows; the domain gives them the API's shape."""
    (result,) = scorer.score([ASSERTED])
    assert set(result.values()) == set(GENERIC_NAMES)
    scores = score_set(result).to_api()
    assert set(scores) == {a.name for a in ATTRIBUTES if a.summary} | {"attributes"}
    assert set(scores["attributes"]) == {a.name for a in ATTRIBUTES if not a.summary} | {
        "techniques",
        "narratives",
    }
    assert {"toxicity", "propaganda", "spam"} <= set(scores)
    assert all(set(n) == {"id", "score"} for n in scores["attributes"]["narratives"])
    for value in (
        scores["toxicity"],
        scores["propaganda"],
        scores["spam"],
        *scores["attributes"]["techniques"].values(),
    ):
        assert 0.0 <= value <= 1.0
        assert round(value, 4) == value
    assert result.lang == "de"
    assert all(set(s.to_dict()) == {"start", "end", "attribute", "weight"} for s in result.spans)


def test_spam_and_threat(scorer: Scorer) -> None:
    spam, threat = scorer.score(
        [
            "Jetzt 500 Euro am Tag von zu Hause verdienen!!! Klick hier: www.geld-schnell.biz",
            "Ich bring dich um, du Schw3in",
        ]
    )
    assert spam.spam > 0.5
    assert threat.threat > 0.3
    assert any(s.attribute == "threat" for s in threat.spans)


def test_batch_equals_single_and_empty_batch(scorer: Scorer) -> None:
    texts = [INSULT, CIVIL, ASSERTED, "", "   "]
    batch = scorer.score(texts)
    singles = [scorer.score([t])[0] for t in texts]
    for a, b in zip(batch, singles, strict=True):
        assert score_set(a) == score_set(b)
        assert a.spans == b.spans
    assert scorer.score([]) == []


def test_version_and_card(scorer: Scorer, model_root: Path) -> None:
    assert scorer.version == scorer.card["version"]
    assert (model_root / scorer.version).is_dir()


@pytest.mark.parametrize(
    ("text", "lang"), [("Ты идиот и дебил, заткнись.", "ru"), ("You are a complete idiot.", "en")]
)
def test_other_languages_score(scorer: Scorer, text: str, lang: str) -> None:
    (result,) = scorer.score([text])
    assert result.lang == lang
    assert result.insult > 0.5


def test_debunking_a_claim_about_a_state_is_no_identity_attack(scorer: Scorer) -> None:
    """Sexism training data (GerMS-AT) once made any sentence about a state look like an identity attack."""
    debunked, attack = scorer.score([DEBUNKED, "Frauen gehören an den Herd und sollen die Klappe halten."])
    assert debunked.identity_attack < 0.3
    assert attack.identity_attack > debunked.identity_attack + 0.3


def test_card_has_threshold_tables_for_policy_heads(scorer: Scorer) -> None:
    tables = scorer.card["threshold_tables"]
    assert set(tables) >= {"toxicity", "propaganda", "spam", "identity_attack", "insult", "threat"}
    for head, rows in tables.items():
        assert [r["threshold"] for r in rows] == [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95]
        assert all(set(r) == {"threshold", "flagged", "precision", "recall"} for r in rows)
        flagged = [r["flagged"] for r in rows]
        assert flagged == sorted(flagged, reverse=True), head
        if head != "threat":
            recalls = [r["recall"] for r in rows]
            assert recalls == sorted(recalls, reverse=True), head
            assert all(0.0 <= r["precision"] <= 1.0 for r in rows)


def test_a_quoted_insult_is_not_held_against_the_reply(scorer: Scorer) -> None:
    insult = "Du bist ein dummer Vollidiot"
    reply = f"> {insult}\nBitte bleib sachlich, so redet man hier nicht."
    alone, quoted = scorer.score([insult, reply])
    assert quoted.toxicity < alone.toxicity - 0.3
    assert quoted.insult < alone.insult - 0.3
    quote_end = reply.index("\n")
    assert all(span.start > quote_end for span in quoted.spans)


def test_a_part_in_another_language_is_scored_on_its_own(scorer: Scorer) -> None:
    insult = "Ты тупой идиот и мразь, заткнись."
    civil = "Vielen Dank für den ausführlichen Artikel über die Pipeline."
    alone, mixed = scorer.score([insult, f"{civil} {insult}"])
    assert mixed.lang == "de+ru"
    assert mixed.toxicity >= alone.toxicity - 1e-9
    assert any(s.start >= len(civil) for s in mixed.spans if s.attribute in ("toxicity", "insult"))

"""The policy is a pure function: each row is an input and the decision and reasons it must get."""

from __future__ import annotations

import pytest

from moderation.domain.enums import Action, Source
from moderation.domain.policy import CommentFacts, SitePolicy, decide

CALM = {
    "toxicity": 0.05,
    "propaganda": 0.1,
    "spam": 0.02,
    "insult": 0.03,
    "profanity": 0.01,
    "threat": 0.0,
    "identity_attack": 0.01,
}


def scores(**changes: float) -> dict[str, float]:
    return {**CALM, **changes}


WORDS = SitePolicy.from_dict(
    {"banned_words": ["Drecksau"], "suspect_words": ["Putinversteher", "Lügenpresse"]}
)

CASES = [
    # (name, scores, facts, policy, action, source, reason codes in order)
    (
        "civil comment",
        scores(),
        CommentFacts("Gute Analyse."),
        SitePolicy(),
        Action.APPROVE,
        Source.MODEL,
        ["below_thresholds"],
    ),
    (
        "toxicity over hold",
        scores(toxicity=0.6),
        CommentFacts("x"),
        SitePolicy(),
        Action.HOLD,
        Source.MODEL,
        ["toxicity_hold"],
    ),
    (
        "toxicity exactly at hold",
        scores(toxicity=0.5),
        CommentFacts("x"),
        SitePolicy(),
        Action.HOLD,
        Source.MODEL,
        ["toxicity_hold"],
    ),
    (
        "toxicity over reject",
        scores(toxicity=0.95),
        CommentFacts("x"),
        SitePolicy(),
        Action.REJECT,
        Source.MODEL,
        ["toxicity_reject"],
    ),
    (
        "propaganda holds but never rejects by default",
        scores(propaganda=0.99),
        CommentFacts("x"),
        SitePolicy(),
        Action.HOLD,
        Source.MODEL,
        ["propaganda_hold"],
    ),
    (
        "spam only holds by default",
        scores(spam=0.97),
        CommentFacts("x"),
        SitePolicy(),
        Action.HOLD,
        Source.MODEL,
        ["spam_hold"],
    ),
    (
        "spam over a site's reject threshold",
        scores(spam=0.97),
        CommentFacts("x"),
        SitePolicy.from_dict({"thresholds": {"spam": {"reject": 0.95}}}),
        Action.REJECT,
        Source.MODEL,
        ["spam_reject"],
    ),
    (
        "toxicity just below hold",
        scores(toxicity=0.39),
        CommentFacts("x"),
        SitePolicy(),
        Action.APPROVE,
        Source.MODEL,
        ["below_thresholds"],
    ),
    (
        "threat holds",
        scores(threat=0.7),
        CommentFacts("x"),
        SitePolicy(),
        Action.HOLD,
        Source.MODEL,
        ["threat_hold"],
    ),
    (
        "reject outranks hold; both reasons kept",
        scores(toxicity=0.95, propaganda=0.6),
        CommentFacts("x"),
        SitePolicy(),
        Action.REJECT,
        Source.MODEL,
        ["toxicity_reject", "propaganda_hold"],
    ),
    (
        "banned word rejects a calm comment",
        scores(),
        CommentFacts("Du DRECKSAU!"),
        WORDS,
        Action.REJECT,
        Source.RULE,
        ["banned_word"],
    ),
    (
        "banned word inside another word does not match",
        scores(),
        CommentFacts("Drecksaufen"),
        WORDS,
        Action.APPROVE,
        Source.MODEL,
        ["below_thresholds"],
    ),
    (
        "suspect word holds",
        scores(),
        CommentFacts("Typisch Lügenpresse."),
        WORDS,
        Action.HOLD,
        Source.RULE,
        ["suspect_word"],
    ),
    (
        "link from a first-time author holds",
        scores(),
        CommentFacts("Mehr: https://example.ru/x"),
        SitePolicy(),
        Action.HOLD,
        Source.RULE,
        ["link_from_new_author"],
    ),
    (
        "link from a known author passes",
        scores(),
        CommentFacts("Mehr: https://example.ru/x", author_has_history=True),
        SitePolicy(),
        Action.APPROVE,
        Source.MODEL,
        ["below_thresholds"],
    ),
    (
        "link rule can be switched off",
        scores(),
        CommentFacts("siehe www.tagesschau.de"),
        SitePolicy.from_dict({"hold_links_from_new_authors": False}),
        Action.APPROVE,
        Source.MODEL,
        ["below_thresholds"],
    ),
    (
        "scoring failed: fallback hold",
        None,
        CommentFacts("x"),
        SitePolicy(),
        Action.HOLD,
        Source.RULE,
        ["scoring_failed"],
    ),
    (
        "scoring failed: configured fallback approve",
        None,
        CommentFacts("x"),
        SitePolicy.from_dict({"fallback_action": "approve"}),
        Action.APPROVE,
        Source.RULE,
        ["scoring_failed"],
    ),
    (
        "scoring failed but banned word: reject",
        None,
        CommentFacts("drecksau"),
        WORDS,
        Action.REJECT,
        Source.RULE,
        ["banned_word", "scoring_failed"],
    ),
    (
        "language no model covers holds",
        scores(),
        CommentFacts("Bonjour à tous", lang="other"),
        SitePolicy(),
        Action.HOLD,
        Source.RULE,
        ["unsupported_language"],
    ),
    (
        "undetermined language (emoji, numbers) is scored, not held",
        scores(),
        CommentFacts("\U0001f602\U0001f602", lang="und"),
        SitePolicy(),
        Action.APPROVE,
        Source.MODEL,
        ["below_thresholds"],
    ),
    (
        "russian is covered",
        scores(),
        CommentFacts("Спасибо за статью", lang="ru"),
        SitePolicy(),
        Action.APPROVE,
        Source.MODEL,
        ["below_thresholds"],
    ),
    (
        "site thresholds override defaults",
        scores(toxicity=0.4),
        CommentFacts("x"),
        SitePolicy.from_dict({"thresholds": {"toxicity": {"hold": 0.3}}}),
        Action.HOLD,
        Source.MODEL,
        ["toxicity_hold"],
    ),
    (
        "model reject beats rule hold; source is model",
        scores(toxicity=0.95),
        CommentFacts("Lügenpresse"),
        WORDS,
        Action.REJECT,
        Source.MODEL,
        ["toxicity_reject", "suspect_word"],
    ),
]


@pytest.mark.parametrize(
    ("name", "score_map", "facts", "policy", "action", "source", "codes"), CASES, ids=[c[0] for c in CASES]
)
def test_decide(name, score_map, facts, policy, action, source, codes) -> None:  # type: ignore[no-untyped-def]
    verdict = decide(score_map, facts, policy)
    assert verdict.action is action
    assert verdict.source is source
    assert [r.code for r in verdict.reasons] == codes
    assert all(r.detail for r in verdict.reasons)


def test_reason_detail_names_score_and_threshold() -> None:
    verdict = decide(scores(toxicity=0.93), CommentFacts("x"), SitePolicy())
    assert verdict.reasons[0].detail == "toxicity 0.93 >= reject threshold 0.90"


def test_reason_detail_names_the_matched_word() -> None:
    verdict = decide(scores(), CommentFacts("Alles Lügenpresse hier"), WORDS)
    assert verdict.reasons[0].detail == "matched suspect word 'Lügenpresse'"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"thresholds": {"charm": {"hold": 0.5}}}, "unknown attribute"),
        ({"thresholds": {"toxicity": {"hold": 1.5}}}, r"within \[0, 1\]"),
        ({"thresholds": {"toxicity": {"maybe": 0.5}}}, "unknown threshold band"),
        ({"fallback_action": "shrug"}, "shrug"),
        ({"score_languages": ["fr"]}, "'fr' is not a language a site can choose; choose among uk, kk"),
        ({"score_languages": ["de"]}, "'de' is not a language a site can choose"),
        ({"score_languages": "uk"}, "must be a list of language codes"),
        ({"score_languages": [1]}, "must be a list of language codes"),
    ],
)
def test_invalid_site_policy_is_refused(raw: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SitePolicy.from_dict(raw)


def test_policy_round_trips_through_json_shape() -> None:
    policy = SitePolicy.from_dict({"banned_words": ["a"], "thresholds": {"toxicity": {"reject": None}}})
    assert SitePolicy.from_dict(policy.to_dict()) == policy
    chosen = SitePolicy.from_dict({"score_languages": ["kk", "uk", "kk"]})
    assert chosen.score_languages == ("uk", "kk")
    assert SitePolicy.from_dict(chosen.to_dict()) == chosen
    assert SitePolicy.from_dict({}).score_languages == ()


@pytest.mark.parametrize(
    ("copy_authors", "setting", "action"),
    [
        (0, 2, Action.APPROVE),
        (1, 2, Action.APPROVE),
        (2, 2, Action.HOLD),
        (5, 2, Action.HOLD),
        (5, 0, Action.APPROVE),
    ],
)
def test_coordinated_posting_holds(copy_authors: int, setting: int, action: Action) -> None:
    policy = SitePolicy.from_dict({"hold_copies_from_authors": setting})
    facts = CommentFacts("x", copies=copy_authors + 1, copy_authors=copy_authors)
    verdict = decide(scores(), facts, policy)
    assert verdict.action is action
    if action is Action.HOLD:
        assert verdict.reasons[0].code == "coordinated_posting"
        copies, authors = copy_authors + 1, copy_authors
        expected = f"nearly the same text as at least {copies} recent comments by {authors} other authors"
        assert verdict.reasons[0].detail == expected


@pytest.mark.parametrize(
    ("lang", "held"),
    [
        ("de", False),
        ("de+en", False),
        ("de+kk", True),
        ("kk+de", True),
        ("ru+uk", True),
        ("uk", True),
        ("und", False),
    ],
)
def test_a_comment_is_held_when_any_of_its_languages_is_unsupported(lang: str, held: bool) -> None:
    verdict = decide(
        {"toxicity": 0.01}, CommentFacts("text", author_has_history=True, lang=lang), SitePolicy()
    )
    codes = [r.code for r in verdict.reasons]
    assert ("unsupported_language" in codes) is held
    if held:
        assert verdict.action is Action.HOLD
        (reason,) = [r for r in verdict.reasons if r.code == "unsupported_language"]
        assert reason.params["lang"] in ("kk", "uk")


@pytest.mark.parametrize(
    ("lang", "chosen", "read", "held"),
    [
        # Chosen by the site and read by the model (the full profile's language heads): decided by scores.
        ("uk", ("uk",), ("uk", "kk"), False),
        ("kk", ("uk", "kk"), ("uk", "kk"), False),
        ("de+kk", ("kk",), ("uk", "kk"), False),
        # Not chosen, or chosen but not read (the fast profile reads neither): held as before.
        ("uk", (), ("uk", "kk"), True),
        ("uk", ("uk",), (), True),
        ("de+uk", ("kk",), ("uk", "kk"), True),
        ("uk+kk", ("uk",), ("uk", "kk"), True),
        ("fr", ("uk", "kk"), ("uk", "kk"), True),
    ],
)
def test_a_site_may_choose_to_decide_ukrainian_and_kazakh_by_their_scores(
    lang: str, chosen: tuple[str, ...], read: tuple[str, ...], held: bool
) -> None:
    policy = SitePolicy.from_dict({"score_languages": list(chosen)})
    facts = CommentFacts("text", author_has_history=True, lang=lang, read_languages=read)
    verdict = decide({"toxicity": 0.01}, facts, policy)
    assert verdict.action is (Action.HOLD if held else Action.APPROVE)
    assert ("unsupported_language" in [r.code for r in verdict.reasons]) is held


def test_a_chosen_language_is_still_held_or_rejected_by_its_scores() -> None:
    policy = SitePolicy.from_dict({"score_languages": ["uk", "kk"]})
    facts = CommentFacts("text", author_has_history=True, lang="kk", read_languages=("uk", "kk"))
    held = decide({"toxicity": 0.01, "threat": 0.8}, facts, policy)
    assert held.action is Action.HOLD
    assert [r.code for r in held.reasons] == ["threat_hold"]
    rejected = decide({"toxicity": 0.95}, facts, policy)
    assert rejected.action is Action.REJECT


def test_the_languages_a_site_may_choose_are_those_the_language_heads_read() -> None:
    """The domain names them itself (it imports no model code); they must not drift apart."""
    from classifiers.stack import E5_LANGUAGES
    from moderation.domain.policy import OPTIONAL_LANGUAGES

    assert OPTIONAL_LANGUAGES == E5_LANGUAGES

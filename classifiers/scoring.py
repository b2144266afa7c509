"""Batched scoring with a registry model: calibrated scores, techniques, narratives, language and spans."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from classifiers.calibration import tweet_style
from classifiers.catalogue import Catalogue, load_catalogue
from classifiers.encoder import E5Encoder, SentenceEncoder, shared_encoder
from classifiers.explain import Explainer, cue_spans, model_spans, word_ranges
from classifiers.features import (
    ANALYZERS,
    DENSE_NAMES,
    PART_BOUNDED,
    TOKEN_SCHEMES,
    CueAnalysis,
    analyse_cues,
    dense_matrix,
    length_feature,
    part_cues,
)
from classifiers.langid import (
    MIN_PART_WORDS,
    combined_language,
    detect_language,
    mixed_parts,
    sentence_spans,
)
from classifiers.model import Heads, load_model
from classifiers.names import is_name, mask_names
from classifiers.normalize import Normalised, normalise, shown_text
from classifiers.stack import StackHeads, blend, narrative_similarity
from classifiers.vectorize import Encoded, Vectorizer

NARRATIVE_FLOOR = 0.3
# Model spans are computed only for texts where some explained attribute reaches this probability.
EXPLAIN_FLOOR = 0.3
EXPLAINED = ("toxicity", "insult", "profanity", "identity_attack", "threat", "propaganda", "spam")
# Scoring profiles, chosen per deployment by MODERATION_SCORING: `full` adds the sentence encoder's
# stacked heads (`classifiers.stack`), `fast` runs the n-gram heads alone.
PROFILES = ("full", "fast")
PROFILE_ENV = "MODERATION_SCORING"
# Attributes also read sentence by sentence: a threat is one whatever surrounds it, but the models read a
# comment as a whole, and a civil sentence before it dilutes the threat (written threats unseen in
# training, one civil sentence before each: 6 % at threat >= 0.5 read whole, 81 % read by sentence;
# docs/models.md).
SENTENCE_ATTRIBUTES = ("threat",)
# A sentence needs this many words to be read on its own (an interjection is read with its comment); the
# same as for a language part, so one split of each comment serves both.
MIN_SENTENCE_WORDS = MIN_PART_WORDS
# A sentence's score counts when it is at least this: below, a comment keeps its whole's score.
SENTENCE_FLOOR = 0.05


@dataclass(frozen=True)
class _Reading:
    """What `_ngram` computed for a batch, kept to read the same texts' sentences from it."""

    norms: list[Normalised]
    encoded: Encoded
    cues: list[CueAnalysis]


def configured_profile(env: dict[str, str] | None = None) -> str:
    """The profile this deployment asks for (`full` unless MODERATION_SCORING says `fast`)."""
    value = (env if env is not None else os.environ).get(PROFILE_ENV, "").strip().lower() or "full"
    if value not in PROFILES:
        raise ValueError(f"{PROFILE_ENV} must be one of {', '.join(PROFILES)}, not {value!r}")
    return value


@dataclass(frozen=True)
class Span:
    """A range of the original text (Python str indices) and its contribution to one attribute."""

    start: int
    end: int
    attribute: str
    weight: float

    def to_dict(self) -> dict:
        return {
            "start": self.start,
            "end": self.end,
            "attribute": self.attribute,
            "weight": round(self.weight, 4),
        }


@dataclass(frozen=True)
class ScoreResult:
    toxicity: float
    propaganda: float
    spam: float
    insult: float
    profanity: float
    threat: float
    identity_attack: float
    techniques: dict[str, float]
    narratives: list[tuple[str, float]]
    lang: str
    spans: list[Span]
    profile: str = field(default="fast")

    def values(self) -> dict[str, float]:
        """Every attribute score by name (the names a service maps its scored attributes from)."""
        return {
            "toxicity": self.toxicity,
            "propaganda": self.propaganda,
            "spam": self.spam,
            "insult": self.insult,
            "profanity": self.profanity,
            "threat": self.threat,
            "identity_attack": self.identity_attack,
        }


class Scorer:
    """A loaded model version. Thread-safe for concurrent `score` calls (no mutable state).

    `profile` is the one it scores with: `full` when asked for (the default, see `configured_profile`)
    and the model has stacked heads, else `fast`.
    """

    def __init__(
        self,
        vectorizer: TfidfVectorizer,
        heads: Heads,
        card: dict,
        stack: StackHeads | None,
        catalogue: Catalogue,
        *,
        profile: str | None = None,
        encoder: SentenceEncoder | None = None,
        refiner_encoder: SentenceEncoder | None = None,
    ) -> None:
        self.vectorizer = vectorizer
        self.heads = heads
        self.card = card
        self.stack = stack
        wanted = profile or configured_profile()
        if wanted not in PROFILES:
            raise ValueError(f"unknown scoring profile {wanted!r}")
        self.profile = "full" if wanted == "full" and stack is not None else "fast"
        self.encoder = (encoder or shared_encoder()) if self.profile == "full" else None
        # The e5 encoder of toxicity's refiner, loaded on first use (its model file is memory-mapped).
        self.refiner_encoder = (
            (refiner_encoder or shared_encoder(kind=E5Encoder))
            if self.profile == "full"
            and stack is not None
            and (stack.refiner is not None or stack.languages is not None)
            else None
        )
        self._stack_columns = [heads.index(n) for n in stack.names] if stack is not None else []
        self._phrases: np.ndarray | None = None
        # Models trained before names were masked read them as they are.
        self._masked = "masked_names" in card.get("parameters", {})
        self.version: str = str(card.get("version", "unknown"))
        self.catalogue = catalogue
        self._vocabulary: dict[str, int] = vectorizer.vocabulary_
        self._technique_heads = sorted(
            (n.removeprefix("technique:"), i) for i, n in enumerate(heads.names) if n.startswith("technique:")
        )
        self._technique_names = [t for t, _ in self._technique_heads]
        self._technique_columns = [i for _, i in self._technique_heads]
        self._explained = [(a, heads.index(a)) for a in EXPLAINED if a in heads.names]
        offset = len(self._vocabulary)
        lexicon_columns = {
            offset + DENSE_NAMES.index(f"{kind}_words"): (
                DENSE_NAMES.index(f"{kind}_words"),
                catalogue.lexicon_words[kind],
            )
            for kind in ("insult", "profanity", "slur")
        }
        tokens = next(name for name, analyzer in ANALYZERS.items() if analyzer is vectorizer.analyzer)
        self._token_pattern = TOKEN_SCHEMES[tokens]
        self._encoder = Vectorizer(self._vocabulary, vectorizer.idf_, bool(vectorizer.sublinear_tf), tokens)
        self._lexical_coef = np.ascontiguousarray(heads.coef[:offset])
        self._dense_coef = np.ascontiguousarray(heads.coef[offset:])
        # What sentences are read for: only the heads of SENTENCE_ATTRIBUTES (`_sentence_scores`).
        self._sentence_names = [a for a in SENTENCE_ATTRIBUTES if a in heads.names]
        self._sentence_heads = heads.select(self._sentence_names)
        self._sentence_lexical = np.ascontiguousarray(self._sentence_heads.coef[:offset])
        self._sentence_dense = np.ascontiguousarray(self._sentence_heads.coef[offset:])
        self._sentence_stack = (
            stack.select(self._sentence_names)
            if self.profile == "full" and stack is not None and set(self._sentence_names) <= set(stack.names)
            else None
        )
        # The highest a sentence's dense logit can be, given its whole comment's dense features and its
        # own length (`_sentences`): a positive weight times the whole's value for features a part never
        # exceeds (`PART_BOUNDED`), times 1 (every dense feature is in [0, 1]) for the others.
        scaled = self._sentence_dense * self._sentence_heads.dense_scale
        self._bound_length = scaled[DENSE_NAMES.index("length")]
        positive = np.maximum(scaled, 0.0)
        positive[DENSE_NAMES.index("length")] = 0.0
        bounded = np.array([name in PART_BOUNDED for name in DENSE_NAMES])
        self._bound_whole = np.where(bounded[:, None], positive, 0.0)
        self._bound_constant = np.where(bounded[:, None], 0.0, positive).sum(axis=0)
        # Sentences that cannot raise their comment's scores are skipped only where a higher logit always
        # means a higher probability: the n-gram heads alone, calibrated with positive slopes.
        calibration = self._sentence_heads
        self._sentence_bound = self._sentence_stack is None and bool(
            np.all(calibration.cal_a > 0)
            and (calibration.style_a is None or np.all(calibration.cal_a + calibration.style_a > 0))
        )
        self._explainer = Explainer(heads.coef[:, [i for _, i in self._explained]], lexicon_columns)

    @classmethod
    def load(
        cls, model_dir: Path, catalogue_dir: Path | None = None, *, profile: str | None = None
    ) -> Scorer:
        """Load a model; narratives come from the shipped catalogue plus extensions in `catalogue_dir`."""
        vectorizer, heads, card, stack = load_model(Path(model_dir))
        return cls(vectorizer, heads, card, stack, load_catalogue(catalogue_dir), profile=profile)

    def with_catalogue(self, catalogue: Catalogue) -> Scorer:
        """The same model with other narratives (nothing read from disk)."""
        return Scorer(
            self.vectorizer,
            self.heads,
            self.card,
            self.stack,
            catalogue,
            profile=self.profile,
            encoder=self.encoder,
            refiner_encoder=self.refiner_encoder,
        )

    @property
    def read_languages(self) -> tuple[str, ...]:
        """The languages beyond German, English and Russian this scorer reads with heads of their own:
        the language heads' (Ukrainian, Kazakh) in the `full` profile, none in the `fast` one."""
        heads = self.stack.languages if self.stack is not None else None
        if heads is None or self.refiner_encoder is None:
            return ()
        return tuple(heads.languages)

    def with_profile(self, profile: str) -> Scorer:
        return Scorer(self.vectorizer, self.heads, self.card, self.stack, self.catalogue, profile=profile)

    def embeddings(self, texts: Sequence[str]) -> np.ndarray:
        """The sentence embeddings of `texts` as this model's heads read them (names masked where the
        model masks them); uses the process's shared encoder when this scorer runs the fast profile."""
        encoder = self.encoder or shared_encoder()
        return encoder.encode([mask_names(t) for t in texts] if self._masked else list(texts))

    def _phrase_embeddings(self) -> np.ndarray:
        if self._phrases is None:
            assert self.encoder is not None
            phrases = [text for _, _, text in self.catalogue.example_texts()]
            self._phrases = self.encoder.encode([mask_names(t) for t in phrases] if self._masked else phrases)
        return self._phrases

    def _full(
        self,
        texts: Sequence[str],
        logits: np.ndarray,
        probs: np.ndarray,
        style: np.ndarray,
        langs: Sequence[str],
        *,
        refine: bool = True,
    ) -> None:
        """Replaces the stacked heads' probabilities in `probs` by the full profile's (in place); texts
        whose language (`langs`) is one of the language heads' also get e5's reading of those heads."""
        assert self.stack is not None and self.encoder is not None
        embeddings = self.embeddings(texts)
        similarity = narrative_similarity(embeddings, self._phrase_embeddings())
        columns = self._stack_columns
        encoder_logits = self.stack.encoder_logits(embeddings)
        probs[:, columns] = self.stack.probabilities(
            logits[:, columns],
            encoder_logits,
            style,
            similarity,
            self.stack.stance_values(embeddings),
        )
        refiner = self.stack.refiner
        if refine and refiner is not None and self.refiner_encoder is not None:
            column = self.heads.index(refiner.head)
            stacked = self.stack.names.index(refiner.head)
            rows = np.flatnonzero(refiner.wanted(probs[:, column]))
            if len(rows):
                chosen = [texts[int(i)] for i in rows]
                e5 = self.refiner_encoder.encode([mask_names(t) for t in chosen] if self._masked else chosen)
                refined = refiner.probabilities(
                    logits[rows, column], encoder_logits[rows, stacked], e5, style[rows]
                )
                probs[rows, column] = refiner.blend(probs[rows, column], refined)
        languages = self.stack.languages
        if languages is not None and self.refiner_encoder is not None:
            rows = np.array(
                [i for i, lang in enumerate(langs) if lang in languages.languages], dtype=np.int64
            )
            if len(rows):
                chosen = [texts[int(i)] for i in rows]
                e5 = self.refiner_encoder.encode([mask_names(t) for t in chosen] if self._masked else chosen)
                read = languages.probabilities(e5)
                for j, name in enumerate(languages.names):
                    column = self.heads.index(name)
                    probs[rows, column] = blend(languages.weight, probs[rows, column], read[:, j])

    def _column(self, probs: np.ndarray, name: str) -> np.ndarray:
        if name in self.heads.names:
            return probs[:, self.heads.index(name)]
        return np.zeros(probs.shape[0])

    def score(self, texts: Sequence[str]) -> list[ScoreResult]:
        """Scores, language and spans of each text. A comment whose sentences are in different languages
        is also read part by part: each attribute gets the highest score of the whole and its parts, and
        `lang` names every language in it ("de+kk"), so the policy can hold a part it cannot read. A
        comment of several sentences is also read sentence by sentence for the attributes of
        `SENTENCE_ATTRIBUTES` (a threat after a civil sentence is still a threat); a sentence's score
        counts from `SENTENCE_FLOOR` on."""
        results, reading = self._read(texts)
        split = [sentence_spans(text, MIN_SENTENCE_WORDS) for text in texts]
        mixed = {}
        for k, (text, result) in enumerate(zip(texts, results, strict=True)):
            parts = mixed_parts(text, result.lang, split[k])
            if parts:
                mixed[k] = parts
        if mixed:
            pieces = [
                (k, start, texts[k][start:end]) for k, parts in mixed.items() for start, end, _ in parts
            ]
            scored = self._score([text for _, _, text in pieces])
            for (k, start, _), part in zip(pieces, scored, strict=True):
                results[k] = _with_part(results[k], part, start)
            for k, parts in mixed.items():
                results[k] = replace(results[k], lang=combined_language(results[k].lang, parts))
        several = [(k, spans) for k, spans in enumerate(split) if len(spans) > 1]
        if several and self._sentence_names:
            sentences, scores = self._sentences(texts, several, reading, results)
            # A sentence that raises its comment's score to where scores are explained is read in full
            # (for its spans); a lower raise just takes the sentence's score.
            names = self._sentence_names
            explained: list[tuple[int, int, str]] = []
            for piece, row in zip(sentences, scores, strict=True):
                k = piece[0]
                higher: dict[str, Any] = {
                    a: float(v)
                    for a, v in zip(names, row, strict=True)
                    if v > getattr(results[k], a) and v >= SENTENCE_FLOOR
                }
                if any(v >= EXPLAIN_FLOOR for v in higher.values()):
                    explained.append(piece)  # read in full below, for its spans
                elif higher:
                    results[k] = replace(results[k], **higher)  # too low to be explained by spans
            read = self._score([text for _, _, text in explained], refine=False)
            for (k, start, _), part in zip(explained, read, strict=True):
                results[k] = _with_part(results[k], part, start, names)
        return results

    def _ngram(
        self, texts: Sequence[str], heads: Heads, lexical_coef: np.ndarray, dense_coef: np.ndarray
    ) -> tuple[list[Normalised], Encoded, list[CueAnalysis], np.ndarray, np.ndarray]:
        """The texts normalised, vectorised and read for cues, and `heads`' n-gram logits."""
        norms = [normalise(t) for t in texts]
        # The models read names of countries and leaders as one placeholder (`classifiers.names`); the
        # cues read the text as it is.
        encoded = self._encoder.encode([mask_names(n.text) if self._masked else n.text for n in norms])
        cues = [
            analyse_cues(n, self.catalogue, words) for n, words in zip(norms, encoded.tokens, strict=True)
        ]
        dense = dense_matrix(cues) * heads.dense_scale
        # Same logits as hstack([tfidf, dense]) @ coef, without building the stacked matrix.
        logits = np.asarray(encoded.matrix @ lexical_coef) + dense @ dense_coef + heads.intercept
        return norms, encoded, cues, dense, logits

    def _sentence_scores(self, texts: Sequence[str]) -> np.ndarray:
        """(n_texts, len(self._sentence_names)): the probabilities of the sentence attributes alone, as
        `_score` computes them (no refiner, spans, language or narratives)."""
        _, _, _, _, logits = self._ngram(
            texts, self._sentence_heads, self._sentence_lexical, self._sentence_dense
        )
        return self._sentence_probabilities(texts, logits)

    def _sentences(
        self,
        texts: Sequence[str],
        several: list[tuple[int, list[tuple[int, int]]]],
        reading: _Reading,
        results: list[ScoreResult],
    ) -> tuple[list[tuple[int, int, str]], np.ndarray]:
        """The sentences (text index, start, text) of the texts in `several` (text index, its sentence
        spans) that may raise their text's score in `results` of a sentence attribute, with their
        `_sentence_scores`.

        Computed from the whole texts' `reading`: each sentence's n-gram features are its words'
        features in the whole text's encoding (bigrams inside it only), its cues the whole text's cue
        hits inside it; only the sentence statistics (length, capitals, punctuation) are counted again.
        The same as reading each sentence as a text of its own, but for what normalisation does across
        a sentence's edge; a text whose normalised characters are not in the original order (text
        written right to left) is read sentence by sentence. In the fast profile a sentence is left out,
        before its cues are read, when even the highest dense features it could have (`_bound_whole`)
        would not raise its text's scores: most sentences of most comments."""
        encoded = reading.encoded
        group = np.full(len(encoded.word_doc), -1, dtype=np.int64)
        pieces: list[tuple[int, int, str]] = []
        # Per piece: its start and end in the normalised text, and the sentence number of each word of
        # its text (its words are looked up only for pieces that are kept).
        found: list[tuple[int, int, int, list[int]]] = []
        direct: list[tuple[int, int, str]] = []
        for k, spans in several:
            text = texts[k]
            norm = reading.norms[k]
            tokens = encoded.tokens[k]
            ranges = word_ranges(norm, self._token_pattern)
            origin = np.asarray(norm.starts, dtype=np.int64)
            if len(ranges) != len(tokens) or (np.diff(origin) < 0).any():
                direct.extend((k, start, text[start:end]) for start, end in spans)
                continue
            starts = np.array([start for start, _ in spans])
            ends = np.array([end for _, end in spans])
            # Each word belongs to the sentence it starts in, or to none (words of a sentence too short
            # to be read alone).
            at = origin[[start for start, _ in ranges]] if ranges else np.zeros(0, dtype=np.int64)
            sentence = np.searchsorted(starts, at, side="right") - 1
            sentence[(sentence < 0) | (at >= ends[np.maximum(sentence, 0)])] = -1
            first = encoded.word_start[k]
            group[first : first + len(tokens)] = np.where(sentence >= 0, sentence + len(pieces), -1)
            lows = np.searchsorted(origin, starts).tolist()
            highs = np.searchsorted(origin, ends).tolist()
            numbers = sentence.tolist()
            for i, (start, end) in enumerate(spans):
                found.append((lows[i], highs[i], i, numbers))
                pieces.append((k, start, text[start:end]))
        names = self._sentence_names
        scores = np.zeros((0, len(names)))
        if pieces:
            heads = self._sentence_heads
            lexical = np.asarray(self._encoder.regroup(encoded, group, len(pieces)) @ self._sentence_lexical)
            if self._sentence_bound:
                piece_texts = [p for _, _, p in pieces]
                whole = np.vstack([reading.cues[k].dense for k, _, _ in pieces]).astype(np.float64)
                length = np.array([length_feature(p) for p in piece_texts])
                bound = (
                    lexical
                    + whole @ self._bound_whole
                    + length[:, None] * self._bound_length
                    + self._bound_constant
                    + heads.intercept
                    + 1e-6  # the dense features are float32 where the sentence is read
                )
                highest = heads.probabilities(bound, tweet_style(piece_texts))
                current = np.array([[getattr(results[k], a) for a in names] for k, _, _ in pieces])
                wanted = np.maximum(current, SENTENCE_FLOOR)
                kept = np.flatnonzero((highest >= wanted).any(axis=1)).tolist()
                pieces = [pieces[i] for i in kept]
                found = [found[i] for i in kept]
                lexical = lexical[kept]
            cues = []
            for (k, _, piece), (low, high, number, numbers) in zip(pieces, found, strict=True):
                tokens = encoded.tokens[k]
                words = [tokens[w] for w, n in enumerate(numbers) if n == number]
                part = reading.norms[k].text[low:high]
                cues.append(part_cues(reading.cues[k], part, piece, low, self.catalogue, words))
            dense = dense_matrix(cues) * heads.dense_scale
            logits = lexical + dense @ self._sentence_dense + heads.intercept
            scores = self._sentence_probabilities([p for _, _, p in pieces], logits)
        if direct:
            pieces += direct
            scores = np.vstack([scores, self._sentence_scores([p for _, _, p in direct])])
        return pieces, scores

    def _sentence_probabilities(self, texts: Sequence[str], logits: np.ndarray) -> np.ndarray:
        style = tweet_style(texts)
        probs = self._sentence_heads.probabilities(logits, style)
        stack = self._sentence_stack
        if stack is not None:
            embeddings = self.embeddings(texts)
            similarity = np.zeros(len(texts))
            if stack.meta[:, 3].any():
                similarity = narrative_similarity(embeddings, self._phrase_embeddings())
            probs = stack.probabilities(
                logits,
                stack.encoder_logits(embeddings),
                np.asarray(style, dtype=np.float64),
                similarity,
                stack.stance_values(embeddings) if stack.stance is not None else None,
            )
        return probs

    def _score(self, texts: Sequence[str], *, refine: bool = True) -> list[ScoreResult]:
        """`refine=False` skips toxicity's refiner (for pieces read for other attributes)."""
        return self._read(texts, refine=refine)[0]

    def _read(self, texts: Sequence[str], *, refine: bool = True) -> tuple[list[ScoreResult], _Reading]:
        """`_score`, and what it read of the texts."""
        if not texts:
            return [], _Reading([], self._encoder.encode([]), [])
        norms, encoded, cues, dense, logits = self._ngram(
            texts, self.heads, self._lexical_coef, self._dense_coef
        )
        style = tweet_style(texts)
        probs = self.heads.probabilities(logits, style)
        langs = [detect_language(shown_text(text)) for text in texts]
        if self.profile == "full":
            self._full(texts, logits, probs, np.asarray(style, dtype=np.float64), langs, refine=refine)
        columns = {name: self._column(probs, name).tolist() for name in EXPLAINED}
        has_threat_head = "threat" in self.heads.names
        # Technique heads learn "which technique, given persuasive text" (SemEval memes nearly all carry
        # one), so their probability is scaled by the propaganda probability.
        technique_rows = (
            probs[:, self._technique_columns] * self._column(probs, "propaganda")[:, None]
        ).tolist()
        explained = [i for _, i in self._explained]
        needs_spans = (probs[:, explained] >= EXPLAIN_FLOOR) if explained else np.zeros((len(texts), 0), bool)
        contributions = self._explainer.contributions(
            encoded, dense, np.flatnonzero(needs_spans.any(axis=1)).tolist()
        )
        results = []
        for k, (text, norm, cue) in enumerate(zip(texts, norms, cues, strict=True)):
            propaganda = columns["propaganda"][k]
            narratives = self._narratives(cue, propaganda)
            spans = cue_spans(norm, cue, NARRATIVE_FLOOR)
            if k in contributions:
                active = [
                    a if flag else "" for (a, _), flag in zip(self._explained, needs_spans[k], strict=True)
                ]
                spans.extend(model_spans(norm, contributions[k], active, self._token_pattern))
            if self._masked:
                # A bare name carries no weight of its own here (the models saw a placeholder): it is
                # never shown as the reason for a score.
                spans = [
                    s
                    for s in spans
                    if s.attribute.startswith("narrative:") or not is_name(text[s.start : s.end])
                ]
            spans.sort(key=lambda s: (s.start, s.end, s.attribute))
            results.append(
                ScoreResult(
                    toxicity=columns["toxicity"][k],
                    propaganda=propaganda,
                    spam=columns["spam"][k],
                    insult=columns["insult"][k],
                    profanity=columns["profanity"][k],
                    threat=columns["threat"][k] if has_threat_head else columns["toxicity"][k] * cue.threat,
                    identity_attack=columns["identity_attack"][k],
                    techniques=self._techniques(technique_rows[k], cue, propaganda, narratives),
                    narratives=narratives,
                    lang=langs[k],
                    spans=[Span(s.start, s.end, s.attribute, s.weight) for s in spans],
                    profile=self.profile,
                )
            )
        return results, _Reading(norms, encoded, cues)

    def _narratives(self, cue: CueAnalysis, propaganda: float) -> list[tuple[str, float]]:
        damp = 1.0 - cue.debunk
        scored = [(n, s * damp * (0.5 + 0.5 * propaganda)) for n, s in cue.narratives.items()]
        return sorted(((n, s) for n, s in scored if s >= NARRATIVE_FLOOR), key=lambda x: -x[1])

    def _techniques(
        self, row: list[float], cue: CueAnalysis, propaganda: float, narratives: list[tuple[str, float]]
    ) -> dict[str, float]:
        # Technique names are kept sorted, so only a text that adds a name needs sorting again.
        out = dict(zip(self._technique_names, row, strict=True))
        added = False
        for technique, score in cue.techniques.items():
            added = added or technique not in out
            out[technique] = max(out.get(technique, 0.0), score * propaganda)
        if narratives:
            added = added or "narrative_claim" not in out
            out["narrative_claim"] = max(out.get("narrative_claim", 0.0), narratives[0][1])
        return dict(sorted(out.items())) if added else out


_PART_MAX = ("toxicity", "propaganda", "spam", "insult", "profanity", "threat", "identity_attack")


def _with_part(
    whole: ScoreResult, part: ScoreResult, offset: int, names: Sequence[str] = _PART_MAX
) -> ScoreResult:
    """`whole` with each attribute of `names` raised to the part's score where the part scores higher,
    and explained by the part's spans instead of the whole's (moved to where the part starts)."""
    higher = {name for name in names if getattr(part, name) > getattr(whole, name)}
    if not higher:
        return whole
    spans = [s for s in whole.spans if s.attribute not in higher] + [
        Span(s.start + offset, s.end + offset, s.attribute, s.weight)
        for s in part.spans
        if s.attribute in higher
    ]
    spans.sort(key=lambda s: (s.start, s.end, s.attribute))
    return replace(whole, spans=spans, **{name: getattr(part, name) for name in higher})

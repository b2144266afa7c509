"""The saved model: a fitted vectoriser plus a matrix of calibrated linear heads, persisted with skops.

Loading goes through an explicit list of trusted types; a file that holds any other type is refused.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import skops.io as sio
from scipy.special import expit
from sklearn.feature_extraction.text import TfidfVectorizer

from classifiers.encoder import E5_DIM
from classifiers.errors import ModelLoadError
from classifiers.features import ANALYZERS, DENSE_NAMES
from classifiers.stack import META_INPUTS, REFINER_INPUTS, LanguageHeads, Refiner, StackHeads, Stance

MODEL_FILE = "model.skops"
CARD_FILE = "model_card.json"
FORMAT = 8
# Format 1 had no style calibration terms (they load as zero); formats 1 and 2 tokenised words only
# (no emoji tokens), which their vectoriser state says by leaving out "tokens". Format 4 may add the
# `full` profile's stacked heads ("stack"); a model without them scores the `fast` profile only. Format 5
# added the stance model, format 6 toxicity's e5 refiner (a stack without one scores as before), format 7
# the refiner's weight (format 6 refiners take the refined probability alone: weight 1), format 8 the
# language heads (e5 heads for comments in languages the sentence encoder does not read; optional).
READABLE_FORMATS = (1, 2, 3, 4, 5, 6, 7, 8)

# Types a model file may contain beyond skops' defaults (dicts, lists, str, numbers, numpy arrays).
# The analyzer is referenced by name when a vectoriser is saved whole; anything else is refused.
TRUSTED_TYPES: tuple[str, ...] = ("classifiers.features.analyze",)


@dataclass
class Heads:
    """Linear heads over the shared feature space: logit = X @ coef + intercept, then Platt calibration."""

    names: list[str]
    coef: np.ndarray  # (n_features, n_heads) float32
    intercept: np.ndarray  # (n_heads,)
    cal_a: np.ndarray  # (n_heads,)
    cal_b: np.ndarray  # (n_heads,)
    dense_scale: float
    # Extra slope and intercept for tweet-style texts (`classifiers.calibration`); zero for most heads.
    style_a: np.ndarray | None = None  # (n_heads,)
    style_b: np.ndarray | None = None  # (n_heads,)

    def index(self, name: str) -> int:
        return self.names.index(name)

    def select(self, names: list[str]) -> Heads:
        """The same heads restricted to `names`, in that order."""
        k = [self.index(n) for n in names]
        return Heads(
            names=list(names),
            coef=np.ascontiguousarray(self.coef[:, k]),
            intercept=self.intercept[k],
            cal_a=self.cal_a[k],
            cal_b=self.cal_b[k],
            dense_scale=self.dense_scale,
            style_a=None if self.style_a is None else self.style_a[k],
            style_b=None if self.style_b is None else self.style_b[k],
        )

    def logits(self, X: sp.csr_matrix) -> np.ndarray:
        return np.asarray(X @ self.coef) + self.intercept

    def probabilities(self, logits: np.ndarray, style: np.ndarray | None = None) -> np.ndarray:
        """Calibrated probabilities; `style` (one 0/1 value per row) marks tweet-style texts."""
        z = logits * self.cal_a + self.cal_b
        if style is not None and self.style_a is not None and self.style_b is not None:
            z = z + style[:, None] * (logits * self.style_a + self.style_b)
        return expit(z)


def vectorizer_state(vectorizer: TfidfVectorizer) -> dict:
    """The fitted vocabulary and idf as two compact values (skops stores dict entries one by one)."""
    terms = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
    if any("\n" in t for t in terms):
        raise ValueError("vocabulary terms must not contain newlines")
    schemes = {analyzer: name for name, analyzer in ANALYZERS.items()}
    if vectorizer.analyzer not in schemes:
        raise ValueError("the vectoriser's analyzer must be one of classifiers.features.ANALYZERS")
    return {
        "tokens": schemes[vectorizer.analyzer],
        "terms": "\n".join(terms),
        "idf": np.asarray(vectorizer.idf_, dtype=np.float64),
        "sublinear_tf": bool(vectorizer.sublinear_tf),
    }


def vectorizer_from_state(state: dict) -> TfidfVectorizer:
    terms = str(state["terms"]).split("\n")
    idf = np.asarray(state["idf"], dtype=np.float64)
    if len(terms) != len(idf):
        raise ModelLoadError("vocabulary and idf lengths differ")
    tokens = str(state.get("tokens", "words"))
    if tokens not in ANALYZERS:
        raise ModelLoadError(f"unknown token scheme {tokens!r}")
    vectorizer = TfidfVectorizer(
        analyzer=ANALYZERS[tokens], sublinear_tf=bool(state["sublinear_tf"]), dtype=np.float32
    )
    vectorizer.vocabulary_ = {t: i for i, t in enumerate(terms)}
    vectorizer.idf_ = idf
    return vectorizer


def check_trusted(path: Path) -> None:
    """Refuse a skops file that holds any type outside `TRUSTED_TYPES`."""
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:  # skops raises many kinds of errors on corrupt files
        raise ModelLoadError(f"cannot read {path}: {exc}") from exc
    refused = sorted(set(untrusted) - set(TRUSTED_TYPES))
    if refused:
        raise ModelLoadError(f"{path} holds untrusted types: {', '.join(refused)}")


def load_skops(path: Path) -> object:
    if not path.is_file():
        raise ModelLoadError(f"missing model file {path}")
    check_trusted(path)
    try:
        return sio.load(path, trusted=list(TRUSTED_TYPES))
    except Exception as exc:
        raise ModelLoadError(f"cannot load {path}: {exc}") from exc


def save_model(
    model_dir: Path, vectorizer: TfidfVectorizer, heads: Heads, card: dict, stack: StackHeads | None = None
) -> None:
    model_dir.mkdir(parents=True, exist_ok=True)
    state = {
        "format": FORMAT,
        "vectorizer": vectorizer_state(vectorizer),
        "heads": {
            "names": list(heads.names),
            "coef": heads.coef,
            "intercept": heads.intercept,
            "cal_a": heads.cal_a,
            "cal_b": heads.cal_b,
            "style_a": heads.style_a if heads.style_a is not None else np.zeros(len(heads.names)),
            "style_b": heads.style_b if heads.style_b is not None else np.zeros(len(heads.names)),
            "dense_scale": float(heads.dense_scale),
        },
    }
    if stack is not None:
        stack_state: dict[str, object] = {
            "names": list(stack.names),
            "coef": stack.coef,
            "intercept": stack.intercept,
            "meta": stack.meta,
            "meta_b": stack.meta_b,
        }
        if stack.stance is not None:
            stack_state["stance"] = {
                "kinds": list(stack.stance.kinds),
                "endorsing": stack.stance.endorsing.astype(np.int8),
                "coef": stack.stance.coef,
                "intercept": stack.stance.intercept,
            }
        if stack.refiner is not None:
            r = stack.refiner
            stack_state["refiner"] = {
                "head": r.head,
                "band": np.asarray(r.band, dtype=np.float64),
                "coef": r.coef,
                "intercept": float(r.intercept),
                "meta": np.asarray(r.meta, dtype=np.float64),
                "meta_b": float(r.meta_b),
                "weight": float(r.weight),
            }
        if stack.languages is not None:
            g = stack.languages
            stack_state["languages"] = {
                "languages": list(g.languages),
                "names": list(g.names),
                "coef": g.coef,
                "intercept": np.asarray(g.intercept, dtype=np.float64),
                "cal_a": np.asarray(g.cal_a, dtype=np.float64),
                "cal_b": np.asarray(g.cal_b, dtype=np.float64),
                "weight": float(g.weight),
            }
        state["stack"] = stack_state
    sio.dump(state, model_dir / MODEL_FILE, compression=zipfile.ZIP_DEFLATED)
    check_trusted(model_dir / MODEL_FILE)
    (model_dir / CARD_FILE).write_text(json.dumps(card, indent=2, ensure_ascii=False), encoding="utf-8")


def load_model(model_dir: Path) -> tuple[TfidfVectorizer, Heads, dict, StackHeads | None]:
    model_dir = Path(model_dir)
    try:
        card = json.loads((model_dir / CARD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot read model card in {model_dir}: {exc}") from exc
    state = load_skops(model_dir / MODEL_FILE)
    try:
        if not isinstance(state, dict) or state.get("format") not in READABLE_FORMATS:
            raise ModelLoadError(f"{model_dir / MODEL_FILE} is not a model of format {READABLE_FORMATS}")
        vectorizer = vectorizer_from_state(state["vectorizer"])
        h = state["heads"]
        heads = Heads(
            names=[str(n) for n in h["names"]],
            coef=np.asarray(h["coef"], dtype=np.float32),
            intercept=np.asarray(h["intercept"], dtype=np.float64),
            cal_a=np.asarray(h["cal_a"], dtype=np.float64),
            cal_b=np.asarray(h["cal_b"], dtype=np.float64),
            dense_scale=float(h["dense_scale"]),
            style_a=np.asarray(h["style_a"], dtype=np.float64) if "style_a" in h else None,
            style_b=np.asarray(h["style_b"], dtype=np.float64) if "style_b" in h else None,
        )
        stack = None
        if "stack" in state:
            k = state["stack"]
            meta = np.asarray(k["meta"], dtype=np.float64)
            if meta.ndim == 2 and meta.shape[1] == len(META_INPUTS) - 1:
                # Format 4 had no stance input: its weight is zero.
                meta = np.column_stack([meta, np.zeros(len(meta))])
            stance = None
            if "stance" in k:
                t = k["stance"]
                stance = Stance(
                    kinds=[str(x) for x in t["kinds"]],
                    endorsing=np.asarray(t["endorsing"]).astype(bool),
                    coef=np.asarray(t["coef"], dtype=np.float32),
                    intercept=np.asarray(t["intercept"], dtype=np.float64),
                )
            refiner = None
            if "refiner" in k:
                r = k["refiner"]
                band = np.asarray(r["band"], dtype=np.float64)
                refiner = Refiner(
                    head=str(r["head"]),
                    band=(float(band[0]), float(band[1])),
                    coef=np.asarray(r["coef"], dtype=np.float32),
                    intercept=float(r["intercept"]),
                    meta=np.asarray(r["meta"], dtype=np.float64),
                    meta_b=float(r["meta_b"]),
                    weight=float(r.get("weight", 1.0)),
                )
                if (
                    band.shape != (2,)
                    or refiner.coef.shape != (E5_DIM,)
                    or refiner.meta.shape != (len(REFINER_INPUTS),)
                ):
                    raise ModelLoadError("the refiner has inconsistent shapes")
                if not 0.0 <= refiner.weight <= 1.0:
                    raise ModelLoadError("the refiner's weight is not within 0-1")
            languages = None
            if "languages" in k:
                g = k["languages"]
                languages = LanguageHeads(
                    languages=[str(x) for x in g["languages"]],
                    names=[str(x) for x in g["names"]],
                    coef=np.asarray(g["coef"], dtype=np.float32),
                    intercept=np.asarray(g["intercept"], dtype=np.float64),
                    cal_a=np.asarray(g["cal_a"], dtype=np.float64),
                    cal_b=np.asarray(g["cal_b"], dtype=np.float64),
                    weight=float(g["weight"]),
                )
                n_language = len(languages.names)
                if languages.coef.shape != (E5_DIM, n_language) or any(
                    v.shape != (n_language,) for v in (languages.intercept, languages.cal_a, languages.cal_b)
                ):
                    raise ModelLoadError("the language heads have inconsistent shapes")
                if not 0.0 <= languages.weight <= 1.0:
                    raise ModelLoadError("the language heads' weight is not within 0-1")
                if any(name not in heads.names for name in languages.names):
                    raise ModelLoadError("a language head has no n-gram head")
            stack = StackHeads(
                names=[str(n) for n in k["names"]],
                coef=np.asarray(k["coef"], dtype=np.float32),
                intercept=np.asarray(k["intercept"], dtype=np.float64),
                meta=meta,
                meta_b=np.asarray(k["meta_b"], dtype=np.float64),
                stance=stance,
                refiner=refiner,
                languages=languages,
            )
            n = len(stack.names)
            if (
                stack.coef.shape[1] != n
                or stack.meta.shape != (n, len(META_INPUTS))
                or len(stack.meta_b) != n
            ):
                raise ModelLoadError("stacked heads have inconsistent shapes")
            if stance is not None and (
                stance.coef.shape != (stack.coef.shape[0], len(stance.kinds))
                or stance.intercept.shape != (len(stance.kinds),)
                or stance.endorsing.shape != (len(stance.kinds),)
            ):
                raise ModelLoadError("the stance model has inconsistent shapes")
            if any(name not in heads.names for name in stack.names):
                raise ModelLoadError("a stacked head has no n-gram head")
            if refiner is not None and refiner.head not in stack.names:
                raise ModelLoadError("the refiner's head is not a stacked head")
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelLoadError(f"malformed model state in {model_dir}: {exc}") from exc
    if heads.coef.shape != (len(vectorizer.vocabulary_) + len(DENSE_NAMES), len(heads.names)):
        raise ModelLoadError("heads and vectoriser do not match")
    return vectorizer, heads, card, stack

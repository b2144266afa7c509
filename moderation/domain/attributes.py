"""The scored attributes: one definition that the policy, storage, the API and the dashboard iterate.

Adding an attribute is a change here (one `Attribute`), in the classifier that scores it
(`classifiers.scoring.ScoreResult.values`) and one migration that adds its column to `scores`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

DECIMALS = 4


@dataclass(frozen=True)
class Attribute:
    """One score a model gives a comment, a calibrated probability in [0, 1].

    `label` is the English display name (the dashboard translates it); `summary` attributes appear at
    the top level of the API's `scores` object and in the approval reason, the others under
    `scores.attributes`; `can_reject` says whether a site's policy may reject on it (else only hold);
    `per_site` marks a score that the site's own model gives (the generic model gives the others).
    """

    name: str
    label: str
    summary: bool = False
    can_reject: bool = True
    per_site: bool = False


ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute("toxicity", "toxicity", summary=True),
    Attribute("propaganda", "propaganda", summary=True),
    Attribute("spam", "spam", summary=True),
    Attribute("insult", "insult"),
    Attribute("profanity", "profanity"),
    Attribute("threat", "threat"),
    Attribute("identity_attack", "identity attack"),
    # The probability that this site's own moderators would reject the comment, from the site's model
    # (`moderation retrain`); absent (null in the API) while a site has none.
    Attribute("site_reject", "site's own standard", summary=True, per_site=True),
)
NAMES: tuple[str, ...] = tuple(a.name for a in ATTRIBUTES)
GENERIC_NAMES: tuple[str, ...] = tuple(a.name for a in ATTRIBUTES if not a.per_site)
BY_NAME: Mapping[str, Attribute] = {a.name: a for a in ATTRIBUTES}


def get(name: str) -> Attribute | None:
    return BY_NAME.get(name)


@dataclass(frozen=True)
class ScoreSet:
    """What a model said about one comment, rounded as the API shows it and storage keeps it.

    `values` has one entry per attribute the model scores (names from `ATTRIBUTES`); `techniques` and
    `narratives` detail the propaganda score; `spans` point at the words that drove the scores.
    """

    values: Mapping[str, float]
    techniques: Mapping[str, float] = field(default_factory=dict)
    narratives: tuple[tuple[str, float], ...] = ()
    spans: tuple[Mapping[str, Any], ...] = ()

    @classmethod
    def rounded(
        cls,
        values: Mapping[str, float],
        techniques: Mapping[str, float] | None = None,
        narratives: Iterable[tuple[str, float]] = (),
        spans: Iterable[Mapping[str, Any]] = (),
    ) -> ScoreSet:
        return cls(
            values={name: round(float(values[name]), DECIMALS) for name in NAMES if name in values},
            techniques={k: round(float(v), DECIMALS) for k, v in (techniques or {}).items()},
            narratives=tuple((n, round(float(s), DECIMALS)) for n, s in narratives),
            spans=tuple(spans),
        )

    def to_api(self) -> dict[str, Any]:
        """The API's `scores` object: summary attributes at the top, the rest under `attributes`."""
        shown: dict[str, Any] = {a.name: self.values.get(a.name) for a in ATTRIBUTES if a.summary}
        details: dict[str, Any] = {a.name: self.values.get(a.name) for a in ATTRIBUTES if not a.summary}
        details["techniques"] = dict(self.techniques)
        details["narratives"] = [{"id": n, "score": s} for n, s in self.narratives]
        shown["attributes"] = details
        return shown

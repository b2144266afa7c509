"""A directory of versioned models: root/<version>/{vectorizer.skops, heads.skops, model_card.json}.

Versions are written into a hidden temporary directory inside root and renamed into place, so a reader
never sees a half-written model. Which version is active is recorded elsewhere (the service database).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sklearn.feature_extraction.text import TfidfVectorizer

from classifiers.errors import ModelLoadError, UnknownVersionError
from classifiers.model import CARD_FILE, Heads, save_model
from classifiers.stack import StackHeads

if TYPE_CHECKING:
    from classifiers.scoring import Scorer


class Registry:
    """`catalogue_dir` holds the site editors' narrative catalogue extensions that loaded models use."""

    def __init__(self, root: Path, catalogue_dir: Path | None = None) -> None:
        self.root = Path(root)
        self.catalogue_dir = catalogue_dir

    def versions(self) -> list[str]:
        """Complete versions, oldest first (version strings sort by creation time)."""
        if not self.root.is_dir():
            return []
        return sorted(
            p.name
            for p in self.root.iterdir()
            if p.is_dir() and not p.name.startswith(".") and (p / CARD_FILE).is_file()
        )

    def path(self, version: str) -> Path:
        if not version or "/" in version or version.startswith(".") or os.sep in version:
            raise UnknownVersionError(f"invalid version {version!r}")
        path = self.root / version
        if not (path / CARD_FILE).is_file():
            raise UnknownVersionError(f"no model version {version!r} in {self.root}")
        return path

    def card(self, version: str) -> dict:
        try:
            return json.loads((self.path(version) / CARD_FILE).read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ModelLoadError(f"corrupt model card for {version}: {exc}") from exc

    def load(self, version: str) -> Scorer:
        from classifiers.scoring import Scorer

        return Scorer.load(self.path(version), self.catalogue_dir)

    def latest(self) -> str | None:
        versions = self.versions()
        return versions[-1] if versions else None

    def save(
        self,
        version: str,
        vectorizer: TfidfVectorizer,
        heads: Heads,
        card: dict,
        stack: StackHeads | None = None,
    ) -> str:
        """Write a new version atomically; a suffix makes the name unique if it is taken."""
        return self.save_with(
            version, lambda directory: save_model(directory, vectorizer, heads, card, stack)
        )

    def save_with(self, version: str, write: Callable[[Path], None]) -> str:
        """Let `write` fill a hidden directory (with a model card), then rename it into place as `version`
        (or `version-2`, ... if that name is taken); returns the name it got."""
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.root))
        tmp.chmod(0o755)  # mkdtemp makes it private; workers may run as another user
        try:
            write(tmp)
            counter = 1
            while True:
                candidate = version if counter == 1 else f"{version}-{counter}"
                if not (self.root / candidate).exists():
                    _stamp_version(tmp, candidate)
                    try:
                        os.rename(tmp, self.root / candidate)
                        return candidate
                    except OSError:
                        if not (self.root / candidate).exists():
                            raise
                counter += 1
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def site(self, site_id: int) -> Registry:
        """The registry of one site's own models (`<root>/sites/<site id>/<version>/`)."""
        return Registry(self.root / "sites" / str(int(site_id)), self.catalogue_dir)


def _stamp_version(model_dir: Path, version: str) -> None:
    card_path = model_dir / CARD_FILE
    card = json.loads(card_path.read_text(encoding="utf-8"))
    card = {"version": version, **{k: v for k, v in card.items() if k != "version"}}
    card_path.write_text(json.dumps(card, indent=2, ensure_ascii=False), encoding="utf-8")

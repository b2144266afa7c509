"""What the policy may know about a comment besides its scores.

Built from storage by one function (`moderation.store.facts`) for the workers, the what-if preview and
offline scoring alike. A fact that cannot be known (offline there is no author history and no stream
of recent comments) is `None`, and the rules that need it do not apply.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


class ReadText(Protocol):
    """A text as the models read it (folded, de-obfuscated, hidden characters dropped), with the way
    back: `to_original` maps a range of `text` to the range of the original it was read from."""

    @property
    def text(self) -> str: ...

    def to_original(self, start: int, end: int) -> tuple[int, int]: ...


# How the models read a text (`classifiers.normalize.normalise`, handed in by `moderation.store.facts`:
# the domain imports no model code). The word rules read comments and their word lists through it.
Reader = Callable[[str], ReadText]


@dataclass(frozen=True)
class CommentFacts:
    text: str
    # Whether the author has an approved comment on this site from before this one.
    author_has_history: bool | None = False
    lang: str | None = None
    # Recent comments with (nearly) the same text by other authors, and how many authors wrote them.
    copies: int | None = 0
    copy_authors: int | None = 0
    # Languages beyond the supported ones that the model read this comment with heads of their own (the
    # `full` profile's e5 heads for Ukrainian and Kazakh); a site's `score_languages` applies to these.
    read_languages: tuple[str, ...] = ()
    # How to read the text for the word rules; None: case and NFKC folding only.
    read: Reader | None = field(default=None, compare=False, repr=False)

    def unknown(self) -> tuple[str, ...]:
        """The names of the facts not known for this comment (rules needing them were skipped)."""
        missing = []
        if self.author_has_history is None:
            missing.append("author_history")
        if self.copies is None or self.copy_authors is None:
            missing.append("copies")
        return tuple(missing)

    def recorded(self) -> dict[str, int | bool | list[str] | None]:
        """The facts a decision was made on, as stored beside it (what the preview replays)."""
        return {
            "author_has_history": self.author_has_history,
            "copies": self.copies,
            "copy_authors": self.copy_authors,
            "read_languages": list(self.read_languages),
        }

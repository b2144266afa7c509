"""`moderation catalogue ...`: the narrative catalogue, and the extension files site editors add to it.

Extensions are JSON or YAML files in `MODERATION_CATALOGUE_DIR` (default `MODERATION_HOME/catalogue`).
Workers pick up a saved file within seconds; `check` says whether a file is usable before anyone relies
on it, and a file that is not usable never replaces the catalogue a worker already has.
"""

from __future__ import annotations

from pathlib import Path

import click

from classifiers.catalogue import extension_files, load_catalogue
from classifiers.errors import CatalogueError
from moderation.config import Config


def _directory(directory: Path | None) -> Path:
    return directory if directory is not None else Config.from_env().catalogue_dir


_DIR_OPTION = click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Extension directory (default: MODERATION_CATALOGUE_DIR, else MODERATION_HOME/catalogue).",
)


@click.group()
def catalogue() -> None:
    """The narrative catalogue and its site-specific extensions."""


@catalogue.command("check")
@_DIR_OPTION
def check(directory: Path | None) -> None:
    """Validate the extension files; exit status 1 with the reason if one is not usable."""
    where = _directory(directory)
    files = extension_files(where)
    try:
        compiled = load_catalogue(where)
    except CatalogueError as exc:
        raise click.ClickException(str(exc)) from exc
    added = [n for n in compiled.narratives if n.id not in _builtin_ids()]
    click.echo(f"{len(files)} extension file(s) in {where}: {len(added)} narrative(s) added")
    for narrative in added:
        click.echo(f"  {narrative.id}: {narrative.description}")
    click.echo(f"catalogue version {compiled.version}, {len(compiled.narratives)} narratives in all")


@catalogue.command("list")
@_DIR_OPTION
def list_narratives(directory: Path | None) -> None:
    """Every narrative: id, where it comes from, example count, description."""
    try:
        compiled = load_catalogue(_directory(directory))
    except CatalogueError as exc:
        raise click.ClickException(str(exc)) from exc
    builtin = _builtin_ids()
    for n in compiled.narratives:
        origin = "shipped" if n.id in builtin else "extension"
        examples = sum(len(texts) for texts in n.examples.values())
        click.echo(f"{n.id:32s} {origin:9s} {examples:3d} examples  {n.description}")


def _builtin_ids() -> set[str]:
    return set(load_catalogue(None).narrative_ids())

"""`moderation labels import|export` and `moderation retrain`: a site's own standard, learned from its
moderators' decisions."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from sqlalchemy import select
from tqdm import tqdm

from moderation.cli.common import open_resources
from moderation.domain.labels import ArchiveError, read_archive
from moderation.resources import Resources
from moderation.store.db import transaction
from moderation.store.labels import export_labels, import_labels
from moderation.store.tables import Site


def _site_id(resources: Resources, name: str) -> int:
    with resources.sessions() as session:
        site_id = session.scalar(select(Site.id).where(Site.name == name))
    if site_id is None:
        raise click.ClickException(f"no site named {name!r}")
    return int(site_id)


def _kind(path: Path, given: str | None) -> str:
    if given:
        return given
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        return "jsonl"
    if suffix in (".csv", ".tsv"):
        return suffix[1:]
    raise click.ClickException(f"cannot tell the format of {path.name}: give --format jsonl, csv or tsv")


@click.group()
def labels() -> None:
    """A site's training labels: its moderators' decisions and its imported archive."""


@labels.command("import")
@click.argument("input_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--site", required=True, help="The site whose archive this is.")
@click.option("--format", "kind", type=click.Choice(["jsonl", "csv", "tsv"]), default=None)
@click.option("--text-col", default="text", show_default=True, help="CSV/TSV: the column with the text.")
@click.option(
    "--label-col", default="label", show_default=True, help="CSV/TSV: the column with the decision."
)
@click.option(
    "--positive",
    "positives",
    multiple=True,
    help="CSV/TSV: label value(s) that mean rejected (default: 1).",
)
def import_command(
    input_path: Path, site: str, kind: str | None, text_col: str, label_col: str, positives: tuple[str, ...]
) -> None:
    """Import an archive of moderator decisions (JSONL, or CSV/TSV) as training labels of SITE.

    Every line is checked first; with any bad line nothing is stored and the bad lines are listed.
    """
    resources = open_resources()
    site_id = _site_id(resources, site)
    with input_path.open(encoding="utf-8", newline="") as source:
        try:
            rows = read_archive(
                source,
                kind=_kind(input_path, kind),
                text_col=text_col,
                label_col=label_col,
                positive=positives or ("1",),
            )
        except ArchiveError as exc:
            raise click.ClickException(
                f"{input_path.name}: {exc.total} bad lines, nothing imported:\n{exc}"
            ) from exc
        except UnicodeDecodeError as exc:
            raise click.ClickException(f"{input_path.name} is not UTF-8 text: {exc}") from exc
    with (
        tqdm(total=len(rows), unit="labels", desc="importing", disable=None, file=sys.stderr) as bar,
        transaction(resources.sessions) as session,
    ):
        count = import_labels(session, site_id, rows, progress=bar.update)
    rejected = sum(1 for row in rows if row.action == "reject")
    click.echo(f"imported {count} labels for {site} ({rejected} rejected, {count - rejected} approved)")


@labels.command("export")
@click.option("--site", required=True)
@click.option("-o", "--output", "output_path", type=click.Path(dir_okay=False, path_type=Path), default=None)
def export_command(site: str, output_path: Path | None) -> None:
    """Write SITE's labels as JSONL (stdout by default), oldest decision first."""
    resources = open_resources()
    site_id = _site_id(resources, site)
    sink = output_path.open("w", encoding="utf-8") if output_path else sys.stdout
    count = 0
    try:
        with resources.sessions() as session:
            for record in export_labels(session, site_id):
                sink.write(json.dumps(record, ensure_ascii=False) + "\n")
                count += 1
    finally:
        if output_path:
            sink.close()
    click.echo(f"exported {count} labels of {site}", err=True)


@click.command()
@click.option("--site", default=None, help="Default: every site with new labels since its last verdict.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per site instead of a line.")
def retrain(site: str | None, as_json: bool) -> None:
    """Train a candidate site model and let the promotion guard decide; prints one verdict per site."""
    from classifiers.errors import ClassifierError
    from workers.retrain import generic_scorer, retrain_site, sites_with_new_labels

    resources = open_resources()
    names = [site] if site else sites_with_new_labels(resources)
    if site:
        _site_id(resources, site)
    if not names:
        click.echo("no site has new labels", err=True)
        return
    try:
        scorer = generic_scorer(resources)
    except (LookupError, ClassifierError) as exc:
        raise click.ClickException(str(exc)) from exc
    for name in names:
        result = retrain_site(
            resources, name, actor="cli", scorer=scorer, progress=lambda m: click.echo(m, err=True)
        )
        # The progress lines on stderr name the site; stdout has the verdict alone, one line per site.
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False) if as_json else result.line())

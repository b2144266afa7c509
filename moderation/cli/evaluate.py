"""`moderation evaluate`: report a model version's quality on labelled data (once per version).

The report is for reading, never for choosing: thresholds come from the model card (chosen on
cross-validation). Output: a table on stdout, `report.json` and PNG plots in the report directory.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click
from sqlalchemy.exc import SQLAlchemyError

from classifiers.errors import CatalogueError, ModelLoadError, UnknownVersionError
from classifiers.heldout import written_eval
from classifiers.reporting import (
    HEADS,
    LabelledFileError,
    binarise,
    evaluate_binary,
    format_table,
    head_scores,
    read_labelled,
    run_suite,
    summary_rows,
)
from classifiers.scoring import PROFILES, Scorer, ScoreResult
from classifiers.written_report import written_report
from moderation.config import Config
from moderation.domain.policy import DEFAULT_THRESHOLDS, SitePolicy, decide
from moderation.resources import Resources
from moderation.store import model_versions
from moderation.store.facts import offline_facts
from workers.pipeline import score_set


def _active_version(resources: Resources) -> str | None:
    """The version recorded as active in SQL; None when there is no database or no active model yet."""
    try:
        with resources.sessions() as session:
            return model_versions.active_version(session)
    except SQLAlchemyError as exc:
        click.echo(f"no active model recorded ({type(exc).__name__}); using the registry's latest", err=True)
        return None


def load_scorer(config: Config, model_version: str | None, model_dir: Path | None) -> Scorer:
    """`--model-dir`, else `--model-version`, else the active model, else the registry's latest."""
    try:
        if model_dir is not None:
            return Scorer.load(model_dir, config.catalogue_dir)
        # No migration: evaluating a model needs no database, only the registry.
        resources = Resources.from_config(config)
        registry = resources.registry
        version = model_version or _active_version(resources) or registry.latest()
        if version is None:
            raise click.ClickException("no model yet: run `moderation train` first")
        return registry.load(version)
    except (ModelLoadError, UnknownVersionError, CatalogueError) as exc:
        raise click.ClickException(str(exc)) from exc


def _default_policy_action(result: ScoreResult, text: str) -> str:
    """What the default policy does with a comment scored offline (no author history, no copies)."""
    scores = score_set(result)
    return decide(scores.values, offline_facts(text, result.lang), SitePolicy()).action.value


def _written_rows(slices: dict) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for name, figures in slices.items():
        if name == "reported":
            continue
        focus = {k: v for k, v in figures.items() if ">=" in k}
        rows.append(
            {
                "slice": name,
                "n": figures["n"],
                "approve": figures["approve"],
                "hold": figures["hold"],
                "reject": figures["reject"],
                "as_expected": figures["as_expected"],
                "focus": " ".join(f"{k} {v:.2f}" for k, v in focus.items()) or None,
            }
        )
    return rows


def _invocation() -> dict[str, object]:
    """The command and the options given, so the report says how it was made."""
    ctx = click.get_current_context()
    given = {
        k: str(v) if isinstance(v, Path) else v for k, v in ctx.params.items() if v not in (None, False, ())
    }
    return {"command": ctx.command_path, "options": given}


@click.command()
@click.argument("input_path", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--suite", is_flag=True, help="The standard report on the held-out test splits in heldout/.")
@click.option("--text-col", default="text", show_default=True, help="Column (or JSON key) with the text.")
@click.option("--label-col", default="label", show_default=True, help="Column (or JSON key) with the label.")
@click.option(
    "--positive", "positives", multiple=True, help="Label value(s) that count as positive (default: 1)."
)
@click.option(
    "--head", type=click.Choice(HEADS), default="toxicity", show_default=True, help="Score to test."
)
@click.option(
    "--threshold", type=float, default=None, help="Decision threshold (default: the policy's hold)."
)
@click.option("--model-version", default=None, help="A registry version (default: the active one).")
@click.option(
    "--model-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="A model directory outside the registry.",
)
@click.option(
    "--profile",
    type=click.Choice(PROFILES),
    default=None,
    help="Scoring profile (default: MODERATION_SCORING, else full).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Report directory (default: MODERATION_HOME/reports/<version>).",
)
def evaluate(
    input_path: Path | None,
    suite: bool,
    text_col: str,
    label_col: str,
    positives: tuple[str, ...],
    head: str,
    threshold: float | None,
    model_version: str | None,
    model_dir: Path | None,
    profile: str | None,
    out_dir: Path | None,
) -> None:
    """Score labelled data (CSV/TSV with a header row, or JSONL) and report quality, or run --suite."""
    if suite == (input_path is not None):
        raise click.UsageError("give either INPUT_PATH or --suite")
    config = Config.from_env()
    scorer = load_scorer(config, model_version, model_dir)
    if profile is not None:
        scorer = scorer.with_profile(profile)
    if profile == "full" and scorer.profile != "full":
        raise click.ClickException(f"model {scorer.version} has no full profile (trained --no-encoder)")
    target = out_dir or config.home / "reports" / f"{scorer.version}-{scorer.profile}"
    target.mkdir(parents=True, exist_ok=True)
    bands = DEFAULT_THRESHOLDS.get(head) or DEFAULT_THRESHOLDS["toxicity"]
    reject = float(bands.get("reject") or 1.01)
    report: dict = {
        "model_version": scorer.version,
        "scoring_profile": scorer.profile,
        "created": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "invocation": _invocation(),
    }
    if suite:
        click.echo(f"scoring the held-out suite with model {scorer.version}", err=True)
        tasks = run_suite(scorer, target, reject=reject)
        report["tasks"] = tasks
        rows = summary_rows(tasks)
        written = written_eval()
        report["written_eval"] = written_report(scorer.score(written.texts), written, _default_policy_action)
        written_rows = _written_rows(report["written_eval"])
    else:
        assert input_path is not None
        try:
            texts, labels = read_labelled(input_path, text_col, label_col)
        except (LabelledFileError, ValueError, KeyError) as exc:
            raise click.ClickException(str(exc)) from exc
        y = binarise(labels, positives or ("1",))
        if y.sum() in (0, len(y)):
            click.echo(f"warning: all {len(y)} rows have the same label; AUC is undefined", err=True)
        p = head_scores(scorer.score(texts), head)
        chosen = threshold if threshold is not None else float(bands.get("hold") or 0.5)
        result = evaluate_binary(
            y, p, name=f"{input_path.stem}_{head}", threshold=chosen, reject=reject, out_dir=target
        )
        report.update({"input": str(input_path), "head": head, "positive": list(positives or ("1",))})
        report["tasks"] = {input_path.stem: result}
        rows = summary_rows(report["tasks"])
    (target / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    click.echo(format_table(rows))
    if suite:
        click.echo("\nwritten evaluation set (heldout/written_eval), default policy:")
        click.echo(format_table(written_rows))
    click.echo(f"model {scorer.version}, {scorer.profile} profile; report and plots in {target}")

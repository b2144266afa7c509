"""`moderation evaluate` on small labelled files and on the held-out suite, with the quick test model."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from classifiers.registry import Registry
from moderation.cli.main import cli
from moderation.config import Config
from tests.conftest import Database

ROWS = [
    ("Du bist ein dummer Vollidiot", "OFFENSE"),
    ("Halt die Klappe, du widerliches Schwein!", "OFFENSE"),
    ("Was für ein erbärmlicher Idiot, verpiss dich", "OFFENSE"),
    ("Ich finde die Analyse zu Kasachstan sehr aufschlussreich.", "OTHER"),
    ("Danke für den ausführlichen Artikel über die Wahlen.", "OTHER"),
    ("Die Bahn war heute pünktlich, das freut mich.", "OTHER"),
]


def _invoke(home: Path, *args: str, database_url: str | None = None) -> Result:
    env = {"MODERATION_HOME": str(home), "SECRET_KEY": "test-secret-key"}
    if database_url:
        env["DATABASE_URL"] = database_url
    return CliRunner().invoke(cli, ["evaluate", *args], env=env, catch_exceptions=False)


@pytest.fixture
def labelled_csv(tmp_path: Path) -> Path:
    path = tmp_path / "labelled.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["comment", "gold"])
        writer.writerows(ROWS)
    return path


@pytest.fixture
def model_dir(trained_model_dir: Path) -> Path:
    registry = Registry(trained_model_dir)
    version = registry.latest()
    assert version is not None
    return registry.path(version)


def test_labelled_csv_report_table_json_and_plots(
    tmp_path: Path, labelled_csv: Path, model_dir: Path
) -> None:
    out = tmp_path / "report"
    result = _invoke(
        tmp_path / "home",
        str(labelled_csv),
        "--text-col", "comment", "--label-col", "gold", "--positive", "OFFENSE",
        "--model-dir", str(model_dir), "--out", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "official_macro_f1" in result.output and "labelled" in result.output
    report = json.loads((out / "report.json").read_text())
    assert report["model_version"] == model_dir.name
    task = report["tasks"]["labelled"]
    assert task["n"] == 6 and task["positives"] == 3
    # Three plain insults against three civil sentences: any working toxicity model ranks them apart.
    assert task["roc_auc"] == 1.0
    thresholds = [row["threshold"] for row in task["threshold_table"]]
    assert thresholds == [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95]
    for row in task["policy_table"]:
        assert row["approved"] + row["held"] + row["rejected"] == pytest.approx(1.0, abs=1e-3)
    for name in task["plots"]:
        assert (out / name).read_bytes().startswith(b"\x89PNG")
    assert {
        "labelled_toxicity_roc.png",
        "labelled_toxicity_pr.png",
        "labelled_toxicity_reliability.png",
        "labelled_toxicity_thresholds.png",
    } <= set(task["plots"])


def test_jsonl_input_and_default_report_dir_under_moderation_home(tmp_path: Path, model_dir: Path) -> None:
    path = tmp_path / "labelled.jsonl"
    path.write_text("".join(json.dumps({"text": t, "label": int(g == "OFFENSE")}) + "\n" for t, g in ROWS))
    home = tmp_path / "home"
    home.mkdir()
    shutil.copytree(model_dir, home / "models" / model_dir.name)
    # No database exists under this home: the latest registry version is used.
    result = _invoke(home, str(path))
    assert result.exit_code == 0, result.output
    # Tests score the fast profile (tests/conftest.py); each profile's report has a directory of its own.
    report = json.loads((home / "reports" / f"{model_dir.name}-fast" / "report.json").read_text())
    assert report["tasks"]["labelled"]["positives"] == 3
    assert report["scoring_profile"] == "fast"


def test_missing_column_and_missing_input_are_reported(
    tmp_path: Path, labelled_csv: Path, model_dir: Path
) -> None:
    result = CliRunner().invoke(
        cli,
        ["evaluate", str(labelled_csv), "--text-col", "nope", "--model-dir", str(model_dir)],
        env={"MODERATION_HOME": str(tmp_path), "SECRET_KEY": "k"},
    )
    assert result.exit_code != 0 and "no column 'nope'" in result.output
    result = CliRunner().invoke(cli, ["evaluate"], env={"MODERATION_HOME": str(tmp_path), "SECRET_KEY": "k"})
    assert result.exit_code != 0 and "either INPUT_PATH or --suite" in result.output


def test_active_model_from_the_database_and_unknown_version(
    model_home: Config, database: Database, labelled_csv: Path, tmp_path: Path
) -> None:
    version = Registry(model_home.models_dir).latest()
    args = [str(labelled_csv), "--text-col", "comment", "--label-col", "gold", "--positive", "OFFENSE"]
    result = _invoke(model_home.home, *args, database_url=database.url)
    assert result.exit_code == 0, result.output
    assert f"model {version}" in result.output
    bad = CliRunner().invoke(
        cli,
        ["evaluate", *args, "--model-version", "1999.01.01-000000"],
        env={"MODERATION_HOME": str(model_home.home), "DATABASE_URL": database.url, "SECRET_KEY": "k"},
    )
    assert bad.exit_code != 0 and "1999.01.01-000000" in bad.output


def test_suite_reports_every_standard_task(tmp_path: Path, model_dir: Path) -> None:
    out = tmp_path / "suite"
    result = _invoke(tmp_path / "home", "--suite", "--model-dir", str(model_dir), "--out", str(out))
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    tasks = report["tasks"]
    assert set(tasks) == {
        "germeval2018_task1",
        "germeval2018_task2",
        "germeval2021_task1",
        "semeval2021_dev_propaganda",
    }
    assert tasks["germeval2018_task1"]["n"] == 3532
    assert tasks["germeval2021_task1"]["n"] == 944
    for task in tasks.values():
        assert 0.0 <= task["official_macro_f1"] <= 1.0 and 0.0 <= task["sklearn_macro_f1"] <= 1.0
    assert (out / "germeval2018_toxicity_reliability.png").is_file()
    assert (out / "germeval2021_toxicity_roc.png").is_file()

"""PNG plots for evaluation reports: ROC, precision-recall, reliability and a threshold table.

matplotlib runs on the Agg backend (no display); every figure is closed after saving.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import precision_recall_curve, roc_curve  # noqa: E402

from classifiers.evaluation import reliability_bins  # noqa: E402

RELIABILITY_BINS = 10


def plot_binary(
    y: np.ndarray, p: np.ndarray, out_dir: Path, stem: str, title: str, table: list[dict[str, float]]
) -> list[Path]:
    """Write `<stem>_roc.png`, `_pr.png`, `_reliability.png` and `_thresholds.png`; return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    if 0 < y.sum() < len(y):
        fpr, tpr, _ = roc_curve(y, p)
        paths.append(
            _line(
                out_dir / f"{stem}_roc.png",
                f"{title}: ROC",
                fpr,
                tpr,
                "false positive rate",
                "true positive rate",
                diagonal=True,
            )
        )
        precision, recall, _ = precision_recall_curve(y, p)
        paths.append(
            _line(
                out_dir / f"{stem}_pr.png",
                f"{title}: precision-recall",
                recall,
                precision,
                "recall",
                "precision",
                baseline=float(y.mean()),
            )
        )
    paths.append(_reliability(out_dir / f"{stem}_reliability.png", title, y, p))
    paths.append(_table(out_dir / f"{stem}_thresholds.png", title, table))
    return paths


def _line(
    path: Path,
    title: str,
    x: np.ndarray,
    y: np.ndarray,
    xlabel: str,
    ylabel: str,
    *,
    diagonal: bool = False,
    baseline: float | None = None,
) -> Path:
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot(x, y, lw=1.5)
    if diagonal:
        ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1)
    if baseline is not None:
        ax.axhline(baseline, ls="--", color="grey", lw=1, label=f"base rate {baseline:.2f}")
        ax.legend(loc="lower left")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title, xlim=(0, 1), ylim=(0, 1.02))
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _reliability(path: Path, title: str, y: np.ndarray, p: np.ndarray) -> Path:
    bins = reliability_bins(y, p)
    fig, (ax, hist) = plt.subplots(2, 1, figsize=(5, 6), gridspec_kw={"height_ratios": [3, 1]}, sharex=True)
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="perfectly calibrated")
    ax.plot([b["mean_predicted"] for b in bins], [b["observed"] for b in bins], marker="o", label="model")
    ax.set(ylabel="observed positive rate", title=f"{title}: reliability", ylim=(0, 1.02))
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    hist.hist(p, bins=np.linspace(0, 1, RELIABILITY_BINS + 1), color="grey")
    hist.set(xlabel="predicted probability", ylabel="rows", xlim=(0, 1))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _table(path: Path, title: str, rows: list[dict[str, float]]) -> Path:
    columns = list(rows[0]) if rows else ["threshold"]
    cells = [[_cell(row[c]) for c in columns] for row in rows]
    fig, ax = plt.subplots(figsize=(1.3 * len(columns) + 1, 0.35 * len(rows) + 1.2))
    ax.axis("off")
    ax.set_title(f"{title}: at each threshold")
    if cells:
        table = ax.table(cellText=cells, colLabels=columns, loc="center")
        table.auto_set_font_size(False)
        table.set_fontsize(8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _cell(value: float) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)

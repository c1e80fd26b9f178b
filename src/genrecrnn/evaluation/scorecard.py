"""The validate stage's scores: metrics.json (the CRNN against each baseline on the same test clips), tables.

The test split's frame probabilities come first; then the metrics, the tables and the prediction files.

metrics.json holds the headline numbers only, nested so `dvc metrics show` / `dvc metrics diff` stay
readable: ``crnn.clip.accuracy``, ``crnn.frame.accuracy``, ``baseline.clip.accuracy``,
``rhythm_harmony.clip.accuracy``, ``crnn_vs_baseline.accuracy_diff``, ``crnn_vs_rhythm_harmony.mcnemar_p``, ...
(HEADLINE lists them). Every other metric of each model and
level is in summary.csv, per-genre numbers in per_genre.csv.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from genrecrnn.config.outputs import (
    BASELINE_FILES,
    CLIPS_FILE,
    CONFUSION_FILE,
    FRAMES_FILE,
    METRICS_FILE,
    PER_GENRE_FILE,
    PR_CURVES_FILE,
    PR_MICRO_FILE,
    ROC_CURVES_FILE,
    ROC_MICRO_FILE,
    SUMMARY_FILE,
)
from genrecrnn.data.provenance import describe_environment, environment
from genrecrnn.evaluation.baseline import BASELINES
from genrecrnn.features.store import FeatureStore
from genrecrnn.metrics.scores import clip_probabilities, evaluate, per_genre_table
from genrecrnn.metrics.significance import PAIRED_KEYS, paired_comparison
from genrecrnn.model.classifier import Classifier
from genrecrnn.model.crnn import predict_frames
from genrecrnn.util.errors import EvaluationError, ModelError
from genrecrnn.util.fileio import atomic_write_json, atomic_write_text

CLIP_AGGREGATION = "mean"
COMPARISON_KEY = "crnn_vs_baseline"  # the MFCC baseline's; comparison_key(name) for any of BASELINES
_RANKING = ("roc_auc_ovr_macro", "map", "mrr", "map_at_10", "map_seed_style", "roc_auc_seed_style")
# metrics.json's numbers: (model, level) -> (prefix of the flat metrics dict, keys).
_CI = ("accuracy", "accuracy_ci_low", "accuracy_ci_high", "f1_macro")
HEADLINE: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {
    ("crnn", "clip"): ("clip_", (*_CI, "f1_macro_ci_low", "f1_macro_ci_high", *_RANKING)),
    ("crnn", "frame"): ("frame_", ("accuracy", "f1_macro", "roc_auc_ovr_macro", "map")),
    # Baselines: what the report's headline table shows; their other ranking metrics are in summary.csv.
    **{(name, "clip"): (f"{name}_clip_", (*_CI, "roc_auc_ovr_macro", "map")) for name in BASELINES},
}
# summary.csv's rows: every model-level metric that is not per genre.
SUMMARY_METRICS = (
    "accuracy", "balanced_accuracy", "f1_macro", "precision_macro", "recall_macro", "roc_auc_ovr_macro",
    "roc_auc_micro", "map", "ap_micro", "mrr", "map_at_10", "map_seed_style", "roc_auc_seed_style", "n",
)  # fmt: skip
SUMMARY_COLUMNS = {
    "CRNN, frame": "frame_",
    "CRNN, clip": "clip_",
    **{f"{label}, clip": f"{name}_clip_" for name, label in BASELINES.items()},
}


def comparison_key(name: str) -> str:
    """metrics.json's key of the paired comparison of the CRNN with baseline `name`: crnn_vs_<name>."""
    return f"crnn_vs_{name}"


def predict_split(
    classifier: Classifier, store: FeatureStore, split: str, *, batch_size: int = 256
) -> tuple[pd.DataFrame, np.ndarray]:
    """Probabilities for every stored frame of `split`: (frame index rows, probs (n, n_genres))."""
    index = store.split(split).reset_index(drop=True)
    if store.config != classifier.feature_config:
        raise ModelError(
            f"the feature store was made with {store.config}, the model expects {classifier.feature_config}; "
            "rerun the pipeline (dvc repro)"
        )
    rows = index["row"].to_numpy()
    probs = [
        predict_frames(classifier.model, np.asarray(store.frames[rows[i : i + batch_size]]), batch_size=batch_size)
        for i in range(0, len(rows), batch_size)
    ]
    return index, np.concatenate(probs) if probs else np.empty((0, len(classifier.genres)), np.float32)


def clip_table(index: pd.DataFrame, probs: np.ndarray, *, genres: Sequence[str]) -> pd.DataFrame:
    """One row per clip: track_id, genre, label, predicted genre and label, and the mean probability of each genre."""
    clip_probs, ids, labels = clip_probabilities(
        probs, index["track_id"].to_numpy(), index["label"].to_numpy(), method=CLIP_AGGREGATION
    )
    table = pd.DataFrame({"track_id": ids, "label": labels})
    table["genre"] = [genres[i] for i in labels]
    table["predicted_label"] = clip_probs.argmax(axis=1)
    table["predicted"] = [genres[i] for i in table["predicted_label"]]
    return pd.concat([table, pd.DataFrame(clip_probs, columns=[f"p_{g}" for g in genres])], axis=1)


# Per-frame and per-clip probability files of the test split: every metrics.json number recomputes from them
# (score_tables(read_frames(...), read_baselines(...))). Probabilities are written with 17 significant digits,
# so they read back as the very floats that were scored (file names: genrecrnn.config.outputs).
_EXACT = "%.17g"


def frame_table(index: pd.DataFrame, probs: np.ndarray, *, genres: Sequence[str]) -> pd.DataFrame:
    """One row per frame: track_id, frame_index, label and the CRNN's probability of each genre (p_<genre>)."""
    table = index[["track_id", "frame_index", "label"]].reset_index(drop=True)
    return pd.concat([table, pd.DataFrame(np.asarray(probs), columns=[f"p_{g}" for g in genres])], axis=1)


def baseline_table(table: pd.DataFrame, probs: np.ndarray, *, genres: Sequence[str]) -> pd.DataFrame:
    """The baseline's clip table in clip_table's columns: track_id, label, genre, predicted (label), p_<genre>."""
    out = table[["track_id", "label"]].reset_index(drop=True)
    out["genre"] = [genres[i] for i in out["label"]]
    out["predicted_label"] = np.asarray(probs).argmax(axis=1)
    out["predicted"] = [genres[i] for i in out["predicted_label"]]
    return pd.concat([out, pd.DataFrame(np.asarray(probs), columns=[f"p_{g}" for g in genres])], axis=1)


def score_tables(
    frames: pd.DataFrame, baselines: Mapping[str, pd.DataFrame], *, genres: Sequence[str], n_boot: int, seed: int
) -> tuple[dict, dict[str, dict], pd.DataFrame]:
    """(metrics, comparisons, CRNN clip table) of the test split from the frame table and each baseline's clip table.

    ``baselines`` maps BASELINES keys to their clip tables; ``comparisons`` maps comparison_key(name) to the
    paired comparison of the CRNN with that baseline. Everything metrics.json holds is computed here from
    these tables, so it recomputes from the files write_validation writes (FRAMES_FILE, BASELINE_FILES).
    """
    columns = [f"p_{g}" for g in genres]
    probs = frames[columns].to_numpy(dtype=np.float32)
    labels, track_ids = frames["label"].to_numpy(), frames["track_id"].to_numpy()
    metrics = evaluate(labels, probs, track_ids, genres=genres, n_boot=n_boot, seed=seed)
    clips = clip_table(frames, probs, genres=genres)
    comparisons = {}
    for name, table in baselines.items():
        base_probs = table[columns].to_numpy(dtype=np.float64)
        metrics |= baseline_metrics(
            table["label"].to_numpy(), base_probs, genres=genres, n_boot=n_boot, seed=seed, prefix=f"{name}_clip_"
        )
        comparisons[comparison_key(name)] = compare_with_baseline(
            clips, table[["track_id", "label"]], base_probs, n_boot=n_boot, seed=seed
        )
    return metrics, comparisons, clips


def read_frames(results: Path) -> pd.DataFrame:
    """FRAMES_FILE as written (track ids as strings)."""
    return pd.read_csv(results / FRAMES_FILE, dtype={"track_id": str})


def read_baselines(results: Path) -> dict[str, pd.DataFrame]:
    """Each baseline's clip table (BASELINE_FILES) as written (track ids as strings), by BASELINES key."""
    return {name: pd.read_csv(results / file, dtype={"track_id": str}) for name, file in BASELINE_FILES.items()}


def metrics_document(
    metrics: Mapping[str, float], comparisons: Mapping[str, Mapping[str, float]], *, identifiers: dict
) -> dict:
    """metrics.json: HEADLINE numbers as model -> level -> metric, the paired comparisons, counts, ids, environment.

    ``metrics`` is the flat dict of :func:`genrecrnn.metrics.scores.evaluate` merged with each baseline's
    :func:`baseline_metrics`; ``comparisons`` is score_tables' (comparison_key(name) -> paired comparison).
    """
    doc: dict = {}
    for (model, level), (prefix, keys) in HEADLINE.items():
        doc.setdefault(model, {})[level] = {key: float(metrics[f"{prefix}{key}"]) for key in keys}
    for key, comparison in comparisons.items():
        doc[key] = {k: float(comparison[k]) for k in PAIRED_KEYS}
    doc["n_clips"], doc["n_frames"] = float(metrics["n_clips"]), float(metrics["n_frames"])
    environment_line = describe_environment(environment())  # where the numbers were made (CPU, SIMD, libraries)
    return {**doc, "clip_aggregation": CLIP_AGGREGATION, **identifiers, "environment": environment_line}


def summary_table(metrics: Mapping[str, float]) -> pd.DataFrame:
    """Every SUMMARY_METRICS value of the CRNN (frame, clip) and each baseline (clip): rows metric, one column each.

    A metric a level does not have (frame-level MAP@10) is NaN, an empty cell in summary.csv."""
    return pd.DataFrame(
        {
            name: [float(metrics.get(f"{prefix}{m}", np.nan)) for m in SUMMARY_METRICS]
            for name, prefix in SUMMARY_COLUMNS.items()
        },
        index=pd.Index(SUMMARY_METRICS, name="metric"),
    )


def write_validation(
    results: Path,
    *,
    metrics: dict,
    comparisons: dict[str, dict],
    clips: pd.DataFrame,
    frames: pd.DataFrame,
    baselines: Mapping[str, pd.DataFrame],
    genres: Sequence[str],
    identifiers: dict[str, str],
) -> dict:
    """Write metrics.json (:func:`metrics_document`), summary.csv, per_genre.csv, confusion.csv and the three
    probability files (FRAMES_FILE, CLIPS_FILE, BASELINE_FILES; tables of score_tables' inputs and output).

    Returns the metrics.json document.
    """
    clip_probs = clips[[f"p_{g}" for g in genres]].to_numpy()
    per_genre = per_genre_table(clips["label"].to_numpy(), clip_probs, genres=genres)
    atomic_write_text(results / PER_GENRE_FILE, per_genre.reset_index().to_csv(index=False))
    atomic_write_text(results / SUMMARY_FILE, summary_table(metrics).reset_index().to_csv(index=False))
    # DVC's confusion template counts (actual, predicted) rows.
    atomic_write_text(
        results / CONFUSION_FILE,
        clips[["genre", "predicted"]].set_axis(["actual", "predicted"], axis=1).to_csv(index=False),
    )
    atomic_write_text(results / CLIPS_FILE, clips.round(6).to_csv(index=False))
    atomic_write_text(results / FRAMES_FILE, frames.to_csv(index=False, float_format=_EXACT))
    for name, table in baselines.items():
        atomic_write_text(results / BASELINE_FILES[name], table.to_csv(index=False, float_format=_EXACT))
    document = metrics_document(metrics, comparisons, identifiers=identifiers)
    atomic_write_json(results / METRICS_FILE, document)
    return document


def write_curves(results: Path, clips: pd.DataFrame, *, genres: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Clip-level PR and ROC curves to pr_curves.csv / roc_curves.csv (+ *_micro.csv); returns both tables."""
    from genrecrnn.metrics.curves import pr_curves, roc_curves

    y, probs = clips["label"].to_numpy(), clips[[f"p_{g}" for g in genres]].to_numpy()
    pr, roc = pr_curves(y, probs, genres=genres), roc_curves(y, probs, genres=genres)
    atomic_write_text(results / PR_CURVES_FILE, pr.round(6).to_csv(index=False))
    atomic_write_text(results / ROC_CURVES_FILE, roc.round(6).to_csv(index=False))
    # DVC plots draw one line per file: the micro-averaged curves get files of their own.
    for name, table in ((PR_MICRO_FILE, pr), (ROC_MICRO_FILE, roc)):
        atomic_write_text(results / name, table[table["genre"] == "micro"].round(6).to_csv(index=False))
    return pr, roc


def baseline_metrics(
    labels: np.ndarray,
    probs: np.ndarray,
    *,
    genres: Sequence[str],
    n_boot: int,
    seed: int,
    prefix: str = "baseline_clip_",
) -> dict:
    """Clip-level metrics of a baseline, keys starting with `prefix`, with a Wilson CI on accuracy."""
    from genrecrnn.metrics.scores import classification_metrics
    from genrecrnn.metrics.significance import bootstrap_ci

    out = classification_metrics(labels, probs, genres=genres, prefix=prefix)
    low, high = bootstrap_ci(labels, probs.argmax(axis=1), metric="accuracy", n_boot=n_boot, seed=seed)
    return {k: v for k, v in out.items() if not any(k.endswith(f"_{g}") for g in genres)} | {
        f"{prefix}accuracy_ci_low": low,
        f"{prefix}accuracy_ci_high": high,
    }


def align_with_baseline(
    clips: pd.DataFrame, baseline: pd.DataFrame, baseline_probs: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(labels, CRNN predictions, baseline predictions), each (clips,) in the clip table's order, matched by track_id.

    ``clips`` is the :func:`clip_table`; ``baseline`` and ``baseline_probs`` (clips, n_genres) are what
    :func:`genrecrnn.evaluation.baseline.baseline_probabilities` returns. Raises unless both hold the same clips
    once each with the same true labels.
    """
    probs = np.asarray(baseline_probs)
    if probs.ndim != 2 or probs.shape[0] != len(baseline):
        raise EvaluationError(f"baseline_probs must have shape ({len(baseline)}, n_genres), got {probs.shape}")
    for name, ids in (("CRNN clip table", clips["track_id"]), ("baseline table", baseline["track_id"])):
        repeated = ids[ids.duplicated()]
        if len(repeated):
            raise EvaluationError(f"the {name} lists track_id(s) more than once, e.g. {list(repeated[:5])}")
    only_crnn = sorted(map(str, set(clips["track_id"]) - set(baseline["track_id"])))
    only_baseline = sorted(map(str, set(baseline["track_id"]) - set(clips["track_id"])))
    if only_crnn or only_baseline:
        raise EvaluationError(
            f"the CRNN and the baseline were scored on different clips: {len(only_crnn)} only in the CRNN's "
            f"(e.g. {only_crnn[:5]}), {len(only_baseline)} only in the baseline's (e.g. {only_baseline[:5]})"
        )
    order = pd.Index(baseline["track_id"]).get_indexer(clips["track_id"])
    labels = clips["label"].to_numpy()
    differ = labels != baseline["label"].to_numpy()[order]
    if differ.any():
        raise EvaluationError(
            f"the CRNN and the baseline disagree on the true genre of {list(clips['track_id'][differ][:5])}"
        )
    return labels, clips["predicted_label"].to_numpy(), probs.argmax(axis=1)[order]


def compare_with_baseline(
    clips: pd.DataFrame, baseline: pd.DataFrame, baseline_probs: np.ndarray, *, n_boot: int, seed: int
) -> dict[str, float]:
    """CRNN (a) vs baseline (b) on the same clips matched by track_id: the PAIRED_KEYS of paired_comparison.

    metrics.json holds them under ``crnn_vs_baseline`` (COMPARISON_KEY).
    """
    labels, crnn, base = align_with_baseline(clips, baseline, baseline_probs)
    return paired_comparison(labels, crnn, base, n_boot=n_boot, seed=seed)

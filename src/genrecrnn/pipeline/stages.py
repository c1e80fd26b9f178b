"""The pipeline's stages, one function each: data, preprocess, train, validate, predict, report.

Each takes the typed params.yaml sections it reads and the project root, writes the stage's outputs
(paths relative to the root, as dvc.yaml names them) and returns a small result holding what it wrote
and what its notebook shows. The notebooks and the CLI call these, so a stage's wiring exists once.
`given` is what the caller received by name (a notebook's papermill parameters), hashed into the run
identity exactly as received (genrecrnn.data.provenance.run_identity).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from genrecrnn.config.outputs import (
    HISTORY_FILE,
    MODEL_FILE,
    PER_GENRE_FILE,
    PREDICTION_FILE,
    REPORT_FILE,
    figure_file,
)
from genrecrnn.config.sections import (
    DataParams,
    FeaturesParams,
    ModelParams,
    Params,
    PathsParams,
    PredictParams,
    PreprocessParams,
    TrainParams,
    ValidateParams,
)
from genrecrnn.data.provenance import run_identity
from genrecrnn.pipeline.results import DataResult, PredictResult, PreprocessResult, TrainResult, ValidateResult
from genrecrnn.util import quiet

log = logging.getLogger(__name__)
# The notebooks' entry: each imports this module before anything that imports tensorflow, and the stages import
# it lazily, so its start-up lines stay off the executed notebooks (genrecrnn.util.quiet; the CLI installs it in main).
quiet.install()


def _figure(fig: Any, results: Path, stem: str) -> Path:
    """Save `fig` as <results>/figures/<stem>.png (+ .svg) and close it; returns the PNG's path."""
    import matplotlib.pyplot as plt

    from genrecrnn.report.plots import save_figure

    path = save_figure(fig, results / figure_file(stem))
    plt.close(fig)
    return path


def data(params: Params, *, root: Path) -> DataResult:
    """Data stage: generate or index the data set into paths.dataset (manifest, split, genres), as `genrecrnn data`.

    Paths in the manifest are written as prepare_dataset receives them: `paths.dataset` relative to the
    working directory, which DVC and `genrecrnn data` set to the project root.
    """
    from genrecrnn.data.dataset import prepare_dataset
    from genrecrnn.pipeline.dvcfile import DVC_FILE, check_user_files

    dvc_yaml = root / DVC_FILE
    if dvc_yaml.is_file():  # in a DVC project: its data stage must depend on the user files it reads
        check_user_files(dvc_yaml, params.data)
    folder = Path(params.paths.dataset)
    manifest, split, missing = prepare_dataset(
        params.data, out_dir=folder, genres=params.genres, sample_rate=params.sample_rate, seed=params.seed
    )
    return DataResult(manifest, split, missing, folder)


def preprocess(
    features: FeaturesParams,
    preprocess: PreprocessParams,
    *,
    sample_rate: int,
    paths: PathsParams,
    root: Path,
    given: Mapping[str, Any],
) -> PreprocessResult:
    """Preprocess stage: every usable clip cut into log-mel frames (sample_rate Hz) in the sharded feature store,
    and the log-mel grid of one training clip per genre (figures/logmel_examples.png)."""
    from genrecrnn.data.audio import load_audio
    from genrecrnn.data.index import one_per_genre, read_dataset_index, tracks_with_split
    from genrecrnn.features.logmel import feature_config, logmel
    from genrecrnn.features.store import write_feature_store
    from genrecrnn.report import plots_training

    identity = run_identity(given, dataset=root / paths.dataset)
    cfg = feature_config(features, sample_rate)
    manifest, split, genres = read_dataset_index(root / paths.dataset)
    tracks = tracks_with_split(manifest, split)
    index = write_feature_store(
        root / paths.features,
        tracks.assign(path=[str(root / p) for p in tracks["path"]]),
        cfg=cfg,
        workers=preprocess.workers or None,
        scheduler=preprocess.scheduler,
        shard_clips=preprocess.shard_clips,
    )
    examples = one_per_genre(tracks, genres)
    signals = {row.genre: load_audio(root / row.path, sr=cfg.sample_rate) for row in examples.itertuples()}
    fig = plots_training.logmel_grid({g: logmel(y, cfg=cfg) for g, y in signals.items()}, cfg=cfg)
    figures = {"logmel_examples": _figure(fig, root / paths.results, "logmel_examples")}
    return PreprocessResult(identity, cfg, manifest, split, genres, tracks, index, signals, figures)


def train(
    model: ModelParams,
    train: TrainParams,
    *,
    seed: int,
    data: DataParams,
    paths: PathsParams,
    root: Path,
    given: Mapping[str, Any],
) -> TrainResult:
    """Train stage: the CRNN trained on the feature store's train split, the epoch chosen on val; writes the model
    and its sidecar (paths.models), history.csv and figures/training_curves.png."""
    from genrecrnn.config.outputs import GENRES_FILE
    from genrecrnn.features.batches import steps_per_epoch
    from genrecrnn.features.store import open_feature_store
    from genrecrnn.model.classifier import save_classifier
    from genrecrnn.model.train import save_history, train_crnn
    from genrecrnn.report import plots_training

    identity = run_identity(given, dataset=root / paths.dataset)
    store = open_feature_store(root / paths.features)
    genres = json.loads((root / paths.dataset / GENRES_FILE).read_text())
    frames_per_split = store.index.groupby("split").size().rename("frames").to_frame()
    network, history = train_crnn(
        store,
        n_genres=len(genres),
        model=model,
        train=train,
        seed=seed,
        checkpoint_root=root / paths.checkpoints,
        data_id=identity["manifest_md5"],
    )
    model_path = root / paths.models / MODEL_FILE
    save_classifier(model_path, model=network, genres=genres, feature_config=store.config, data=data)
    results = root / paths.results
    save_history(history, results / HISTORY_FILE)
    figures = {"training_curves": _figure(plots_training.training_curves(history), results, "training_curves")}
    kept = int(history.loc[history["selected"], "epoch"].iloc[0]) + 1
    steps = steps_per_epoch(len(store.split("train")), batch_size=train.batch_size)
    train_seed = seed if train.seed is None else train.seed
    return TrainResult(
        identity, genres, frames_per_split, history, kept, steps, train_seed, model_path, results / HISTORY_FILE,
        figures,
    )  # fmt: skip


def validate(
    validate: ValidateParams, *, seed: int, paths: PathsParams, root: Path, given: Mapping[str, Any]
) -> ValidateResult:
    """Validate stage: the CRNN and both baselines scored on the same test clips (validate.n_boot bootstrap
    resamples); writes metrics.json, the tables, the probability files, the curves and six figures."""
    from genrecrnn.data.index import audio_files
    from genrecrnn.evaluation import explain
    from genrecrnn.evaluation.baseline import BASELINES, baseline_probabilities
    from genrecrnn.evaluation.scorecard import (
        baseline_table,
        frame_table,
        predict_split,
        score_tables,
        summary_table,
        write_curves,
        write_validation,
    )
    from genrecrnn.features.store import open_feature_store
    from genrecrnn.metrics.scores import per_genre_table
    from genrecrnn.metrics.tables import confusion
    from genrecrnn.model.classifier import load_classifier
    from genrecrnn.report import plots_evaluation

    results = root / paths.results
    store = open_feature_store(root / paths.features)
    classifier = load_classifier(root / paths.models / MODEL_FILE)
    identity = run_identity(given, dataset=root / paths.dataset, model_id=classifier.model_id)
    genres = classifier.genres
    test_index, probs = predict_split(classifier, store, "test")
    log.info("%d test frames from %d clips", len(test_index), test_index["track_id"].nunique())
    frames = frame_table(test_index, probs, genres=genres)
    audio = audio_files(root / paths.dataset, root=root)  # the rhythm/harmony baseline's chroma is read from the audio
    baselines = {
        name: baseline_table(
            *baseline_probabilities(store, n_genres=len(genres), seed=seed, name=name, audio=audio), genres=genres
        )
        for name in BASELINES
    }
    # Every number below comes from these tables, which are written as they are scored.
    metrics, comparisons, clips = score_tables(frames, baselines, genres=genres, n_boot=validate.n_boot, seed=seed)
    headline = write_validation(
        results, metrics=metrics, comparisons=comparisons, clips=clips, frames=frames, baselines=baselines,
        genres=genres, identifiers=identity,
    )  # fmt: skip
    cm = confusion(clips["label"], clips["predicted_label"], genres=genres)
    figures = {"confusion_matrix": _figure(plots_evaluation.confusion_heatmap(cm), results, "confusion_matrix")}
    per_genre = pd.read_csv(results / PER_GENRE_FILE)
    baseline_per_genre = {
        BASELINES[name]: per_genre_table(
            table["label"].to_numpy(), table[[f"p_{g}" for g in genres]].to_numpy(), genres=genres
        )
        for name, table in baselines.items()
    }
    figures["per_genre_f1"] = _figure(
        plots_evaluation.per_genre_f1(per_genre, baseline=baseline_per_genre), results, "per_genre_f1"
    )
    pr, roc = write_curves(results, clips, genres=genres)
    pr_fig = plots_evaluation.curves(pr, x="recall", y="precision", steps=True, title="Precision-recall per genre")
    figures["pr_curves"] = _figure(pr_fig, results, "pr_curves")
    figures["roc_curves"] = _figure(
        plots_evaluation.curves(roc, x="fpr", y="tpr", diagonal=True, title="ROC per genre"), results, "roc_curves"
    )
    labels, maps = explain.embedding_maps(classifier.model, store, "test")
    figures["embedding_map"] = _figure(plots_evaluation.embedding_maps(maps, labels, genres), results, "embedding_map")
    saliency = explain.band_saliency(classifier.model, store, "test", n_genres=len(genres), seed=seed)
    figures["saliency"] = _figure(
        plots_evaluation.saliency_grid(saliency, genres, cfg=store.config), results, "saliency"
    )
    return ValidateResult(
        identity, genres, len(test_index), headline, summary_table(metrics), clips, cm, per_genre, baseline_per_genre,
        figures,
    )  # fmt: skip


def predict(predict: PredictParams, *, paths: PathsParams, root: Path, given: Mapping[str, Any]) -> PredictResult:
    """Predict stage: classify predict.audio (default: the first test clip) in windows of predict.window_seconds s;
    writes prediction.json (the document `genrecrnn predict --json` writes, top predict.top_k genres)."""
    from genrecrnn.data.index import first_test_clip
    from genrecrnn.model.classifier import load_classifier
    from genrecrnn.predict.inference import PredictionRun
    from genrecrnn.util.fileio import atomic_write_json

    classifier = load_classifier(root / paths.models / MODEL_FILE)
    identity = run_identity(given, dataset=root / paths.dataset, model_id=classifier.model_id)
    audio = [root / p for p in predict.audio] or [root / first_test_clip(root / paths.dataset)]
    run = PredictionRun(
        audio, classifier, window_seconds=predict.window_seconds, window_hop_seconds=predict.window_hop_seconds
    )
    for _ in run:  # (path, result or None, error) file by file, as `genrecrnn predict` prints them
        pass
    table = pd.DataFrame(
        [
            {
                "file": Path(r["path"]).name,
                "genre": r["genre"],
                "probability": max(r["probabilities"].values()),
                "seconds": r["duration"],
                "windows": len(r["windows"]),
                "note": r["note"],
            }
            for r in run.results
        ]
    )
    # Paths inside the project are written relative to it.
    written = root / paths.results / PREDICTION_FILE
    atomic_write_json(written, run.report(top_k=predict.top_k, relative_to=root))
    return PredictResult(identity, run, classifier.genres, table, written)


def report(params: Params, *, root: Path) -> Path:
    """Report stage: the executed notebooks and the results gathered into <results>/report.html; returns its path."""
    from genrecrnn.pipeline.notebooks import executed_notebooks
    from genrecrnn.report.page import build_report

    results = root / params.paths.results
    return build_report(
        executed_notebooks(root, params),
        results / REPORT_FILE,
        results=results,
        dataset=root / params.paths.dataset,
        data=params.data,
        n_boot=params.validate.n_boot,
    )

"""The output contract: every file a stage writes under paths.dataset, paths.results and paths.models.

Each name is given once, relative to its folder, with what it holds and the stage that writes it. The stages,
the report, the CLI and the tests read the names from here; tests/test_dvc_stages.py checks that dvc.yaml
declares exactly these outs, stage by stage (:func:`stage_outputs`).
"""

from __future__ import annotations

# paths.dataset: the data stage's folder out (data.index writes and reads them).
MANIFEST_FILE = "manifest.csv"  # data: every file found, usable or not, with the reason
SPLIT_FILE = "split.csv"  # data: train/val/test of each usable track
GENRES_FILE = "genres.json"  # data: the genre names in label order

# paths.models: the train stage's folder out.
MODEL_FILE = "crnn.keras"  # train: the trained CRNN (Keras zip)
MODEL_SIDECAR = "crnn.json"  # train: its genres, feature settings, weights id and training data (classifier.py)

# paths.checkpoints/<run id>: the train stage's scratch folder (not a DVC out), kept for resuming.
CHECKPOINT_LOG = "history.csv"  # train: the per-epoch log (Keras's CSVLogger), read back on resuming

# paths.results
HISTORY_FILE = "history.csv"  # train: loss and accuracy per epoch run, the kept epoch marked `selected`
METRICS_FILE = "metrics.json"  # validate: headline numbers (scorecard.HEADLINE), run ids, environment
SUMMARY_FILE = "summary.csv"  # validate: every metric of each model and level (scorecard.SUMMARY_METRICS)
PER_GENRE_FILE = "per_genre.csv"  # validate: the CRNN's metrics per genre, clip level
CONFUSION_FILE = "confusion.csv"  # validate: (actual, predicted) genre of each test clip, DVC's confusion template
CLIPS_FILE = "predictions_test.csv"  # validate: CRNN, one row per clip (frame probabilities averaged), rounded
FRAMES_FILE = "predictions_test_frames.csv"  # validate: CRNN, one row per frame, exact probabilities
BASELINE_FILES = {  # validate: each baseline (baseline.BASELINES key), one row per clip, exact probabilities
    "baseline": "predictions_test_baseline.csv",
    "rhythm_harmony": "predictions_test_rhythm_harmony.csv",
}
PR_CURVES_FILE = "pr_curves.csv"  # validate: clip-level precision-recall curve of each genre and the micro average
ROC_CURVES_FILE = "roc_curves.csv"  # validate: clip-level ROC curve of each genre and the micro average
PR_MICRO_FILE = "pr_micro.csv"  # validate: PR_CURVES_FILE's micro-average rows (a DVC plot draws one line per file)
ROC_MICRO_FILE = "roc_micro.csv"  # validate: ROC_CURVES_FILE's micro-average rows
PREDICTION_FILE = "prediction.json"  # predict: top genres of each file classified (as `genrecrnn predict --json`)
REPORT_FILE = "report.html"  # report: the study as one self-contained page
FIGURE_DIR = "figures"  # each figure as <stem>.png and <stem>.svg (plots.save_figure)
EXECUTED_DIR = "notebooks"  # each notebook stage's executed notebook, <name>.ipynb (notebooks.run_notebook)

# Figure stem -> the stage that draws it (report.html.FIGURES captions each).
FIGURES = {
    "logmel_examples": "preprocess",  # log-mel spectrogram of one training clip per genre
    "training_curves": "train",  # loss and accuracy per epoch, the kept epoch marked
    "confusion_matrix": "validate",  # the CRNN's clip-level confusion matrix
    "per_genre_f1": "validate",  # F1 per genre, the CRNN beside the baselines
    "pr_curves": "validate",  # PR_CURVES_FILE drawn, one panel per genre
    "roc_curves": "validate",  # ROC_CURVES_FILE drawn, one panel per genre
    "embedding_map": "validate",  # test clips' CRNN embedding and MFCC statistics, PCA
    "saliency": "validate",  # gradient saliency per mel band and genre
}
FIGURE_SUFFIXES = (".png", ".svg")
# Stage -> the notebook it runs (`genrecrnn notebook NAME` in dvc.yaml).
NOTEBOOKS = {
    "preprocess": "01_preprocessing",
    "train": "02_training",
    "validate": "03_validation",
    "predict": "04_prediction",
}
# Stage -> what it writes under paths.results besides its figures and executed notebook.
RESULTS = {
    "train": (HISTORY_FILE,),
    "validate": (
        METRICS_FILE,
        SUMMARY_FILE,
        PER_GENRE_FILE,
        CONFUSION_FILE,
        CLIPS_FILE,
        FRAMES_FILE,
        *BASELINE_FILES.values(),
        PR_CURVES_FILE,
        ROC_CURVES_FILE,
        PR_MICRO_FILE,
        ROC_MICRO_FILE,
    ),
    "predict": (PREDICTION_FILE,),
    "report": (REPORT_FILE,),
}
MODELS = {"train": (MODEL_FILE, MODEL_SIDECAR)}  # stage -> what it writes under paths.models


def figure_file(stem: str) -> str:
    """The PNG of figure `stem` under paths.results: figures/<stem>.png (its SVG copy beside it)."""
    return f"{FIGURE_DIR}/{stem}.png"


def executed_notebook(name: str) -> str:
    """The executed copy of notebook `name` under paths.results: notebooks/<name>.ipynb."""
    return f"{EXECUTED_DIR}/{name}.ipynb"


def stage_outputs(stage: str) -> dict[str, list[str]]:
    """What `stage` writes: "results" / "models" (the paths.* key) -> file names under that folder."""
    results = list(RESULTS.get(stage, ()))
    stems = [stem for stem, drawn_by in FIGURES.items() if drawn_by == stage]
    results += [f"{FIGURE_DIR}/{stem}{suffix}" for stem in stems for suffix in FIGURE_SUFFIXES]
    results += [executed_notebook(NOTEBOOKS[stage])] if stage in NOTEBOOKS else []
    written = {"results": results, "models": list(MODELS.get(stage, ()))}
    return {key: names for key, names in written.items() if names}

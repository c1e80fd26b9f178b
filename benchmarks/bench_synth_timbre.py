"""How much of the synthetic genre can a timbre-only classifier hear? `data.timbre` shared vs genre, by difficulty.

For each timbre mode and difficulty, generates `--clips` clips of `--seconds` per genre (seeded as the
data stage does), computes the project baseline's clip features (`genrecrnn.evaluation.baseline.clip_statistics`:
MFCC mean and std, delta std, spectral centroid and level, from the log-mel frames) and prints the
5-fold stratified cross-validated accuracy of the baseline's classifier (standardise + logistic
regression). Chance is 1 / 10. No CRNN is trained here; `bench_recipe.py` measures both models.

    python benchmarks/bench_synth_timbre.py --clips 20 --seconds 10
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.model_selection import StratifiedKFold

from common import machine, table
from genrecrnn.config.sections import TIMBRES
from genrecrnn.data.synth import GTZAN_GENRES, clip_seed, synth_clip
from genrecrnn.evaluation.baseline import clip_statistics, fit_baseline
from genrecrnn.features.logmel import FeatureConfig, clip_frames


def timbre_only_accuracy(*, timbre: str, difficulty: float, clips: int, seconds: float, seed: int) -> float:
    """Mean 5-fold cross-validated accuracy of the baseline classifier on freshly generated clips."""
    cfg = FeatureConfig()
    features, labels = [], []
    for label, genre in enumerate(GTZAN_GENRES):
        for i in range(clips):
            y = synth_clip(genre, seed=clip_seed(seed, genre, i), seconds=seconds, difficulty=difficulty, timbre=timbre)
            features.append(clip_statistics(clip_frames(y, cfg=cfg), sr=cfg.sample_rate))
            labels.append(label)
    x, y = np.stack(features), np.array(labels)
    folds = StratifiedKFold(5, shuffle=True, random_state=seed).split(x, y)
    return float(np.mean([fit_baseline(x[tr], y[tr], seed=seed).score(x[te], y[te]) for tr, te in folds]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=20, help="clips per genre")
    parser.add_argument("--seconds", type=float, default=10.0, help="clip length, s")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--difficulties", type=float, nargs="+", default=[0.0, 0.5, 1.0])
    args = parser.parse_args()
    print(machine())
    rows = []
    for timbre in reversed(TIMBRES):  # genre first: the set before, then the default
        accuracies = [
            timbre_only_accuracy(timbre=timbre, difficulty=d, clips=args.clips, seconds=args.seconds, seed=args.seed)
            for d in args.difficulties
        ]
        rows.append([f"data.timbre: {timbre}", *accuracies])
    print(f"\ntimbre-only classifier, {args.clips} clips of {args.seconds:g} s per genre, 5-fold CV accuracy:")
    print(table(["", *[f"difficulty {d:g}" for d in args.difficulties]], rows))


if __name__ == "__main__":
    main()

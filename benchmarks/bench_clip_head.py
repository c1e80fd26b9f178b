"""A clip-level head on the trained CRNN, against averaging its frame probabilities: clip accuracy on val.

Trains the CRNN as `dvc repro` does (committed params.yaml: its synthetic set, or a genre-folder
collection given with --data), then describes each clip by the mean, standard deviation and maximum of
the `dense` layer over its frames (3 x 64 numbers) and fits a logistic regression on the training
clips, its C chosen by 5-fold cross-validation inside them. Prints the CRNN's clip accuracy (frame
probabilities averaged) and the head's on the val clips; the test clips only with --final.

    python benchmarks/bench_clip_head.py --data ../devset --seeds 1 2 3
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from bench_recipe import folder_overrides, prepare
from common import ROOT, machine

HEAD_C = (0.001, 0.01, 0.1, 1.0)


def clip_descriptions(model, store, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per clip of `split`: dense-layer mean/std/max (n, 192), averaged frame probabilities (n, genres), labels (n,)."""
    import keras

    # One forward pass gives both the embedding and the genre probabilities of every frame of the split.
    both = keras.Model(model.input, [model.get_layer("dense").output, model.output])
    rows = store.split(split).reset_index(drop=True)
    embeddings, probabilities = both.predict(np.asarray(store.frames[rows["row"].to_numpy()]), verbose=0)
    clips = rows.groupby("track_id", sort=True).indices.values()  # positions of each clip's frames
    described = [np.concatenate([f(embeddings[i], axis=0) for f in (np.mean, np.std, np.max)]) for i in clips]
    return (
        np.array(described),
        np.array([probabilities[i].mean(axis=0) for i in clips]),
        np.array([int(rows["label"].iloc[i[0]]) for i in clips]),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="a genre-folder collection (default: params.yaml's data)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[42])
    parser.add_argument("--work", type=Path, default=Path("/tmp/genrecrnn-bench-recipe"))
    parser.add_argument("--final", action="store_true", help="also score the test clips")
    args = parser.parse_args()

    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from genrecrnn.config.loading import load_params, with_overrides
    from genrecrnn.features.store import open_feature_store
    from genrecrnn.model.train import train_crnn

    print(machine())
    for seed in args.seeds:
        overrides = (folder_overrides(args.data, None) if args.data else {}) | {"seed": seed}
        params = with_overrides(load_params(ROOT / "params.yaml"), overrides)
        store = open_feature_store(prepare(args.work, params) / "features")
        model, _ = train_crnn(
            store, n_genres=len(params.genres), model=params.model, train=params.train, seed=params.seed, verbose=0
        )
        x_train, _, y_train = clip_descriptions(model, store, "train")
        folds = StratifiedKFold(5, shuffle=True, random_state=seed)

        def head(c: float):
            return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000))

        score, c = max((cross_val_score(head(c), x_train, y_train, cv=folds).mean(), c) for c in HEAD_C)
        fitted = head(c).fit(x_train, y_train)
        result = {"seed": seed, "C": c, "train_cv": round(float(score), 3)}
        for split in ("val", "test") if args.final else ("val",):
            x, probabilities, y = clip_descriptions(model, store, split)
            result[f"{split}_crnn"] = round(float(np.mean(probabilities.argmax(axis=1) == y)), 3)
            result[f"{split}_head"] = round(float(np.mean(fitted.predict(x) == y)), 3)
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()

"""Does the training recipe make the CRNN learn music rather than memorise clips? Clip accuracy, CRNN vs baseline.

Runs the study's own functions (data stage, feature store, train_crnn, the baseline, the paired
comparison) on a seeded synthetic set with timbre shared by all genres, for each recipe variant
given, and prints CRNN and baseline clip accuracy on the test clips with the paired test. A
variant is a set of params.yaml overrides, as `dvc exp run -S` takes them, applied to the
committed params.yaml. Data and features are cached per data setting under --work.

    python benchmarks/bench_recipe.py --clips 15 50 --seeds 42 --variants default no-augment
    python benchmarks/bench_recipe.py --clips 50 --variant "wide=model.filters=[32,64,64,128,128]"
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from common import ROOT, machine, table  # noqa: E402
from genrecrnn.config import Params  # noqa: E402

# One recipe part off at a time (the README's ablation table); each is a list of -S overrides.
ABLATIONS = {
    "default": [],
    "no-crop": ["train.augment.crop=false"],
    "no-key-shift": ["train.augment.key_shift=0"],
    "no-stretch": ["train.augment.stretch=0"],
    "no-gain-tilt": ["train.augment.gain_db=0", "train.augment.tilt_db=0"],
    "no-masks": ["train.augment.time_masks=0", "train.augment.freq_masks=0"],
    "no-mixup": ["train.augment.mixup=0"],
    "no-weight-decay": ["train.weight_decay=0"],
    "global-norm": ["train.input_norm=global"],
    "no-augment": [
        "train.augment.crop=false",
        "train.augment.key_shift=0",
        "train.augment.stretch=0",
        "train.augment.gain_db=0",
        "train.augment.tilt_db=0",
        "train.augment.time_masks=0",
        "train.augment.freq_masks=0",
        "train.augment.mixup=0",
    ],
}


def parse_override(text: str) -> tuple[str, object]:
    """`a.b=value` -> ("a.b", value parsed as a Python/YAML literal where it is one)."""
    key, _, raw = text.partition("=")
    lowered = {"true": True, "false": False}.get(raw.lower())
    if lowered is not None:
        return key, lowered
    try:
        return key, ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return key, raw


def prepare(work: Path, params: Params) -> Path:
    """Data stage + feature store for these params, cached by the data and feature settings."""
    from genrecrnn.dataset import prepare_dataset, read_dataset_index, tracks_with_split
    from genrecrnn.features import feature_config
    from genrecrnn.store import write_feature_store
    from genrecrnn.train import run_id

    key = run_id(params.seed, params.sample_rate, params.data, params.features)
    folder = work / key
    if (folder / "features" / "meta.json").is_file():
        return folder
    prepare_dataset(
        params.data, out_dir=folder / "dataset", genres=params.genres, sample_rate=params.sample_rate,
        seed=params.seed, progress=False,
    )  # fmt: skip
    manifest, split, _ = read_dataset_index(folder / "dataset")
    tracks = tracks_with_split(manifest, split)
    tracks = tracks.assign(
        path=[str(folder / "dataset" / p) if not Path(p).is_absolute() else p for p in tracks["path"]]
    )
    write_feature_store(
        folder / "features", tracks, cfg=feature_config(params.features, params.sample_rate), progress=False
    )
    return folder


def run(params: Params, folder: Path) -> dict:
    """Train with `params`, score CRNN and baseline on the test clips; return the figures."""
    import numpy as np

    from genrecrnn.baseline import baseline_probabilities
    from genrecrnn.evaluation import clip_probabilities
    from genrecrnn.model import predict_frames
    from genrecrnn.significance import paired_comparison
    from genrecrnn.store import open_feature_store
    from genrecrnn.train import train_crnn

    store = open_feature_store(folder / "features")
    n_genres = len(params.genres)
    start = time.perf_counter()
    model, history = train_crnn(
        store, n_genres=n_genres, model=params.model, train=params.train, seed=params.seed, verbose=0,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    test = store.split("test")
    probs = predict_frames(model, np.asarray(store.frames[test["row"].to_numpy()]))
    clip_p, ids, clip_y = clip_probabilities(probs, test["track_id"].to_numpy(), test["label"].to_numpy())
    base_table, base_p = baseline_probabilities(store, n_genres=n_genres, seed=params.seed)
    order = {t: i for i, t in enumerate(base_table["track_id"])}
    base_pred = base_p.argmax(axis=1)[[order[t] for t in ids]]
    crnn_pred = clip_p.argmax(axis=1)
    paired = paired_comparison(clip_y, crnn_pred, base_pred, n_boot=2000, seed=params.seed)
    chosen = history.loc[history["selected"]].iloc[0]
    return {
        "crnn": float(np.mean(crnn_pred == clip_y)),
        "baseline": float(np.mean(base_pred == clip_y)),
        "diff": paired["accuracy_diff"],
        "p": paired["mcnemar_p"],
        "epoch": int(chosen["epoch"]) + 1,
        "epochs": len(history),
        "train_acc": float(chosen["accuracy"]),
        "val_clip": float(chosen["val_clip_accuracy"]),
        "s_per_epoch": seconds / len(history),
        "n_test": len(clip_y),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, nargs="+", default=[15, 50], help="data.clips_per_genre values")
    parser.add_argument("--seeds", type=int, nargs="+", default=[42])
    parser.add_argument("--difficulty", type=float, default=None, help="data.difficulty (default: params.yaml)")
    parser.add_argument("--variants", nargs="*", default=["default", "no-augment"], help=f"of {list(ABLATIONS)}")
    parser.add_argument("--variant", action="append", default=[], help="NAME=key=value[,key=value...] (custom)")
    parser.add_argument("--set", action="append", default=[], help="key=value applied to every variant")
    parser.add_argument("--work", type=Path, default=Path("/tmp/genrecrnn-bench-recipe"))
    parser.add_argument("--json", type=Path, help="append one JSON line per run here")
    args = parser.parse_args()

    from genrecrnn.config import load_params, with_overrides

    variants = {name: ABLATIONS[name] for name in args.variants}
    for spec in args.variant:
        name, _, rest = spec.partition("=")
        variants[name] = rest.split(";")
    print(machine())
    rows = []
    for clips in args.clips:
        for seed in args.seeds:
            for name, overrides in variants.items():
                base = dict(parse_override(o) for o in args.set) | {"seed": seed, "data.clips_per_genre": clips}
                if args.difficulty is not None:
                    base["data.difficulty"] = args.difficulty
                params = with_overrides(
                    load_params(ROOT / "params.yaml"), base | dict(parse_override(o) for o in overrides)
                )
                result = run(params, prepare(args.work, params))
                row = [clips, seed, name, result["crnn"], result["baseline"], result["diff"], result["p"],
                       f"{result['epoch']}/{result['epochs']}", result["train_acc"], result["val_clip"],
                       result["s_per_epoch"]]  # fmt: skip
                rows.append(row)
                print(table(HEADER, [row]).splitlines()[-1], flush=True)
                if args.json:
                    with args.json.open("a") as f:
                        f.write(json.dumps({"clips": clips, "seed": seed, "variant": name, **result}) + "\n")
    print()
    print(table(HEADER, rows))


HEADER = ["clips/genre", "seed", "variant", "CRNN clip acc", "baseline", "diff", "McNemar p", "epoch chosen",
          "train acc", "val clip acc", "s/epoch"]  # fmt: skip

if __name__ == "__main__":
    main()

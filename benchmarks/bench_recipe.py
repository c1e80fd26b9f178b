"""Does the training recipe make the CRNN learn music rather than memorise clips? Clip accuracy, CRNN vs baseline.

Runs the study's own functions (the data and preprocess stages, train_crnn, the baseline, the paired
comparison) on a seeded synthetic set with timbre shared by all genres, or on any genre-folder
collection (`--data`, optional `--group-file`, `--per-class` for learning-curve subsets), for each
recipe variant given. A variant is a set of params.yaml overrides, as `dvc exp run -S` takes them,
applied to the committed params.yaml. Data and features are cached per data setting under --work.

Variants are compared on the validation clips only (CRNN and baseline clip accuracy, the epoch the
CRNN kept and its training accuracy there); the test clips are scored only with `--final`, for the
one recipe chosen on validation, so no choice is made on the test split.

    python benchmarks/bench_recipe.py --clips 15 50 --seeds 42 --variants default no-augment
    python benchmarks/bench_recipe.py --data ../devset --seeds 1 2 3 --variants default
    python benchmarks/bench_recipe.py --data ../devset --seeds 1 2 3 --variants default --final
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from common import ROOT, machine, table  # noqa: E402
from genrecrnn.config.sections import Params  # noqa: E402

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
    """The data and preprocess stages (genrecrnn.pipeline.stages) into a folder of `work`, cached by the data and
    feature settings: <folder>/dataset, <folder>/features, and the stage's figure under <folder>/results."""
    from genrecrnn.config.loading import with_overrides
    from genrecrnn.model.train import run_id
    from genrecrnn.pipeline import stages

    key = run_id(params.seed, params.sample_rate, params.data, params.features)
    folder = work / key
    if (folder / "features" / "meta.json").is_file():
        return folder
    inside = {f"paths.{name}": str(folder / name) for name in ("dataset", "features", "results")}
    staged = with_overrides(params, inside)
    stages.data(staged, root=folder)
    stages.preprocess(
        staged.features, staged.preprocess, sample_rate=staged.sample_rate, paths=staged.paths, root=folder, given={}
    )
    return folder


def shifted_probabilities(model, store, rows) -> np.ndarray:
    """CRNN probabilities per clip of `rows` (frame index rows) averaged over the grid's frames and the frames
    half a frame later (test-time averaging over shifted windows), in clip_table's clip order."""
    from genrecrnn.features.logmel import shifted_frames
    from genrecrnn.model.crnn import predict_frames

    out = []
    for _, part in rows.groupby("track_id", sort=False):
        grid = np.asarray(store.frames[part.sort_values("frame_index")["row"].to_numpy()])
        both = np.concatenate([grid, shifted_frames(grid, offset=grid.shape[1] // 2)])
        out.append(predict_frames(model, both).mean(axis=0))
    return np.stack(out)


def split_scores(model, store, params: Params, split: str, audio: dict) -> tuple[dict, dict]:
    """CRNN (also with shifted windows) and both baselines' clip accuracy on one split's clips, with paired tests
    (keys prefixed by split); and the clip labels and probabilities, for the fusion row."""
    from genrecrnn.evaluation.baseline import BASELINES, baseline_probabilities
    from genrecrnn.evaluation.scorecard import align_with_baseline, clip_table
    from genrecrnn.metrics.significance import paired_comparison
    from genrecrnn.model.crnn import predict_frames

    rows = store.split(split).reset_index(drop=True)
    probs = predict_frames(model, np.asarray(store.frames[rows["row"].to_numpy()]))
    clips = clip_table(rows, probs, genres=params.genres)
    columns = [f"p_{g}" for g in params.genres]
    labels = clips["label"].to_numpy()
    out = {f"{split}_crnn": float(np.mean(clips["predicted_label"] == labels)), f"n_{split}": len(clips)}
    shifted = store.config.hop_columns == store.config.frame_columns  # shifted windows need joined frames
    if shifted:
        tta = shifted_probabilities(model, store, rows.set_index("track_id").loc[clips["track_id"]].reset_index())
        out[f"{split}_crnn_tta"] = float(np.mean(tta.argmax(axis=1) == labels))
    kept = {"labels": labels, "crnn": clips[columns].to_numpy()}
    for name in BASELINES:
        table, base_p = baseline_probabilities(
            store, n_genres=len(params.genres), seed=params.seed, split=split, name=name, audio=audio
        )
        clip_y, crnn_pred, base_pred = align_with_baseline(clips, table, base_p)
        paired = paired_comparison(clip_y, crnn_pred, base_pred, n_boot=2000, seed=params.seed)
        out |= {
            f"{split}_{name}": float(np.mean(base_pred == clip_y)),
            f"{split}_diff_{name}": paired["accuracy_diff"],
            f"{split}_p_{name}": paired["mcnemar_p"],
        }
        kept[name] = base_p[table["track_id"].reset_index(drop=True).pipe(pd.Index).get_indexer(clips["track_id"])]
    return out, kept


def fusion_scores(val: dict, test: dict | None, *, baseline: str = "rhythm_harmony") -> dict:
    """The fusion row: CRNN and `baseline` clip probabilities fused with a weight fitted on val; test if given."""
    from genrecrnn.metrics.combine import fit_fusion_weight, fuse

    weight = fit_fusion_weight(val["crnn"], val[baseline], val["labels"])
    out = {"fusion_weight": weight}
    for split, kept in (("val", val), ("test", test)):
        if kept is not None:
            fused = fuse(kept["crnn"], kept[baseline], weight=weight)
            out[f"{split}_fusion"] = float(np.mean(fused.argmax(axis=1) == kept["labels"]))
    return out


def run(params: Params, folder: Path, *, final: bool) -> dict:
    """Train with `params`; score CRNN and baseline on the val clips, and on the test clips only if `final`."""
    from genrecrnn.data.index import audio_files
    from genrecrnn.features.store import open_feature_store
    from genrecrnn.model.train import train_crnn

    store = open_feature_store(folder / "features")
    audio = audio_files(folder / "dataset", root=ROOT)
    start = time.perf_counter()
    model, history = train_crnn(
        store, n_genres=len(params.genres), model=params.model, train=params.train, seed=params.seed, verbose=0,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    chosen = history.loc[history["selected"]].iloc[0]
    val_scores, val_kept = split_scores(model, store, params, "val", audio)
    test_scores, test_kept = split_scores(model, store, params, "test", audio) if final else ({}, None)
    result = {
        **val_scores,
        "epoch": int(chosen["epoch"]) + 1,
        "epochs": len(history),
        "train_acc": float(chosen["accuracy"]),
        "val_curve": [round(float(v), 3) for v in history["val_clip_accuracy"]],
        "train_curve": [round(float(v), 3) for v in history["accuracy"]],
        "s_per_epoch": seconds / len(history),
    }
    return result | test_scores | fusion_scores(val_kept, test_kept)


def folder_overrides(root: Path, group_file: Path | None) -> dict:
    """params.yaml overrides for a genre-folder collection: source folder, its root, genres = sorted subfolders."""
    genres = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    return {"data.source": "folder", "data.root": str(root.resolve()), "genres": genres} | (
        {"data.group_file": str(group_file.resolve())} if group_file else {}
    )


def subset(root: Path, per_class: int, work: Path, seed: int) -> Path:
    """A folder of symlinks to `per_class` seeded-random files of each genre of `root` (a learning-curve point)."""
    import numpy as np

    out = work / f"subset-{root.name}-{per_class}-{seed}"
    if out.is_dir():
        return out
    tmp = out.with_name(out.name + ".tmp")
    for genre in sorted(p for p in root.iterdir() if p.is_dir()):
        files = sorted(f for f in genre.iterdir() if f.is_file())
        pick = np.random.default_rng(seed).permutation(len(files))[:per_class]
        (tmp / genre.name).mkdir(parents=True, exist_ok=True)
        for i in sorted(pick):
            (tmp / genre.name / files[i].name).symlink_to(files[i].resolve())
    tmp.rename(out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, nargs="+", default=[15, 50], help="data.clips_per_genre (synthetic)")
    parser.add_argument("--data", type=Path, help="a genre-folder collection (data.source folder) instead")
    parser.add_argument("--group-file", type=Path, help="data.group_file (file,group CSV) for --data")
    parser.add_argument("--per-class", type=int, nargs="+", help="with --data: seeded subsets of N files per genre")
    parser.add_argument("--seeds", type=int, nargs="+", default=[42])
    parser.add_argument("--difficulty", type=float, default=None, help="data.difficulty (default: params.yaml)")
    parser.add_argument("--variants", nargs="*", default=["default", "no-augment"], help=f"of {list(ABLATIONS)}")
    parser.add_argument("--variant", action="append", default=[], help="NAME=key=value[;key=value...] (custom)")
    parser.add_argument("--set", action="append", default=[], help="key=value applied to every variant")
    parser.add_argument("--final", action="store_true", help="also score the test split (the chosen recipe only)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/genrecrnn-bench-recipe"))
    parser.add_argument("--json", type=Path, help="append one JSON line per run here")
    args = parser.parse_args()

    from genrecrnn.config.loading import load_params, with_overrides

    variants = {name: ABLATIONS[name] for name in args.variants}
    for spec in args.variant:
        name, _, rest = spec.partition("=")
        variants[name] = rest.split(";")
    print(machine())
    sizes = args.per_class or [None] if args.data else args.clips
    header = HEADER + (TEST_HEADER if args.final else [])
    rows = []
    for size in sizes:
        for seed in args.seeds:
            if args.data:
                root = subset(args.data, size, args.work, seed) if size else args.data
                base = folder_overrides(root, args.group_file)
            else:
                base = {"data.clips_per_genre": size}
            base |= dict(parse_override(o) for o in args.set) | {"seed": seed}
            if args.difficulty is not None:
                base["data.difficulty"] = args.difficulty
            for name, overrides in variants.items():
                params = with_overrides(
                    load_params(ROOT / "params.yaml"), base | dict(parse_override(o) for o in overrides)
                )
                result = run(params, prepare(args.work, params), final=args.final)
                row = [size or "all", seed, name, result["val_crnn"], result.get("val_crnn_tta", "-"),
                       result["val_baseline"], result["val_rhythm_harmony"], result["val_fusion"],
                       result["fusion_weight"], f"{result['epoch']}/{result['epochs']}", result["train_acc"],
                       result["s_per_epoch"]]  # fmt: skip
                if args.final:
                    row += [result["test_crnn"], result.get("test_crnn_tta", "-")]
                    row += [result[f"test{k}_{b}"] for b in BASES for k in ("", "_diff", "_p")]
                    row += [result["test_fusion"]]
                rows.append(row)
                print(table(header, [row]).splitlines()[-1], flush=True)
                if args.json:
                    with args.json.open("a") as f:
                        f.write(json.dumps({"size": size, "seed": seed, "variant": name, **result}) + "\n")
    print()
    print(table(header, rows))


BASES = ("baseline", "rhythm_harmony")  # genrecrnn.evaluation.baseline.BASELINES
# "shifted": the CRNN's clip probabilities averaged over the grid's frames and frames half a frame later;
# "fusion": CRNN and rhythm/harmony baseline probabilities fused with the weight (CRNN share) fitted on val.
HEADER = ["clips/genre", "seed", "variant", "val CRNN", "val shifted", "val MFCC", "val rhythm/harmony",
          "val fusion", "fusion weight", "epoch kept", "train acc there", "s/epoch"]  # fmt: skip
TEST_HEADER = ["test CRNN", "test shifted", "test MFCC", "diff", "McNemar p", "test rhythm/harmony", "diff",
               "McNemar p", "test fusion"]  # fmt: skip

if __name__ == "__main__":
    main()

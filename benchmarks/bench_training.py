"""Training speed: wall time of one CRNN epoch on GTZAN-size features (default 7000 frames of 129 x 128).

Measures seconds per epoch for
- candidate: the project's pipeline: genrecrnn.features.batches.FrameBatches reading batches from an
  np.memmap, genrecrnn.model.crnn.build_crnn (blocks conv -> pool -> batch norm -> ReLU, mel pooling
  (4, 2, 2, 2, 2)) compiled with Adam, cross-entropy and op determinism (`--lever augment` adds
  train_crnn's batch augmentation from params.yaml);
- reference: the plain way: the seed's five conv / five pool / LSTM / two dense CRNN built the
  obvious way (plain_crnn: conv -> batch norm -> ReLU -> pool, mel pooling (2, 2, 2, 4, 4)), fed
  with model.fit(X, y, batch_size=32, shuffle=True) from one in-memory array read from the file.
Features are random dB values written with np.memmap, labels random (so validation accuracy is
not measured here). Each variant runs in a fresh process, variants interleaved `--repeats`
times; epoch 1 (which includes graph tracing) is reported apart from the later, steady epochs,
whose median is the s/epoch figure. Also: time from start (data opened, model built) to the end of
the first batch, peak RSS and peak anonymous RSS (memory-mapped file pages excluded).
`--frames` runs fewer frames; s/epoch is then also scaled to 7000 frames (linear in steps).

Also printed: the CPU (model, the SIMD level oneDNN may use, honouring ONEDNN_MAX_CPU_ISA), the
achieved FLOP rate of each variant as a share of the machine's FP32 peak (see `fp32_peak`; the
training FLOPs per frame are 3x the forward pass's multiply-adds x 2, counted from the layers), and,
with `--lever augment`, the share of step time spent waiting for batches: the augmented loader's
epoch time against the same Keras fit over batches made beforehand and held in memory. `--load`
repeats that pair while a competing process keeps one core busy, and times the loader's work on a
batch meanwhile (reading it and drawing its augmentation plan; the augmentation itself, key shift
included, runs in the training graph: `genrecrnn.model.train.AugmentedTraining`). To imitate an
AVX2-only CPU on an AVX-512 one, run with ONEDNN_MAX_CPU_ISA=AVX2 and
NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL AVX512_SPR".

    python benchmarks/bench_training.py --frames 2000 --repeats 3 --lever augment --load
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from common import in_fresh_process, machine, peak_rss_mb, status_mb, table
from genrecrnn.util.threads import LOADER_THREADS

GTZAN_FRAMES = 7000  # about 700 training clips x 10 frames of 3 s
FRAME_SHAPE = (129, 128)
N_GENRES = 10
BATCH_SIZE = 32
PLAIN_MEL_POOLS = (2, 2, 2, 4, 4)
TARGET_RATIO = 2.0
LEVERS = {  # possible changes to train.py/model.py, measured as extra candidate variants
    "threads1": "tf.config.threading intra_op=1, inter_op=1",
    "nodeterminism": "no tf.config.experimental.enable_op_determinism()",
    "augment": "train.augment of params.yaml on every batch (2 loader threads, as train_crnn)",
}
IN_MEMORY = "@memory"  # suffix: the same batches made beforehand, so the loader's cost drops out
UNDER_LOAD = "|load"  # suffix: run while a competing process keeps one core busy


def cpu_flags() -> set[str]:
    """The CPU's feature flags from /proc/cpuinfo (empty off Linux)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    line = next((ln for ln in text.splitlines() if ln.startswith("flags")), "")
    return set(line.partition(":")[2].split())


def cpu_isa() -> str:
    """The widest vector ISA oneDNN may use here: AVX-512, AVX2 or AVX, capped by ONEDNN_MAX_CPU_ISA if set."""
    flags = cpu_flags()
    isa = "AVX-512" if "avx512f" in flags else "AVX2" if {"avx2", "fma"} <= flags else "AVX"
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA", "").upper()
    if cap.startswith("AVX2") and isa == "AVX-512":
        isa = "AVX2"
    return isa


def fp32_peak() -> tuple[float, str]:
    """(FP32 GFLOP/s peak of the cores this process may use, how it was computed).

    cores x FLOP per cycle x clock: two FMA pipes per core of 8 float32 lanes (AVX2) or 16 (AVX-512 on
    Intel) = 32 or 64 FLOP/cycle; AMD Zen 2-4 have two 256-bit FMA pipes and split AVX-512 ops in two, so 32
    there even with AVX-512. The clock is /proc/cpuinfo's "cpu MHz" (a VM reports its nominal clock).
    """
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    mhz = [float(ln.partition(":")[2]) for ln in text.splitlines() if ln.startswith("cpu MHz")]
    ghz = (statistics.median(mhz) if mhz else 2000.0) / 1000
    amd = "AuthenticAMD" in text
    isa = cpu_isa()
    per_cycle = {"AVX-512": 32 if amd else 64, "AVX2": 32, "AVX": 16}[isa]
    cores = len(os.sched_getaffinity(0))
    how = f"{cores} cores x {per_cycle} FLOP/cycle ({isa}{', AMD' if amd else ''}) x {ghz:.2f} GHz"
    return cores * per_cycle * ghz, how


def cpu_line() -> str:
    """The CPU model, its widest SIMD flags and what oneDNN and numpy are allowed to use."""
    from genrecrnn.data.provenance import cpu_model

    model, flags = cpu_model(), cpu_flags()
    has = "/".join(f for f in ("avx512f", "avx2", "fma") if f in flags) or "no avx2"
    capped = ("ONEDNN_MAX_CPU_ISA", "NPY_DISABLE_CPU_FEATURES")
    caps = ", ".join(f"{v}={os.environ[v]}" for v in capped if v in os.environ)
    return f"CPU: {model} ({has}); oneDNN uses {cpu_isa()}" + (f"; {caps}" if caps else "")


def training_flops_per_frame(model) -> float:
    """FLOPs of one training frame: 3 x (2 x the forward multiply-adds of conv, LSTM and dense layers)."""
    macs = 0
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "Conv2D":
            _, h, w, c_out = layer.output.shape
            kh, kw = layer.kernel_size
            macs += h * w * c_out * kh * kw * layer.input.shape[-1]
        elif kind == "LSTM":
            _, steps, n_in = layer.input.shape
            macs += steps * 4 * layer.units * (n_in + layer.units)
        elif kind == "Dense":
            macs += layer.input.shape[-1] * layer.units
    return 3 * 2 * macs


def lever_of(variant: str) -> str:
    """The lever of a variant name such as "candidate+augment@memory|load" ("augment"; "" for none)."""
    return variant.partition("+")[2].partition("@")[0].partition("|")[0]


def _burn(seconds: float) -> None:
    """A competing load: one busy core of elementwise numpy work (no BLAS threads)."""
    x = np.random.default_rng(0).standard_normal(1 << 16)
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        x = np.sin(x) + 0.5


def time_loader(stop, times: list[float], batches) -> None:
    """Until `stop` is set: time the loader's work on one batch (`batches[i]`: read + plan), in ms, every 50 ms."""
    i = 0
    while not stop.wait(0.05):
        t = time.perf_counter()
        batches[i % len(batches)]
        times.append(1000 * (time.perf_counter() - t))
        i += 1


def write_features(folder: Path, n: int, *, seed: int = 0, chunk: int = 500) -> None:
    """Random log-mel-like frames (dB, float32, written through a memmap) in frames.npy, random labels in labels.npy."""
    rng = np.random.default_rng(seed)
    frames = np.lib.format.open_memmap(folder / "frames.npy", mode="w+", dtype=np.float32, shape=(n, *FRAME_SHAPE))
    for i in range(0, n, chunk):
        block = rng.standard_normal((min(chunk, n - i), *FRAME_SHAPE), dtype=np.float32)
        frames[i : i + chunk] = block * 12.0 - 45.0
    frames.flush()
    np.save(folder / "labels.npy", rng.integers(0, N_GENRES, n))


def plain_crnn(keras, *, mean: float, std: float):
    """The reference: the seed's CRNN built the obvious way, each block conv -> batch norm -> ReLU -> pool,
    with the mel axis pooled late (2, 2, 2, 4, 4); same filters, LSTM and dense sizes as build_crnn's defaults."""
    from keras import layers

    inputs = keras.Input(shape=FRAME_SHAPE)
    x = layers.Reshape((*FRAME_SHAPE, 1))(inputs)
    x = layers.Normalization(mean=mean, variance=std**2)(x)
    for n_filters, pool in zip((16, 32, 64, 64, 64), zip((2, 2, 2, 2, 1), PLAIN_MEL_POOLS)):
        x = layers.Conv2D(n_filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        x = layers.MaxPooling2D(pool)(x)
    x = layers.Reshape((x.shape[1], x.shape[2] * x.shape[3]))(x)
    x = layers.LSTM(64)(x)
    x = layers.Dense(64, activation="relu")(x)
    x = layers.Dropout(0.3)(x)
    return keras.Model(inputs, layers.Dense(N_GENRES, activation="softmax")(x))


def run_variant(variant: str, folder: str, epochs: int, seed: int = 0) -> dict:
    """In a fresh process: train `variant` for `epochs`; epoch times, first-batch time, peak memory."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    from genrecrnn.features.batches import FrameBatches
    from genrecrnn.model import crnn as model_module
    from genrecrnn.model.train import input_statistics, set_determinism, training_model

    lever = lever_of(variant)
    from genrecrnn.util.threads import configure_tensorflow, reuse_freed_memory, single_threaded_blas

    if lever != "threads1" and variant.startswith("candidate"):
        configure_tensorflow()  # as train_crnn
        reuse_freed_memory()
    if lever == "threads1":
        tf.config.threading.set_inter_op_parallelism_threads(1)
        tf.config.threading.set_intra_op_parallelism_threads(1)

    class Clock(keras.callbacks.Callback):
        """Epoch wall times, time to the end of the first batch, peak anonymous RSS (sampled per batch)."""

        def __init__(self, start: float) -> None:
            super().__init__()
            self.start, self.first_batch, self.epochs, self.anon = start, None, [], status_mb("RssAnon") or 0.0

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.epoch_start = time.perf_counter()

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            if self.first_batch is None:
                self.first_batch = time.perf_counter() - self.start
            self.anon = max(self.anon, status_mb("RssAnon") or 0.0)

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            self.epochs.append(time.perf_counter() - self.epoch_start)

    start = time.perf_counter()
    frames = np.load(Path(folder) / "frames.npy", mmap_mode="r")
    labels = np.load(Path(folder) / "labels.npy")
    if variant.startswith("candidate"):
        (keras.utils.set_random_seed if lever == "nodeterminism" else set_determinism)(seed)
        rows = np.arange(len(frames))
        mean, std = input_statistics(frames, rows, seed=seed)
        model = model_module.build_crnn(
            time_steps=FRAME_SHAPE[0], n_mels=FRAME_SHAPE[1], n_genres=N_GENRES, input_mean=mean, input_std=std
        )
        augment = {}
        if lever == "augment":
            from genrecrnn.config.loading import load_params
            from genrecrnn.features.logmel import FeatureConfig

            clip_end = (rows + 1) % 10 == 0  # the random frames stand for clips of 10 frames of 3 s
            augment = {
                "augment": load_params(Path(__file__).parents[1] / "params.yaml").train.augment,
                "next_rows": np.where(clip_end, rows, rows + 1),
                "feature_config": FeatureConfig(),  # the framing FRAME_SHAPE stands for
                "workers": LOADER_THREADS,  # as train_crnn
            }
        batches = FrameBatches(
            frames, rows, labels, n_classes=N_GENRES, batch_size=BATCH_SIZE, shuffle=True, seed=seed, **augment
        )
        data = {"x": batches}
        if IN_MEMORY in variant:
            data = {"x": in_memory_batches(keras, [batches[i] for i in range(len(batches))])}
        fitted = training_model(model, batches)  # applies augmentation plans in its graph, as train_crnn
    else:
        keras.utils.set_random_seed(seed)
        x = np.array(frames)  # the whole set in memory
        model = plain_crnn(keras, mean=float(x.mean()), std=float(x.std()))
        data = {"x": x, "y": labels, "batch_size": BATCH_SIZE, "shuffle": True}
        fitted = model
    one_hot = variant.startswith("candidate")  # FrameBatches yields one-hot labels (mixup needs them)
    fitted.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="categorical_crossentropy" if one_hot else "sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    clock = Clock(start)
    stop, loader_times = threading.Event(), []
    if UNDER_LOAD in variant and variant.startswith("candidate"):  # time the loader's work while the model trains
        threading.Thread(target=time_loader, args=(stop, loader_times, batches), daemon=True).start()
    with single_threaded_blas():
        fitted.fit(**data, epochs=epochs, verbose=0, callbacks=[clock])
    stop.set()
    return {
        "epochs": clock.epochs, "first_batch": clock.first_batch, "rss": peak_rss_mb()[0], "anon": clock.anon,
        "flops": training_flops_per_frame(model),
        "loader_ms": statistics.median(loader_times) if loader_times else None,
    }  # fmt: skip


def in_memory_batches(keras, batches: list):
    """A PyDataset over batches held in memory: Keras's fit machinery without reading or augmenting."""

    class InMemory(keras.utils.PyDataset):
        def __init__(self) -> None:
            super().__init__(workers=LOADER_THREADS)  # as FrameBatches with augmentation

        def __len__(self) -> int:
            return len(batches)

        def __getitem__(self, i: int):
            return batches[i]

    return InMemory()


def run_measured(variant: str, folder: str, epochs: int) -> dict:
    """run_variant in a fresh process, beside a competing one-core load if the variant says so."""
    burner = None
    if UNDER_LOAD in variant:
        burner = multiprocessing.get_context("spawn").Process(target=_burn, args=(3600,), daemon=True)
        burner.start()
    try:
        return in_fresh_process(run_variant, variant, folder, epochs)
    finally:
        if burner is not None:
            burner.terminate()
            burner.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=GTZAN_FRAMES, help=f"training frames (default {GTZAN_FRAMES})")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per run, the first one apart (default 3)")
    parser.add_argument("--repeats", type=int, default=2, help="interleaved fresh-process runs per variant")
    parser.add_argument(
        "--lever", action="append", default=[], choices=sorted(LEVERS), help="also time the candidate with this change"
    )
    parser.add_argument("--load", action="store_true", help="also run the augmented pair beside a one-core load")
    args = parser.parse_args()
    if args.epochs < 2:
        parser.error("--epochs must be >= 2: the first epoch includes graph tracing")
    variants = ["candidate", "reference", *[f"candidate+{lever}" for lever in args.lever]]
    if "augment" in args.lever:
        variants.append(f"candidate+augment{IN_MEMORY}")
        if args.load:
            variants += [f"candidate+augment{UNDER_LOAD}", f"candidate+augment{IN_MEMORY}{UNDER_LOAD}"]
    folder = Path(tempfile.mkdtemp(prefix="bench_train_"))
    try:
        write_features(folder, args.frames)
        runs: dict[str, list[dict]] = {v: [] for v in variants}
        for _ in range(args.repeats):
            for v in variants:
                runs[v].append(run_measured(v, str(folder), args.epochs))
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    scale = GTZAN_FRAMES / args.frames
    steady = {v: statistics.median(t for r in rs for t in r["epochs"][1:]) for v, rs in runs.items()}
    names = {
        "candidate": "candidate: FrameBatches, pools (4,2,2,2,2)",
        "reference": "reference: fit(X), pools (2,2,2,4,4)",
    }
    peak, how = fp32_peak()
    rows = []
    for v, rs in runs.items():
        name = names.get(v, f"{v}: {LEVERS.get(lever_of(v), '')}")
        name += " (batches made beforehand, in memory)" if IN_MEMORY in v else ""
        name += " (beside a one-core load)" if UNDER_LOAD in v else ""
        gflops = rs[0]["flops"] * args.frames / steady[v] / 1e9
        rows.append(
            [
                name,
                steady[v],
                steady[v] * scale,
                args.frames / steady[v],
                gflops,
                f"{100 * gflops / peak:.0f}%",
                statistics.median(r["epochs"][0] for r in rs),
                statistics.median(r["first_batch"] for r in rs),
                max(r["rss"] for r in rs),
                max(r["anon"] for r in rs),
            ]
        )
    print(
        f"\ntraining: {args.frames} frames of {FRAME_SHAPE}, batch {BATCH_SIZE}, {args.epochs} epochs per run, "
        f"{args.repeats} fresh-process runs per variant (medians; steady = epochs 2..{args.epochs})"
    )
    header = ["variant", "s/epoch", f"s/epoch @{GTZAN_FRAMES}", "frames/s", "GFLOP/s", "of peak", "epoch 1 s",
              "first batch s", "RSS MB", "anon MB"]  # fmt: skip
    print(table(header, rows))
    flops = {v: runs[v][0]["flops"] / 1e6 for v in ("candidate", "reference")}
    print(f"{cpu_line()}\nFP32 peak {peak:.0f} GFLOP/s = {how}; training FLOPs per frame "
          f"{flops['candidate']:.0f} M (candidate), {flops['reference']:.0f} M (reference)")  # fmt: skip
    for suffix, label in (("", "alone"), (UNDER_LOAD, "beside a one-core load")):
        loader, memory = f"candidate+augment{suffix}", f"candidate+augment{IN_MEMORY}{suffix}"
        if loader in steady and memory in steady:
            wait = 1 - steady[memory] / steady[loader]  # below 0: no wait measurable above the noise
            print(
                f"batch wait {label}: {100 * wait:.1f}% of step time (augmented loader {steady[loader]:.2f} "
                f"s/epoch vs the same fit on batches in memory {steady[memory]:.2f} s/epoch; target <= 5%)"
            )
    under_load = [r["loader_ms"] for v, rs in runs.items() for r in rs if r["loader_ms"] is not None]
    if under_load:
        print(f"loader work on a {BATCH_SIZE}-frame batch (read + augmentation plan; key shift runs in the graph) "
              f"beside the load and the training process: {statistics.median(under_load):.1f} ms "
              "(target for key_shift < 10 ms)")  # fmt: skip
    for v in variants[2:]:
        print(f"lever {v}: {steady['candidate'] / steady[v]:.2f}x the candidate's speed")
        paired_lever = statistics.median(
            statistics.median(r["epochs"][1:]) / statistics.median(c["epochs"][1:])
            for r, c in zip(runs[v], runs["candidate"], strict=True)
        )
        share = steady[v] / steady["candidate"]
        print(f"  {v} takes {share:.2f}x the candidate's epoch time (paired {paired_lever:.2f}x)")
    ratio = steady["reference"] / steady["candidate"]
    # Runs next to each other in time share the machine's load: the ratio within each repeat is steadier.
    paired = statistics.median(
        statistics.median(r["epochs"][1:]) / statistics.median(c["epochs"][1:])
        for r, c in zip(runs["reference"], runs["candidate"], strict=True)
    )
    cand, ref = steady["candidate"] * scale, steady["reference"] * scale
    scaled = f" (scaled from {args.frames})" if scale != 1 else ""
    print(
        f"\nsummary: candidate {cand:.1f} s/epoch vs reference {ref:.1f} s/epoch at {GTZAN_FRAMES} frames{scaled} = "
        f"{ratio:.2f}x, paired per repeat {paired:.2f}x (target >= {TARGET_RATIO:g}x); "
        f"validation accuracy not measured (random data); {machine()}"
    )


if __name__ == "__main__":
    main()

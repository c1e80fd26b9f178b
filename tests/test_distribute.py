"""train.distribute on CPU: mirrored over logical devices, multi_worker over two local processes (TF_CONFIG).

TensorFlow's devices are fixed when it initialises, so every run is a fresh Python process.
"""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from genrecrnn.features.logmel import FeatureConfig
from genrecrnn.features.store import write_feature_store
from genrecrnn.util.errors import ConfigError

from conftest import ROOT, two_tone_tracks

CFG = FeatureConfig(n_mels=32, frame_seconds=1.0, frame_hop_seconds=1.0)
# Run in a fresh interpreter: argv = store folder, model path, distribute, logical CPU devices, output JSON,
# train.augment as JSON.
RUN = """
import json, sys
import tensorflow as tf
store_dir, model_path, distribute, n_devices, out = sys.argv[1:6]
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * int(n_devices))
from genrecrnn.config.sections import ModelParams, TrainParams
from genrecrnn.model.distribute import strategy_for
from genrecrnn.model.crnn import save_model
from genrecrnn.features.store import open_feature_store
from genrecrnn.model.train import train_crnn
model = ModelParams(filters=(4, 4, 8, 8, 8), lstm_units=8, dense_units=8, dropout=0.0)
train = TrainParams(epochs=3, batch_size=4, learning_rate=0.01, patience=10, warmup_epochs=0, weight_decay=0.0,
                    distribute=distribute, augment=json.loads(sys.argv[6]))
network, history = train_crnn(open_feature_store(store_dir), n_genres=2, model=model, train=train, seed=7, verbose=0)
save_model(network, model_path)
replicas = strategy_for(distribute).num_replicas_in_sync
json.dump({"replicas": replicas, "history": history.to_dict(orient="list")}, open(out, "w"))
"""


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory):
    """Two genres of tones, 6 clips of 3 s each, split 4/1/1 per genre (as test_train's)."""
    root = tmp_path_factory.mktemp("dist")
    write_feature_store(root / "features", two_tone_tracks(root), cfg=CFG, workers=1, progress=False)
    return root / "features"


def env(**extra):
    return {**os.environ, "PYTHONPATH": str(ROOT / "src"), "TF_CPP_MIN_LOG_LEVEL": "2", **extra}


def run(store_dir, tmp_path, name, distribute, devices=1, augment=None, **extra):
    out = tmp_path / f"{name}.json"
    model = tmp_path / f"{name}.keras"
    args = [sys.executable, "-c", RUN, str(store_dir), str(model), distribute, str(devices), str(out)]
    args.append(json.dumps(augment or {}))
    return subprocess.Popen(args, env=env(**extra), cwd=tmp_path), out


def finish(proc, out):
    assert proc.wait(timeout=300) == 0
    return json.loads(out.read_text())


def test_unknown_strategy_is_a_clear_error():
    from genrecrnn.model.distribute import strategy_for

    with pytest.raises(ConfigError, match="train.distribute='horovod'; allowed: none, mirrored, multi_worker"):
        strategy_for("horovod")


def test_mirrored_on_two_logical_cpus_and_one_replica_matches_none(store_dir, tmp_path):
    runs = {
        "none": run(store_dir, tmp_path, "none", "none"),
        "one": run(store_dir, tmp_path, "one", "mirrored", devices=1),
    }
    results = {k: finish(*v) for k, v in runs.items()}  # two at a time: the machine may have two cores
    results["two"] = finish(*run(store_dir, tmp_path, "two", "mirrored", devices=2))
    assert [results[k]["replicas"] for k in ("none", "one", "two")] == [1, 1, 2]
    none, one, two = (pd.DataFrame(results[k]["history"]) for k in ("none", "one", "two"))
    # One replica: the same batches in the same order, the same model; float round-off only.
    np.testing.assert_allclose(one["loss"], none["loss"], rtol=1e-3)
    np.testing.assert_allclose(one["val_clip_accuracy"], none["val_clip_accuracy"], atol=1e-9)
    assert len(two) == 3 and np.isfinite(two["loss"]).all() and two["loss"].iloc[-1] < two["loss"].iloc[0]


def test_augmentation_under_a_strategy_trains_on_the_batches_of_none(store_dir, tmp_path):
    """`none` applies the plans in the training graph, a strategy in its tf.data input, on whole global batches
    (mixup pairs frames across the batch): one replica matches `none`, two replicas train."""
    augment = {"crop": True, "key_shift": 2, "gain_db": 6.0, "time_masks": 1, "time_mask_seconds": 0.1, "mixup": 0.4}
    runs = {
        "none": run(store_dir, tmp_path, "none", "none", augment=augment),
        "one": run(store_dir, tmp_path, "one", "mirrored", devices=1, augment=augment),
    }
    results = {k: finish(*v) for k, v in runs.items()}
    results["two"] = finish(*run(store_dir, tmp_path, "two", "mirrored", devices=2, augment=augment))
    none, one, two = (pd.DataFrame(results[k]["history"]) for k in ("none", "one", "two"))
    np.testing.assert_allclose(one["loss"], none["loss"], rtol=1e-3)
    np.testing.assert_allclose(one["val_clip_accuracy"], none["val_clip_accuracy"], atol=1e-9)
    assert len(two) == 3 and np.isfinite(two["loss"]).all()


@pytest.mark.slow
def test_multi_worker_with_two_local_processes(store_dir, tmp_path):
    ports = []
    for _ in range(2):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs = []
    for i in range(2):
        (tmp_path / f"w{i}").mkdir()
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})
        procs.append(run(store_dir, tmp_path / f"w{i}", "multi", "multi_worker", TF_CONFIG=tf_config))
    chief, other = (finish(*p) for p in procs)
    assert chief["replicas"] == other["replicas"] == 2
    history = pd.DataFrame(chief["history"])
    assert len(history) == 3 and np.isfinite(history["loss"]).all()

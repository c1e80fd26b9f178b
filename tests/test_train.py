import keras
import numpy as np
import pandas as pd
import pytest

from genrecrnn.config.sections import ModelParams, TrainParams
from genrecrnn.features.logmel import FeatureConfig
from genrecrnn.features.store import open_feature_store, write_feature_store
from genrecrnn.model.crnn import save_model
from genrecrnn.model.train import run_id, train_crnn

from conftest import two_tone_tracks

MODEL = ModelParams(filters=(4, 4, 8, 8, 8), lstm_units=8, dense_units=8, dropout=0.0)
CFG = FeatureConfig(n_mels=32, frame_seconds=1.0, frame_hop_seconds=1.0)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Two genres: low tones and high tones, 6 clips each of 3 s (3 frames), split 4/1/1 per genre."""
    root = tmp_path_factory.mktemp("train")
    write_feature_store(root / "features", two_tone_tracks(root), cfg=CFG, workers=1, progress=False)
    return open_feature_store(root / "features")


SETTINGS = {
    "epochs": 3,
    "batch_size": 4,
    "learning_rate": 0.01,
    "patience": 10,
    "warmup_epochs": 0,
    "weight_decay": 0.0,
}
RUN = ("checkpoint_root", "callbacks", "data_id")


def train(store, path, **kw):
    """train_crnn with small settings; keyword arguments override the `train` section or name run arguments.

    The model is saved to `path`, the history returned.
    """
    run = {k: kw.pop(k) for k in RUN if k in kw}
    settings = TrainParams(**{**SETTINGS, **kw})
    model, history = train_crnn(store, n_genres=2, model=MODEL, train=settings, seed=7, verbose=0, **run)
    save_model(model, path)
    return history


def test_training_learns_and_saves(store, tmp_path):
    history = train(store, tmp_path / "m.keras", epochs=8)
    assert list(history["epoch"]) == list(range(8))
    assert history["loss"].iloc[-1] < history["loss"].iloc[0]
    assert (tmp_path / "m.keras").is_file()


def test_same_seed_gives_identical_weights(store, tmp_path):
    train(store, tmp_path / "a.keras")
    train(store, tmp_path / "b.keras")
    a, b = keras.saving.load_model(tmp_path / "a.keras"), keras.saving.load_model(tmp_path / "b.keras")
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)


def test_train_seed_alone_decides_initialisation_and_batches(store, tmp_path):
    # train() passes the top-level seed 7; train.seed=7 must change nothing, train.seed=8 the weights.
    weights = {}
    for name, extra in (("top", {}), ("same", {"seed": 7}), ("other", {"seed": 8})):
        train(store, tmp_path / f"{name}.keras", epochs=1, **extra)
        weights[name] = keras.saving.load_model(tmp_path / f"{name}.keras").get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(weights["top"], weights["same"]))
    assert not all(np.array_equal(a, b) for a, b in zip(weights["top"], weights["other"]))


def test_mixed_float16_computes_in_float16_with_float32_weights_and_probabilities(store, tmp_path):
    history = train(store, tmp_path / "m.keras", epochs=8, mixed_float16=True)
    assert np.isfinite(history["loss"]).all() and history["loss"].iloc[-1] < history["loss"].iloc[0]
    model = keras.saving.load_model(tmp_path / "m.keras", compile=False)
    assert model.get_layer("conv1").compute_dtype == "float16"
    assert model.get_layer("lstm").compute_dtype == "float16"
    assert all(w.dtype == "float32" for w in model.weights)
    # A float16 softmax rounds small probabilities to 0 and sums to 1 only within about 1e-3.
    probabilities = np.asarray(model(np.zeros((2, *model.input_shape[1:]), np.float32)))
    assert probabilities.dtype == np.float32
    assert keras.mixed_precision.dtype_policy().name == "float32"  # the global policy is restored


class Interrupt(keras.callbacks.Callback):
    """Stops training like a killed process would, after `after` finished epochs."""

    def __init__(self, after):
        super().__init__()
        self.after = after

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.after:
            raise RuntimeError("killed")


def _weights(path):
    return keras.saving.load_model(path).get_weights()


def test_interrupted_training_resumes_and_ends_with_the_uninterrupted_weights(store, tmp_path):
    # patience 1 over 6 epochs: early stopping acts, so its state (best weights, counter) must survive
    settings = {"epochs": 6, "patience": 1, "learning_rate": 0.05}
    whole = train(store, tmp_path / "whole.keras", **settings)
    ckpt = tmp_path / "ckpt"
    with pytest.raises(RuntimeError, match="killed"):
        train(store, tmp_path / "m.keras", checkpoint_root=ckpt, callbacks=[Interrupt(2)], **settings)
    assert not (tmp_path / "m.keras").exists()  # no half-trained model was published
    assert any(ckpt.iterdir())
    resumed = []
    marker = keras.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: resumed.append(epoch))
    history = train(store, tmp_path / "m.keras", checkpoint_root=ckpt, callbacks=[marker], **settings)
    assert resumed[0] == 2  # the two finished epochs were not run again
    assert list(history["epoch"]) == list(whole["epoch"])  # stopped after the same epoch
    pd.testing.assert_frame_equal(history.reset_index(drop=True), whole.reset_index(drop=True))
    for a, b in zip(_weights(tmp_path / "m.keras"), _weights(tmp_path / "whole.keras")):
        np.testing.assert_array_equal(a, b)
    assert not any(ckpt.iterdir())


def test_checkpoints_are_keyed_by_the_data(store, tmp_path):
    import dataclasses

    ckpt = tmp_path / "ckpt"
    with pytest.raises(RuntimeError, match="killed"):
        train(store, tmp_path / "m.keras", epochs=3, checkpoint_root=ckpt, callbacks=[Interrupt(1)], data_id="a")
    (first,) = ckpt.iterdir()
    started = []
    marker = keras.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: started.append(epoch))
    # Another manifest: no resume from the other data's state.
    train(store, tmp_path / "m.keras", epochs=3, checkpoint_root=ckpt, callbacks=[marker], data_id="b")
    assert started == [0, 1, 2] and list(ckpt.iterdir()) == [first]
    # The same manifest with another split (one val track moved to train): no resume either.
    index = store.index.copy()
    index.loc[index["track_id"] == "low/1", "split"] = "train"
    index.loc[index["track_id"] == "low/2", "split"] = "val"
    started.clear()
    train(dataclasses.replace(store, index=index), tmp_path / "m.keras", epochs=3, checkpoint_root=ckpt,
          callbacks=[marker], data_id="a")  # fmt: skip
    assert started == [0, 1, 2] and list(ckpt.iterdir()) == [first]
    started.clear()
    train(store, tmp_path / "m.keras", epochs=3, checkpoint_root=ckpt, callbacks=[marker], data_id="a")
    assert started == [1, 2] and not any(ckpt.iterdir())  # the matching data resumes


def test_run_id_changes_with_any_setting():
    assert run_id({"a": 1}, 2) == run_id({"a": 1}, 2) != run_id({"a": 1}, 3)


AUGMENT = {
    "crop": True, "key_shift": 2, "stretch": 0.1, "gain_db": 6.0, "tilt_db": 6.0, "time_masks": 2,
    "time_mask_seconds": 0.1, "freq_masks": 2, "freq_mask_bands": 4, "mixup": 0.2,
}  # fmt: skip


def test_recipe_trains_deterministically_and_selects_on_validation_clips(store, tmp_path):
    recipe = {"augment": AUGMENT, "warmup_epochs": 1, "weight_decay": 1e-4, "input_norm": "band", "epochs": 6}
    history = train(store, tmp_path / "a.keras", **recipe)
    train(store, tmp_path / "b.keras", **recipe)
    a, b = keras.saving.load_model(tmp_path / "a.keras"), keras.saving.load_model(tmp_path / "b.keras")
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    assert {"val_clip_accuracy", "val_clip_loss", "val_clip_score", "val_loss", "accuracy"} <= set(history.columns)
    assert history["selected"].sum() == 1
    best = history.loc[history["selected"]].iloc[0]
    assert best["val_clip_score"] == history["val_clip_score"].max()
    # The kept weights are the selected epoch's: rescoring the val clips gives its clip accuracy.
    val = store.split("val")
    probs = np.asarray(a(np.asarray(store.frames[val["row"].to_numpy()]), training=False))
    clip = pd.DataFrame(probs).groupby(val["track_id"].to_numpy()).mean().to_numpy()
    truth = val.groupby("track_id")["label"].first().to_numpy()
    assert np.mean(clip.argmax(axis=1) == truth) == best["val_clip_accuracy"]


def test_learning_rate_warms_up_then_decays_to_zero():
    from genrecrnn.model.train import learning_rate_schedule

    schedule = learning_rate_schedule(0.01, epochs=10, warmup_epochs=2, steps_per_epoch=5)
    rates = [float(schedule(step)) for step in range(0, 51, 5)]
    assert rates[0] == 0.0 and rates[2] == pytest.approx(0.01)
    assert all(later < earlier for earlier, later in zip(rates[2:], rates[3:]))
    assert rates[-1] == pytest.approx(0.0, abs=1e-9)


def test_run_length_in_steps_scales_epochs_warmup_and_patience():
    from genrecrnn.config.sections import TrainParams
    from genrecrnn.model.train import run_length

    assert run_length(TrainParams(epochs=30, warmup_epochs=1, patience=10), 37) == (30, 1, 10)  # steps off
    by_steps = TrainParams(epochs=30, steps=3000, warmup_epochs=1, patience=10)
    assert run_length(by_steps, 100) == (30, 1, 10)  # 100 batches an epoch: exactly the epoch-based run
    assert run_length(by_steps, 37) == (82, 3, 27)  # ceil(3000 / 37) = 82 epochs; 82 / 30 of warm-up and patience
    assert run_length(TrainParams(epochs=30, steps=3000, patience=0), 37)[2] == 0  # patience 0 stays 0


def test_the_training_model_augments_plans_in_its_graph_and_trains_the_classifier(store):
    """AugmentedTraining: a plan goes through apply_augmentation, then the classifier; frames go straight
    through; fitting it moves the classifier's weights, which is the model train_crnn returns."""
    from genrecrnn.config.sections import AugmentParams
    from genrecrnn.features.augment import apply_augmentation
    from genrecrnn.features.batches import FrameBatches
    from genrecrnn.model.crnn import build_crnn
    from genrecrnn.model.train import AugmentedTraining, training_model

    rows = store.split("train")
    fill = np.full(store.frames.shape[2], -30.0, np.float32)
    kw = {"n_classes": 2, "batch_size": 4, "shuffle": True, "seed": 1, "fill": fill}
    plain = FrameBatches.of_split(store, rows, **kw)
    batches = FrameBatches.of_split(store, rows, augment=AugmentParams(**AUGMENT), **kw)
    crnn = build_crnn(time_steps=store.frames.shape[1], n_mels=store.frames.shape[2], n_genres=2, params=MODEL)
    assert training_model(crnn, plain) is crnn
    fitted = training_model(crnn, batches)
    assert isinstance(fitted, AugmentedTraining) and fitted.classifier is crnn
    plan, _ = batches[0]
    frames = np.asarray(apply_augmentation(plan, fill))
    np.testing.assert_allclose(fitted(plan), crnn(frames), rtol=1e-6)
    np.testing.assert_array_equal(fitted(plain[0][0]), crnn(plain[0][0]))
    before = [w.copy() for w in crnn.get_weights()]
    fitted.compile(optimizer=keras.optimizers.Adam(0.01), loss="categorical_crossentropy")
    fitted.fit(batches, epochs=1, verbose=0)
    assert any(not np.array_equal(a, b) for a, b in zip(before, crnn.get_weights()))

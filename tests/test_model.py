import keras
import numpy as np
import pytest

from genrecrnn.config.sections import ModelParams
from genrecrnn.features.batches import FrameBatches
from genrecrnn.model.crnn import (
    ScaleDescriptor,
    build_crnn,
    frame_predictor,
    load_model,
    pool_sizes,
    predict_frames,
    save_model,
)
from genrecrnn.model.train import set_determinism
from genrecrnn.util.errors import ModelError

SMALL = ModelParams(filters=(8, 8, 16, 16, 16), lstm_units=16, dense_units=16, dropout=0.0)


def small_model(n_genres=4, time_steps=32, n_mels=32, **kw):
    return build_crnn(time_steps=time_steps, n_mels=n_mels, n_genres=n_genres, params=SMALL, **kw)


def test_the_seed_architecture_by_its_counts_and_shapes():
    """Five 3x3 conv blocks that pool, one LSTM, two dense layers: checked by what the layers do to a batch."""
    model = build_crnn(time_steps=129, n_mels=128, n_genres=10)
    kinds = [type(layer) for layer in model.layers]
    assert kinds.count(keras.layers.Conv2D) == 5 and kinds.count(keras.layers.LSTM) == 1
    assert kinds.count(keras.layers.Dense) == 2
    assert all(layer.kernel_size == (3, 3) for layer in model.layers if isinstance(layer, keras.layers.Conv2D))
    x = np.random.default_rng(0).normal(-40, 10, (8, 129, 128)).astype(np.float32)
    names = [f"bn{i}" for i in range(1, 6)] + [f"relu{i}" for i in range(1, 6)] + ["lstm", "genre"]
    probe = keras.Model(model.inputs, [model.get_layer(n).output for n in names])
    out = dict(zip(names, [np.asarray(o) for o in probe(x, training=True)]))
    # Each block halves time (the last keeps it), divides the mel axis by 4 then 2, and widens the channels.
    shapes = [out[f"relu{i}"].shape[1:] for i in range(1, 6)]
    assert shapes == [(64, 32, 16), (32, 16, 32), (16, 8, 64), (8, 4, 64), (8, 2, 64)]
    # Batch norm normalises the pooled map (it sees the block's output size), ReLU then clips at zero.
    for i in range(1, 6):
        bn = out[f"bn{i}"]
        assert bn.shape == out[f"relu{i}"].shape
        np.testing.assert_allclose(bn.mean(axis=(0, 1, 2)), 0.0, atol=1e-3)
        assert out[f"relu{i}"].min() == 0.0
    assert out["lstm"].shape == (8, 64) and out["genre"].shape == (8, 10)
    assert model.input_shape == (None, 129, 128) and model.output_shape == (None, 10)


def test_pool_sizes_shrink_axes_without_going_below_one():
    assert pool_sizes(129, 128) == [(2, 4), (2, 2), (2, 2), (2, 2), (1, 2)]
    for frames, mels in [(8, 16), (3, 3), (1, 1)]:
        t, m = frames, mels
        for pt, pm in pool_sizes(frames, mels):
            t, m = t // pt, m // pm
            assert t >= 1 and m >= 1


def test_output_is_a_distribution_per_example():
    model = small_model()
    out = predict_frames(model, np.random.default_rng(0).normal(-40, 10, (5, 32, 32)).astype(np.float32))
    assert out.shape == (5, 4)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)


def test_wrong_frame_shape_is_a_clear_error():
    with pytest.raises(ModelError, match="do not fit the model's input"):
        predict_frames(small_model(), np.zeros((2, 30, 32), np.float32))


def test_every_constructor_argument_is_used():
    a = build_crnn(
        time_steps=32, n_mels=32, n_genres=3, params=ModelParams(filters=(4,) * 5, lstm_units=5, dense_units=7)
    )
    assert a.get_layer("conv3").filters == 4 and a.get_layer("dense").units == 7 and a.get_layer("lstm").units == 5
    b = build_crnn(
        time_steps=32, n_mels=32, n_genres=3, input_mean=-50.0, input_std=10.0, params=ModelParams(dropout=0.5)
    )
    assert float(np.asarray(b.get_layer("standardise").mean).ravel()[0]) == -50.0
    assert b.get_layer("dropout").rate == 0.5


def test_model_overfits_twenty_examples():
    set_determinism(0)
    rng = np.random.default_rng(0)
    x = rng.normal(-40, 10, (20, 32, 32)).astype(np.float32)
    y = np.arange(20) % 4
    model = small_model(input_mean=-40.0, input_std=10.0)
    model.compile(optimizer=keras.optimizers.Adam(0.003), loss="categorical_crossentropy", metrics=["accuracy"])
    onehot = np.eye(4)[y]
    first = model.evaluate(x, onehot, verbose=0)[0]
    model.fit(FrameBatches(x, np.arange(20), y, n_classes=4, batch_size=5, shuffle=True, seed=0), epochs=100, verbose=0)
    loss, acc = model.evaluate(x, onehot, verbose=0)
    assert loss < first / 5 and acc == 1.0


def test_save_and_reload_predict_the_same(tmp_path):
    model = small_model(input_mean=-30.0, input_std=5.0)
    x = np.random.default_rng(1).normal(-30, 5, (6, 32, 32)).astype(np.float32)
    save_model(model, tmp_path / "m.keras")
    assert not list(tmp_path.glob("*.tmp*"))
    np.testing.assert_allclose(predict_frames(load_model(tmp_path / "m.keras"), x), predict_frames(model, x), atol=1e-6)


def test_missing_or_broken_model_says_how_to_make_one(tmp_path):
    with pytest.raises(ModelError, match="dvc repro"):
        load_model(tmp_path / "none.keras")
    (tmp_path / "junk.keras").write_text("not a zip")
    with pytest.raises(ModelError, match="not a readable Keras model file"):
        load_model(tmp_path / "junk.keras")


def test_batches_cover_each_row_once_per_epoch_and_reshuffle():
    frames = np.arange(10, dtype=np.float32)[:, None, None] * np.ones((10, 2, 2), np.float32)
    batches = FrameBatches(frames, np.arange(10), np.arange(10), n_classes=10, batch_size=4, shuffle=True, seed=3)
    first = np.concatenate([batches[i][1].argmax(axis=1) for i in range(len(batches))])
    assert sorted(first) == list(range(10)) and len(batches) == 3
    x, y = batches[0]
    np.testing.assert_array_equal(x[:, 0, 0], y.argmax(axis=1))  # frames and labels stay paired
    batches.on_epoch_end()
    assert not np.array_equal(first, np.concatenate([batches[i][1].argmax(axis=1) for i in range(len(batches))]))


def test_per_band_standardisation_uses_each_bands_statistics():
    mean, std = np.linspace(-60, -20, 32), np.linspace(2, 20, 32)
    model = small_model(input_mean=mean, input_std=std)
    x = (mean + 3 * std)[None, None, :] * np.ones((1, 32, 1), np.float32)
    out = keras.Model(model.input, model.get_layer("standardise").output)(x.astype(np.float32))
    np.testing.assert_allclose(np.asarray(out), 3.0, rtol=1e-5)  # every band is 3 of its own std above its mean


def test_traced_predictor_matches_eager_calls_for_any_batch_size():
    model = small_model()
    x = np.random.default_rng(1).normal(-40, 10, (7, 32, 32)).astype(np.float32)
    predict = frame_predictor(model)
    assert frame_predictor(model) is not predict  # a fresh wrapper, but the one cached graph behind it
    for n in (1, 3, 7):  # one graph for every batch size
        np.testing.assert_allclose(predict(x[:n]), np.asarray(model(x[:n], training=False)), atol=1e-6)
    np.testing.assert_allclose(predict_frames(model, x, batch_size=3), predict(x), atol=1e-6)
    with pytest.raises(ModelError, match="do not fit the model's input"):
        predict(np.zeros((2, 30, 32), np.float32))


MAJOR_SCALE = [0, 2, 4, 5, 7, 9, 11]


def scale_profile(tonic: int, steps: list[int] = MAJOR_SCALE) -> np.ndarray:
    """A pitch-class profile (1, 1, 12) with equal weight on the scale's notes above `tonic`."""
    profile = np.zeros((1, 1, 12), np.float32)
    profile[0, 0, [(tonic + s) % 12 for s in steps]] = 1.0
    return profile


def test_scale_descriptor_reads_the_scale_whatever_its_key():
    describe = ScaleDescriptor()
    d_major = describe(scale_profile(2)).numpy()[0]
    np.testing.assert_allclose(d_major[:12], scale_profile(0)[0, 0] / 7, atol=1e-6)  # aligned so the tonic is first
    for tonic in range(12):
        np.testing.assert_allclose(describe(scale_profile(tonic)).numpy()[0], d_major, atol=1e-5)
    pentatonic = describe(scale_profile(2, [0, 2, 4, 7, 9])).numpy()[0]
    assert np.abs(pentatonic[12:] - d_major[12:]).max() > 0.05  # another scale, another interval content
    # of the Fourier magnitudes k = 1..6 of a diatonic scale, the fifth-cycle one (k = 5) is the largest
    assert int(np.argmax(d_major[12:])) == 4


def test_profile_bands_bypass_the_convolutions_and_keep_prediction_key_invariant(tmp_path):
    keras.utils.set_random_seed(0)
    model = build_crnn(time_steps=32, n_mels=28, n_genres=3, params=SMALL, profile_bands=12)
    assert model.get_layer("standardise").output.shape[-1] == 16 and model.get_layer("scale").output.shape[-1] == 18
    x = np.random.default_rng(0).normal(size=(4, 32, 28)).astype(np.float32)
    x[:, :, 16:] = np.random.default_rng(1).uniform(0, 1, (4, 1, 12))
    transposed = x.copy()
    transposed[:, :, 16:] = np.roll(x[:, :, 16:], 5, axis=2)
    np.testing.assert_allclose(predict_frames(model, transposed), predict_frames(model, x), atol=1e-6)
    other = x.copy()
    other[:, :, 16:] = np.random.default_rng(2).uniform(0, 1, (4, 1, 12))
    assert np.abs(predict_frames(model, other) - predict_frames(model, x)).max() > 1e-4  # the profile is heard
    save_model(model, tmp_path / "crnn.keras")
    np.testing.assert_array_equal(predict_frames(load_model(tmp_path / "crnn.keras"), x), predict_frames(model, x))

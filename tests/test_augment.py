"""Augmentation: shapes and labels kept, known effects on made-up spectra, seeded, training only."""

import librosa
import numpy as np
import pandas as pd
import pytest

from genrecrnn.config.sections import AugmentParams
from genrecrnn.features import augment
from genrecrnn.features.augment import (
    crop_positions,
    gain_and_tilt,
    key_shift,
    mixup,
    read_positions,
    shift_matrix,
    spec_masks,
)
from genrecrnn.features.batches import FrameBatches
from genrecrnn.features.logmel import FeatureConfig
from genrecrnn.features.store import FeatureStore
from genrecrnn.util.errors import ConfigError

SR, N_MELS, T = 22050, 64, 20
ALL = AugmentParams(
    crop=True, key_shift=2, stretch=0.2, gain_db=6, tilt_db=6, time_masks=2, time_mask_seconds=0.1,
    freq_masks=2, freq_mask_bands=8, mixup=0.4,
)  # fmt: skip


def clock_store(n_clips=4, frames_per_clip=3, hop_seconds=None):
    """A feature store whose every cell holds its clip's column number plus 1000 x clip: crops are readable."""
    cfg = FeatureConfig(n_mels=N_MELS, hop_length=512, frame_seconds=T * 512 / SR)
    cfg = FeatureConfig(**{**cfg.__dict__, "frame_hop_seconds": hop_seconds or cfg.frame_seconds})
    hop = cfg.hop_columns
    frames, rows = [], []
    for clip in range(n_clips):
        for k in range(frames_per_clip):
            columns = 1000 * clip + k * hop + np.arange(T, dtype=np.float32)
            frames.append(np.repeat(columns[:, None], N_MELS, axis=1))
            rows.append({"track_id": f"c{clip}", "genre": "g", "label": clip % 2, "split": "train", "frame_index": k})
    index = pd.DataFrame(rows)
    index.insert(0, "row", np.arange(len(index)))
    return FeatureStore(np.stack(frames), index, cfg, pd.DataFrame())


def batches(store, augment, seed=0):
    return FrameBatches.of_split(
        store, store.split("train"), n_classes=2, batch_size=5, shuffle=True, seed=seed, augment=augment
    )


def test_every_augmentation_keeps_shape_dtype_and_label():
    store = clock_store()
    plain = batches(store, None)
    for cfg in [AugmentParams(crop=True), AugmentParams(stretch=0.2), AugmentParams(key_shift=2),
                AugmentParams(gain_db=6, tilt_db=6), AugmentParams(time_masks=2, time_mask_seconds=0.1),
                AugmentParams(freq_masks=2, freq_mask_bands=8), ALL]:  # fmt: skip
        aug = batches(store, cfg)
        for i in range(len(aug)):
            (x, y), (x0, y0) = aug.augmented(i), plain[i]
            assert x.shape == x0.shape and x.dtype == np.float32 and np.isfinite(x).all()
            if cfg.mixup:  # soft labels: still distributions, each frame keeps the larger share of its own
                np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-6)
                assert (y[np.arange(len(y)), y0.argmax(axis=1)] >= 0.5).all()
            else:
                np.testing.assert_array_equal(y, y0)


def test_augmentation_is_reproducible_from_the_seed_and_changes_each_epoch():
    store = clock_store()
    a, b, c = batches(store, ALL, seed=1), batches(store, ALL, seed=1), batches(store, ALL, seed=2)
    np.testing.assert_array_equal(a.augmented(1)[0], b.augmented(1)[0])
    assert not np.array_equal(a.augmented(1)[0], c.augmented(1)[0])
    # Asking for batches out of order gives the same batch: each is seeded by (seed, epoch, index).
    np.testing.assert_array_equal(a.augmented(0)[0], batches(store, ALL, seed=1).augmented(0)[0])
    first = a.augmented(0)[0]
    a.on_epoch_end()
    assert not np.array_equal(first, a.augmented(0)[0])


def test_without_augmentation_batches_are_the_stored_frames():
    store = clock_store()
    plain = batches(store, None)
    x, y = plain[0]
    rows = store.split("train")["row"].to_numpy()
    assert np.isin(x[:, 0, 0], store.frames[rows][:, 0, 0]).all()
    assert (np.diff(x[:, :, 0], axis=1) == 1).all()  # whole stored frames, one column apart


def test_random_crops_read_contiguous_columns_inside_the_clip():
    store = clock_store()
    x, _ = batches(store, AugmentParams(crop=True)).augmented(0)
    steps = np.diff(x[:, :, 0], axis=1)
    np.testing.assert_allclose(steps, 1.0, atol=1e-3)  # no tempo change: consecutive columns
    clip, column = np.divmod(x[:, 0, 0], 1000)
    assert (column + T - 1 <= 3 * T - 1 + 1e-3).all()  # never past the clip's last column
    offsets = np.concatenate(
        [batches(store, AugmentParams(crop=True), seed=s).augmented(0)[0][:, 0, 0] % 1000 for s in range(5)]
    )
    assert len(np.unique(np.round(offsets % T, 3))) > 5  # not the fixed grid of frame starts


def test_crops_stay_inside_a_clip_with_overlapping_frames():
    store = clock_store(hop_seconds=10 * 512 / SR)  # frames start every 10 columns, 20 long
    x, _ = batches(store, AugmentParams(crop=True, stretch=0.2)).augmented(0)
    assert np.unique(x[:, :, 0] // 1000, axis=1).shape[1] == 1  # each crop from one clip
    assert (x[:, -1, 0] % 1000 <= 2 * 10 + T - 1 + 1e-3).all()


def test_tempo_jitter_reads_columns_at_a_constant_rate_within_bounds():
    rng = np.random.default_rng(0)
    positions = crop_positions(rng, np.full(200, 2 * T), columns=T, crop=True, stretch=0.2)
    rate = np.diff(positions, axis=1)
    np.testing.assert_allclose(rate, rate[:, :1] * np.ones_like(rate))
    assert rate.min() >= 0.8 - 1e-9 and rate.max() <= 1.2 + 1e-9 and rate.std() > 0.05
    assert positions.min() >= 0 and positions.max() <= 2 * T - 1
    # A strip too short for the drawn rate slows the rate down rather than reading past its end.
    short = crop_positions(rng, np.full(50, T), columns=T, crop=True, stretch=0.2)
    assert short.max() <= T - 1 + 1e-9


def test_read_positions_interpolates_linearly():
    strips = np.arange(2 * 5 * 3, dtype=np.float32).reshape(2, 5, 3)
    out = read_positions(strips, np.array([[0.0, 1.5, 4.0], [0.25, 2.0, 3.5]]))
    np.testing.assert_allclose(out[0, 1], (strips[0, 1] + strips[0, 2]) / 2)
    np.testing.assert_allclose(out[1, 0], 0.75 * strips[1, 0] + 0.25 * strips[1, 1])
    np.testing.assert_allclose(out[0, 2], strips[0, 4])


def test_key_shift_moves_a_tones_mel_peak_by_the_semitones():
    centres = librosa.mel_frequencies(n_mels=N_MELS + 2, fmax=SR / 2)[1:-1]
    tone = np.exp(-0.5 * ((np.log2(centres) - np.log2(2000.0)) / 0.03) ** 2)  # a narrow peak at 2 kHz
    for semitones in (-2, 1, 2):
        moved = tone @ shift_matrix(semitones, n_mels=N_MELS, sr=SR).T
        peak = np.sum(centres * moved) / np.sum(moved)
        assert peak == pytest.approx(2000.0 * 2 ** (semitones / 12), rel=0.02)
    np.testing.assert_allclose(shift_matrix(0, n_mels=N_MELS, sr=SR), np.eye(N_MELS), atol=1e-6)
    x = np.tile(tone.astype(np.float32), (6, 4, 1))
    out = key_shift(np.random.default_rng(0), x, max_semitones=2, sr=SR)
    assert out.shape == x.shape and not np.array_equal(out, x)


def test_key_shift_applies_each_frames_shift_matrix_without_a_matrix_product(monkeypatch):
    x = np.random.default_rng(1).normal(-40, 10, (40, 7, N_MELS)).astype(np.float32)
    shifts = np.random.default_rng(0).integers(-3, 4, len(x))  # the draw key_shift makes from the same seed
    expected = np.stack([f @ shift_matrix(int(s), n_mels=N_MELS, sr=SR).T for f, s in zip(x, shifts)])
    # No BLAS (its threads would fight TensorFlow's inside loader threads): the dense matrix is never built.
    monkeypatch.setattr(augment, "shift_matrix", lambda *a, **k: pytest.fail("key_shift used a matrix product"))
    out = key_shift(np.random.default_rng(0), x, max_semitones=3, sr=SR)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-4)
    assert np.array_equal(out[shifts == 0], x[shifts == 0])


def test_gain_and_tilt_add_a_level_and_a_linear_slope():
    x = np.zeros((50, 4, N_MELS), np.float32)
    out = gain_and_tilt(np.random.default_rng(0), x, gain_db=6, tilt_db=4)
    slope = out[:, 0, -1] - out[:, 0, 0]
    assert np.abs(out.mean(axis=(1, 2))).max() <= 6 and np.abs(slope).max() <= 4 + 1e-5
    np.testing.assert_allclose(np.diff(out[:, 0, :], 2, axis=1), 0.0, atol=1e-4)  # straight line across bands
    assert slope.std() > 0.5


def test_masks_blank_whole_columns_and_bands_with_the_fill():
    x = np.random.default_rng(1).normal(size=(40, T, N_MELS)).astype(np.float32)
    fill = np.full(N_MELS, 99.0, np.float32)
    out = spec_masks(np.random.default_rng(0), x, fill=fill, time_masks=1, time_width=5, freq_masks=0, freq_width=0)
    masked = (out == 99.0).all(axis=2)  # whole columns
    assert masked.sum(axis=1).max() <= 5 and masked.any()
    assert np.array_equal(out[~masked], x[~masked])
    out = spec_masks(np.random.default_rng(0), x, fill=fill, time_masks=0, time_width=0, freq_masks=2, freq_width=4)
    bands = (out == 99.0).all(axis=1)
    assert bands.sum(axis=1).max() <= 8 and bands.any()


def test_mixup_mixes_frames_and_labels_with_the_same_weight():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 3, 4)).astype(np.float32)
    y = np.eye(4, dtype=np.float32)[np.arange(16) % 4]
    mx, my = mixup(np.random.default_rng(5), x, y, alpha=0.4)
    lam = my[np.arange(16), np.arange(16) % 4]
    assert (lam >= 0.5).all()
    partner = np.random.default_rng(5)
    partner.beta(0.4, 0.4, 16)
    p = partner.permutation(16)
    expected = lam[:, None, None] * x + (1 - lam[:, None, None]) * x[p]
    same = np.arange(16) % 4 == p % 4  # where both have the same label, lam cannot be read from y
    np.testing.assert_allclose(mx[~same], expected[~same], rtol=1e-5, atol=1e-5)


def test_bad_settings_are_config_errors():
    with pytest.raises(ConfigError, match="gain_db: Input should be greater than or equal to 0"):
        AugmentParams(gain_db=-1)
    with pytest.raises(ConfigError, match="stretch"):
        AugmentParams(stretch=0.6)


def test_strength_scales_every_magnitude_and_one_leaves_the_settings_alone():
    cfg = AugmentParams(crop=True, key_shift=2, stretch=0.1, gain_db=6, tilt_db=6, time_masks=2,
                        time_mask_seconds=0.3, freq_masks=2, freq_mask_bands=12, mixup=0.2)  # fmt: skip
    assert cfg.at_strength() == cfg
    half = AugmentParams(**{**cfg.__dict__, "strength": 0.5}).at_strength()
    assert (half.key_shift, half.gain_db, half.tilt_db, half.freq_mask_bands) == (1, 3.0, 3.0, 6)
    assert half.stretch == pytest.approx(0.05) and half.mixup == pytest.approx(0.1)
    assert half.time_mask_seconds == pytest.approx(0.15) and half.crop and half.time_masks == 2
    assert AugmentParams(stretch=0.3, strength=3).at_strength().stretch == 0.49  # stays a valid setting


def test_key_shift_rotates_chroma_bands_and_gain_leaves_them():
    n_mels = 16
    low, high, weight = augment.shift_taps(3, n_mels=n_mels, sr=22050, chroma_bands=12)
    assert len(low) == n_mels + 12
    # output pitch class c reads class c - 3: a C (0) moves to D# (3), a B (11) to D (2)
    assert list(low[n_mels:] - n_mels) == [(c - 3) % 12 for c in range(12)] and np.all(weight[n_mels:] == 0)
    np.testing.assert_array_equal(low[:n_mels], augment.shift_taps(3, n_mels=n_mels, sr=22050)[0])
    x = np.random.default_rng(0).uniform(0, 1, (4, 5, n_mels + 12)).astype(np.float32)
    shifted = augment.gain_and_tilt(np.random.default_rng(1), x, gain_db=6.0, tilt_db=6.0, chroma_bands=12)
    np.testing.assert_array_equal(shifted[:, :, n_mels:], x[:, :, n_mels:])
    assert not np.allclose(shifted[:, :, :n_mels], x[:, :, :n_mels])


def test_key_shift_rotates_each_group_of_twelve_pitch_classes_on_its_own():
    n_mels = 16  # frame chroma (12) and clip profile (12) after the mel bands: each rotates within itself
    low, _, weight = augment.shift_taps(-2, n_mels=n_mels, sr=22050, chroma_bands=24)
    rotation = [(c + 2) % 12 for c in range(12)]  # output class c reads class c + 2
    assert list(low[n_mels : n_mels + 12] - n_mels) == rotation
    assert list(low[n_mels + 12 :] - n_mels - 12) == rotation and np.all(weight[n_mels:] == 0)


def test_the_loader_sends_stored_frames_and_small_draws_the_graph_turns_into_the_batch():
    """The loader does no per-cell work: the plan holds stored frames and per-sample draws, never a new frame."""
    store = clock_store()
    aug = batches(store, ALL)
    plan, y = aug[0]
    n = len(y)
    assert set(plan) == {"frames", "next", "read_low", "read_weight", "shift_low", "shift_high", "shift_weight",
                         "offset", "time_mask", "freq_mask", "partner", "lam"}  # fmt: skip
    assert np.isin(plan["frames"][:, 0, 0], store.frames[:, 0, 0]).all()  # stored frames, as read
    assert all(len(a) == n for a in plan.values())
    assert all(a.shape[1:] in [(), (T,), (N_MELS,)] for k, a in plan.items() if k not in ("frames", "next"))
    # Applied inside a traced graph (as in training), the plan gives the eager result bit for bit.
    import tensorflow as tf

    traced = tf.function(lambda p: augment.apply_augmentation(p, aug.fill))
    np.testing.assert_array_equal(np.asarray(traced(plan)), aug.augmented(0)[0])


def test_each_part_of_a_plan_does_what_its_draw_says():
    rng = np.random.default_rng(3)
    x = rng.normal(-40, 10, (6, T, N_MELS)).astype(np.float32)
    fill = np.full(N_MELS, 7.0, np.float32)
    shift = augment.draw_key_shift(np.random.default_rng(0), 6, max_semitones=3, n_mels=N_MELS, sr=SR)
    shifts = np.random.default_rng(0).integers(-3, 4, 6)
    out = np.asarray(augment.apply_augmentation({"frames": x, **shift}, fill))
    for f, s, o in zip(x, shifts, out):
        np.testing.assert_allclose(o, f @ shift_matrix(int(s), n_mels=N_MELS, sr=SR).T, rtol=1e-5, atol=1e-4)
    offset = np.linspace(0, 1, N_MELS, dtype=np.float32)[None].repeat(6, axis=0)
    gained = augment.apply_augmentation({"frames": x, "offset": offset}, fill)
    np.testing.assert_array_equal(gained, x + offset[:, None])
    time_mask, freq_mask = np.zeros((6, T), bool), np.zeros((6, N_MELS), bool)
    time_mask[0, 3], freq_mask[1, 5] = True, True
    masked = np.asarray(augment.apply_augmentation({"frames": x, "time_mask": time_mask, "freq_mask": freq_mask}, fill))
    assert (masked[0, 3] == 7).all() and (masked[1, :, 5] == 7).all() and (masked == 7).sum() == N_MELS + T
    mix = {"partner": np.array([1, 0, 2, 3, 4, 5], np.int32), "lam": np.full(6, 0.75, np.float32)}
    mixed = np.asarray(augment.apply_augmentation({"frames": x, **mix}, fill))
    np.testing.assert_allclose(mixed[0], 0.75 * x[0] + 0.25 * x[1], rtol=1e-5)
    np.testing.assert_array_equal(mixed[2:], x[2:])

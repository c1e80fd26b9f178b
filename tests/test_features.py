import librosa
import numpy as np
import pytest

from genrecrnn.features.logmel import FeatureConfig, clip_frames, logmel, reference_frames
from genrecrnn.util.errors import AudioError, ConfigError

from conftest import SR, tone


def test_tone_energy_lands_in_the_mel_band_of_its_frequency():
    cfg = FeatureConfig()
    spec = logmel(tone(440.0, 3.0), cfg=cfg)
    peak_band = int(np.argmax(spec.mean(axis=1)))
    centres = librosa.mel_frequencies(n_mels=cfg.n_mels + 2, fmax=cfg.sample_rate / 2)[1:-1]
    # Band b's triangle peaks at centres[b]; 440 Hz must fall in the band whose centre is nearest.
    assert peak_band == int(np.argmin(np.abs(centres - 440.0)))


def test_silence_gives_finite_floor_not_nan():
    spec = logmel(np.zeros(SR * 3, np.float32), cfg=FeatureConfig())
    assert np.isfinite(spec).all()
    assert spec.max() == pytest.approx(-100.0)  # 10*log10(amin=1e-10)


@pytest.mark.parametrize("seconds", [2.98, 3.0, 5.9, 6.0, 30.0, 95.0])
def test_frame_count_matches_docstring_formula(seconds):
    cfg = FeatureConfig()
    n = int(round(seconds * SR))
    expected = 1 + (1 + n // 512 - cfg.frame_columns) // cfg.hop_columns
    frames = clip_frames(tone(220, seconds), cfg=cfg)
    assert frames.shape == (expected, cfg.frame_columns, cfg.n_mels) == (cfg.n_frames(n), 129, 128)


def test_thirty_second_clip_gives_ten_three_second_frames():
    assert FeatureConfig().n_frames(30 * SR) == 10


def test_overlapping_hop_gives_more_frames():
    cfg = FeatureConfig(frame_hop_seconds=1.5)
    # 1 + 661500 // 512 = 1292 columns; hop round(1.5 * 22050 / 512) = 65; 1 + (1292 - 129) // 65 = 18
    assert cfg.hop_columns == 65
    assert cfg.n_frames(30 * SR) == 18


def test_clip_shorter_than_one_frame_is_rejected_with_its_name():
    with pytest.raises(AudioError, match="song.wav.*shorter than one 3 s frame"):
        clip_frames(tone(440, 2.0), cfg=FeatureConfig(), name="song.wav")


def test_fast_path_equals_librosa_reference():
    y = np.random.default_rng(0).standard_normal(SR * 7).astype(np.float32) * 0.1
    fast, ref = clip_frames(y, cfg=FeatureConfig()), reference_frames(y, cfg=FeatureConfig())
    np.testing.assert_allclose(fast, ref, atol=1e-3)


def test_frames_are_consecutive_slices_of_one_spectrogram():
    cfg = FeatureConfig()
    y = tone(330, 9.0) + tone(1000, 9.0, amp=0.1)
    spec, frames = logmel(y, cfg=cfg), clip_frames(y, cfg=cfg)
    np.testing.assert_array_equal(frames[2], spec[:, 2 * cfg.hop_columns : 2 * cfg.hop_columns + cfg.frame_columns].T)


@pytest.mark.parametrize("bad", [{"n_mels": 0}, {"hop_length": -1}, {"frame_seconds": -3.0}, {"hop_length": 4096}])
def test_bad_settings_raise_config_error(bad):
    with pytest.raises(ConfigError):
        FeatureConfig(**bad)


def test_multichannel_array_is_rejected():
    with pytest.raises(AudioError, match="mono"):
        logmel(np.zeros((SR * 3, 2), np.float32), cfg=FeatureConfig())


def test_settings_read_as_one_line_with_the_frame_shape():
    text = FeatureConfig(n_mels=64, frame_seconds=1.5).describe()
    assert (
        "64 bands" in text
        and "22050 Hz" in text
        and f"shape {FeatureConfig(n_mels=64, frame_seconds=1.5).frame_shape}" in text
    )


def test_chroma_bands_follow_the_mel_bands_and_name_the_pitch_class_of_a_tone():
    plain, with_chroma = FeatureConfig(), FeatureConfig(chroma=True)
    y = tone(440.0, 2.0)  # A4: pitch class 9 (C = 0)
    spec = logmel(y, cfg=with_chroma)
    assert with_chroma.frame_shape == (plain.frame_columns, plain.n_mels + 12) and spec.shape[0] == plain.n_mels + 12
    np.testing.assert_array_equal(spec[: plain.n_mels], logmel(y, cfg=plain))  # the mel bands are unchanged
    chroma = spec[plain.n_mels :]
    assert chroma.min() >= 0.0 and chroma.max() == pytest.approx(1.0)  # each column divided by its largest class
    assert set(np.argmax(chroma, axis=0)) == {9}
    silent = logmel(np.zeros(SR, np.float32), cfg=with_chroma)[plain.n_mels :]
    assert np.all(silent == 0.0)  # silence: no pitch class, not NaN


def test_clip_profile_bands_hold_the_whole_clips_mean_chroma_in_every_column():
    plain, both = FeatureConfig(), FeatureConfig(chroma=True, clip_profile=True)
    y = np.concatenate([tone(440.0, 1.0), tone(659.25, 3.0)])  # 1 s of A4, then 3 s of E5
    spec = logmel(y, cfg=both)
    assert both.frame_shape == (plain.frame_columns, plain.n_mels + 24) and both.profile_bands == 12
    chroma, profile = spec[plain.n_mels : plain.n_mels + 12], spec[plain.n_mels + 12 :]
    np.testing.assert_allclose(profile, np.repeat(chroma.mean(axis=1, keepdims=True), spec.shape[1], axis=1), atol=1e-6)
    assert list(np.argsort(profile[:, 0])[-2:]) == [9, 4]  # E sounds longest, then A
    alone = logmel(y, cfg=FeatureConfig(clip_profile=True))  # without the frame chroma: the same profile
    np.testing.assert_array_equal(alone[plain.n_mels :], profile)
    assert FeatureConfig(clip_profile=True).profile_bands == 12 and plain.profile_bands == 0


def test_shifted_frames_are_the_grid_cut_later():
    from genrecrnn.features.logmel import frame_spectrogram, shifted_frames

    cfg = FeatureConfig(frame_seconds=1.0, frame_hop_seconds=1.0)
    spec = np.random.default_rng(0).standard_normal((cfg.n_mels, 5 * cfg.frame_columns)).astype(np.float32)
    grid = frame_spectrogram(spec, cfg=cfg)
    offset = cfg.frame_columns // 2
    expected = frame_spectrogram(spec[:, offset:], cfg=cfg)[: len(grid) - 1]
    np.testing.assert_array_equal(shifted_frames(grid, offset=offset), expected)
    assert shifted_frames(grid[:1], offset=offset).shape == (0, *cfg.frame_shape)
    with pytest.raises(ValueError, match="offset"):
        shifted_frames(grid, offset=0)


def test_warm_caches_builds_what_the_settings_need():
    from genrecrnn.features.logmel import _chroma_basis, _mel_basis, _window, warm_caches

    for cached in (_window, _mel_basis, _chroma_basis):
        cached.cache_clear()
    warm_caches(FeatureConfig(sample_rate=8000, n_fft=256, hop_length=64, n_mels=16))
    assert (_window.cache_info().currsize, _mel_basis.cache_info().currsize) == (1, 1)
    assert _chroma_basis.cache_info().currsize == 0
    warm_caches(FeatureConfig(sample_rate=8000, n_fft=256, hop_length=64, n_mels=16, chroma=True))
    assert _chroma_basis.cache_info().currsize == 1

"""Tests for the seeded synthetic genre set: reproducibility, GTZAN layout, signal sanity, genre traits."""

from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile as sf

from genrecrnn.errors import ConfigError
from genrecrnn.synth import GTZAN_GENRES, clip_path, clip_seed, generate_dataset, synth_clip

SR = 22050


def _bytes(paths: list[Path]) -> list[bytes]:
    """File contents, in the order given."""
    return [p.read_bytes() for p in paths]


def _generate(root: Path, **kwargs) -> list[Path]:
    """A tiny data set: two genres, two 1 s clips each unless overridden."""
    args = {"genres": ("metal", "classical"), "clips_per_genre": 2, "seconds": 1.0, "progress": False} | kwargs
    return generate_dataset(root, **args)


def test_genres_are_the_ten_gtzan_names_sorted():
    assert len(GTZAN_GENRES) == 10
    assert list(GTZAN_GENRES) == sorted(GTZAN_GENRES)


def test_same_seed_gives_identical_files(tmp_path):
    a = _generate(tmp_path / "a", seed=7)
    b = _generate(tmp_path / "b", seed=7)
    assert [p.relative_to(tmp_path / "a") for p in a] == [p.relative_to(tmp_path / "b") for p in b]
    assert _bytes(a) == _bytes(b)


def test_different_seed_gives_different_files(tmp_path):
    a = _generate(tmp_path / "a", seed=0)
    b = _generate(tmp_path / "b", seed=1)
    assert all(x != y for x, y in zip(_bytes(a), _bytes(b), strict=True))


def test_clip_does_not_depend_on_how_many_are_generated(tmp_path):
    one = _generate(tmp_path / "one", clips_per_genre=1)
    three = _generate(tmp_path / "three", clips_per_genre=3)
    assert _bytes(one) == _bytes([three[0], three[3]])


def test_layout_names_and_order(tmp_path):
    root = tmp_path / "audio"
    paths = _generate(root, genres=("rock", "jazz", "blues"), clips_per_genre=3)
    expected = [root / g / f"{g}.{i:05d}.wav" for g in ("rock", "jazz", "blues") for i in range(3)]
    assert paths == expected
    assert clip_path(root, "jazz", 7) == root / "jazz" / "jazz.00007.wav"
    assert sorted(p.name for p in root.rglob("*")) == sorted(["blues", "jazz", "rock"] + [p.name for p in paths])


def test_written_file_is_22050_hz_mono_pcm16_of_requested_length(tmp_path):
    (path,) = _generate(tmp_path, genres=("pop",), clips_per_genre=1, seconds=1.5)
    info = sf.info(path)
    assert (info.samplerate, info.channels, info.subtype, info.format) == (SR, 1, "PCM_16", "WAV")
    assert info.frames == round(1.5 * SR)


def test_file_holds_the_clip_synth_clip_makes(tmp_path):
    (path,) = _generate(tmp_path, genres=("reggae",), clips_per_genre=1, seed=3)
    written, _ = sf.read(path, dtype="float32")
    expected = synth_clip("reggae", seed=clip_seed(3, "reggae", 0), seconds=1.0)
    np.testing.assert_allclose(written, expected, atol=1 / 2**15)


@pytest.mark.parametrize("genre", GTZAN_GENRES)
def test_signal_is_finite_bounded_and_audible(genre):
    y = synth_clip(genre, seed=0, seconds=2.0)
    assert y.dtype == np.float32 and y.shape == (2 * SR,)
    assert np.isfinite(y).all()
    assert 0.29 <= np.abs(y).max() <= 0.95  # peak-normalised to a random level in [0.3, 0.95]
    assert np.sqrt(np.mean(y**2)) > 0.01


def test_other_rates_and_odd_durations_give_the_requested_length():
    assert synth_clip("jazz", seed=1, seconds=0.7, sr=16000).shape == (round(0.7 * 16000),)


def test_metal_is_brighter_and_noisier_than_classical():
    def medians(genre: str) -> tuple[float, float]:
        """Median over five 4 s clips of the mean spectral centroid (Hz) and flatness; the median because
        at the default difficulty a clip may borrow another genre's drums or tone on purpose."""
        clips = [synth_clip(genre, seed=s, seconds=4.0) for s in range(5)]
        centroid = np.median([librosa.feature.spectral_centroid(y=y, sr=SR).mean() for y in clips])
        flatness = np.median([librosa.feature.spectral_flatness(y=y).mean() for y in clips])
        return centroid, flatness

    (metal_centroid, metal_flatness), (classical_centroid, classical_flatness) = medians("metal"), medians("classical")
    assert metal_centroid > 1.2 * classical_centroid  # distorted guitars and cymbals vs. band-limited strings
    assert metal_flatness > 2 * classical_flatness  # drums are noise; classical has none


def test_unknown_genre_names_it_and_the_allowed_values(tmp_path):
    with pytest.raises(ConfigError, match=r"polka.*allowed: blues, classical"):
        synth_clip("polka", seed=0)
    with pytest.raises(ConfigError, match="polka"):
        generate_dataset(tmp_path, genres=("rock", "polka"), clips_per_genre=1, progress=False)
    assert not any(tmp_path.iterdir())  # nothing written before the check


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"seconds": 0.0}, "seconds must be > 0, got 0.0"),
        ({"seconds": -3.0}, "seconds must be > 0, got -3.0"),
        ({"clips_per_genre": 0}, "clips_per_genre must be >= 1, got 0"),
        ({"difficulty": 1.5}, r"difficulty must be in \[0, 1\], got 1.5"),
        ({"difficulty": -0.1}, r"difficulty must be in \[0, 1\], got -0.1"),
        ({"sr": 0}, "sr must be > 0 Hz, got 0"),
        ({"seed": -1}, "seed must be >= 0, got -1"),
    ],
)
def test_bad_arguments_raise_config_error(tmp_path, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        generate_dataset(tmp_path, **({"clips_per_genre": 1, "progress": False} | kwargs))


def test_synth_clip_rejects_bad_arguments():
    with pytest.raises(ConfigError, match="difficulty"):
        synth_clip("rock", seed=0, difficulty=2.0)
    with pytest.raises(ConfigError, match="seconds"):
        synth_clip("rock", seed=0, seconds=-1.0)


def test_difficulty_makes_genres_harder_to_tell_apart():
    pytest.importorskip("sklearn")
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def accuracy(difficulty: float) -> float:
        """3-fold accuracy of MFCC mean+std logistic regression on 6 clips of 3 s per genre."""
        features, labels = [], []
        for label, genre in enumerate(GTZAN_GENRES):
            for i in range(6):
                y = synth_clip(genre, seed=clip_seed(0, genre, i), seconds=3.0, difficulty=difficulty)
                mfcc = librosa.feature.mfcc(y=y, sr=SR, n_mfcc=20)
                features.append(np.r_[mfcc.mean(axis=1), mfcc.std(axis=1)])
                labels.append(label)
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        folds = StratifiedKFold(3, shuffle=True, random_state=0)
        return cross_val_score(model, np.array(features), np.array(labels), cv=folds).mean()

    easy, hard = accuracy(0.0), accuracy(1.0)
    assert easy > 0.5  # chance is 0.1
    assert easy > hard + 0.2

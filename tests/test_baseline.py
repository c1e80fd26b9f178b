"""The rhythm/harmony baseline hears what its name says: transposition-free harmony, tempo and where beats fall."""

import numpy as np
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from genrecrnn.evaluation.baseline import (
    BEAT_FRACTIONS,
    audio_chroma,
    baseline_probabilities,
    fit_tuned,
    harmony_statistics,
    rhythm_harmony_candidates,
    rhythm_statistics,
    split_statistics,
    without_overlap,
)
from genrecrnn.features.logmel import FeatureConfig, logmel
from genrecrnn.features.store import open_feature_store, write_feature_store
from genrecrnn.util.errors import DataError

from conftest import two_tone_tracks

SR = 22050


def chord(freqs: list[float], seconds: float = 4.0) -> np.ndarray:
    """Sum of sine tones (Hz) with two harmonics each, float32 at SR."""
    t = np.arange(int(seconds * SR)) / SR
    y = sum(np.sin(2 * np.pi * f * k * t) / k for f in freqs for k in (1, 2))
    return (0.2 * y / len(freqs)).astype(np.float32)


def clicks(bpm: float, seconds: float = 12.0) -> np.ndarray:
    """A click (10 ms of noise) on every beat at `bpm`, float32 at SR."""
    y = np.zeros(int(seconds * SR), np.float32)
    burst = np.random.default_rng(0).standard_normal(int(0.01 * SR)).astype(np.float32) * 0.5
    for start in np.arange(0, seconds - 0.02, 60.0 / bpm):
        i = int(start * SR)
        y[i : i + len(burst)] += burst
    return y


def semitones(f: float, k: int) -> float:
    """`f` (Hz) moved by `k` semitones."""
    return f * 2 ** (k / 12)


def test_chroma_of_a_major_triad_peaks_on_its_three_pitch_classes():
    chroma = audio_chroma(chord([261.63, 329.63, 392.0]), sr=SR)  # C4 E4 G4
    assert set(np.argsort(chroma.mean(axis=1))[-3:]) == {0, 4, 7}


def test_harmony_statistics_do_not_change_when_the_chord_is_transposed():
    c_minor = [261.63, semitones(261.63, 3), semitones(261.63, 7)]
    here = harmony_statistics(audio_chroma(chord(c_minor), sr=SR))
    up_five = harmony_statistics(audio_chroma(chord([semitones(f, 5) for f in c_minor]), sr=SR))
    np.testing.assert_allclose(here, up_five, atol=0.03)
    # ... while a major chord on the same root reads differently: the statistics hear the mode
    c_major = harmony_statistics(audio_chroma(chord([261.63, semitones(261.63, 4), semitones(261.63, 7)]), sr=SR))
    assert np.abs(here - c_major).max() > 0.1


@pytest.mark.parametrize("bpm", [90.0, 120.0, 150.0])
def test_rhythm_statistics_find_the_tempo_of_a_click_track(bpm):
    cfg = FeatureConfig()
    stats = rhythm_statistics(logmel(clicks(bpm), cfg=cfg), sr=SR, hop_length=cfg.hop_length)
    found = 2 ** stats[2]
    assert found == pytest.approx(bpm, rel=0.05)
    at_beats = dict(zip(BEAT_FRACTIONS, stats[3 : 3 + len(BEAT_FRACTIONS)]))
    assert at_beats[1.0] > 0.5 > at_beats[0.5]  # onsets on the beat, none half-way between


def test_fit_tuned_keeps_the_candidate_that_is_right_on_validation():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((80, 4))
    y = (X[:, 0] > 0).astype(int)
    guess = make_pipeline(StandardScaler(), DummyClassifier(strategy="most_frequent"))
    learner = make_pipeline(StandardScaler(), LogisticRegression())
    chosen = fit_tuned([guess, learner], X[:60], y[:60], X[60:], y[60:])
    assert chosen is learner and chosen.score(X[60:], y[60:]) > 0.9
    assert fit_tuned([guess, learner], X[:60], y[:60], X[:0], y[:0]) is guess  # no validation clips: the first


def test_svm_candidates_only_with_three_training_clips_per_genre():
    assert len(rhythm_harmony_candidates(0, min_class_clips=2)) == 4  # logistic regression, 4 values of C
    assert len(rhythm_harmony_candidates(0, min_class_clips=3)) == 7  # + RBF SVM, 3 values of C


def test_overlapping_frames_are_joined_without_repeating_time_steps():
    frames = np.arange(3 * 4 * 2).reshape(3, 4, 2)
    pieces = without_overlap(frames, hop_columns=2)
    assert [len(p) for p in pieces] == [2, 2, 4]
    assert len(without_overlap(frames, hop_columns=4)) == 3 and without_overlap(frames[:0], hop_columns=2) == []


def test_rhythm_harmony_baseline_runs_on_a_store_and_its_audio(tmp_path, small_cfg):
    tracks = two_tone_tracks(tmp_path)
    write_feature_store(tmp_path / "features", tracks, cfg=small_cfg, workers=1, progress=False)
    store = open_feature_store(tmp_path / "features")
    audio = dict(zip(tracks["track_id"], tracks["path"]))
    table, probs = baseline_probabilities(store, n_genres=2, seed=0, name="rhythm_harmony", audio=audio)
    assert list(table["track_id"]) == ["high/0", "low/0"] and list(probs.argmax(axis=1)) == list(table["label"])
    with pytest.raises(DataError, match="needs the audio of high/0"):
        split_statistics(store, "test", name="rhythm_harmony")
    with pytest.raises(ValueError, match="unknown baseline 'mfcc'"):
        split_statistics(store, "test", name="mfcc")

"""Two classical baselines on the identical split, each per-clip statistics + a linear or kernel classifier.

- ``baseline`` (MFCC): MFCC, delta, centroid and level statistics + logistic regression (C = 1). It hears
  timbre and loudness, not rhythm or harmony.
- ``rhythm_harmony``: the MFCC statistics plus what the synthetic genres (and real ones) differ by:
  harmony (a pitch-class profile from an STFT chroma of the clip's audio, made key-invariant, and how
  fast it changes) and rhythm (onset strength, the tempo, the onset autocorrelation at fractions and multiples of the
  beat, and the tempogram on log-spaced lags). Logistic regression or an RBF SVM, its kind and C chosen
  on the validation clips; fitted on the training clips.

The MFCC and rhythm statistics are computed from the stored log-mel frames (MFCCs are the DCT of the
log-mel spectrogram) and the chroma from each clip's audio file, so each baseline sees exactly the audio,
split and clips the CRNN sees. Scalers are
fitted on the training clips only (the first step of each fitted pipeline).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import librosa
import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from genrecrnn.data.audio import load_audio
from genrecrnn.features.logmel import KEY_PROFILES
from genrecrnn.features.store import FeatureStore
from genrecrnn.util.errors import DataError

N_MFCC = 20
# The baselines metrics.json reports, by key: what a reader is told each one is.
BASELINES: dict[str, str] = {
    "baseline": "MFCC baseline",
    "rhythm_harmony": "rhythm/harmony baseline",
}


def mel_band_centres(n_mels: int, *, sr: int) -> np.ndarray:
    """Centre frequency (Hz) of each of librosa's `n_mels` mel filters (n_mels,), fmin 0, fmax sr / 2.

    librosa places n_mels + 2 points evenly on the mel scale and filter i spans points i..i+2,
    peaking at point i + 1; ``mel_frequencies(n_mels)`` would give band edges, shifted low.
    """
    return librosa.mel_frequencies(n_mels=n_mels + 2, fmax=sr / 2)[1:-1]


def clip_statistics(frames: np.ndarray, *, sr: int) -> np.ndarray:
    """Summary vector of one clip from its log-mel frames (n, time, mels): MFCC/delta/centroid/level mean and std."""
    spec = np.concatenate(list(frames), axis=0).T  # (mels, all time steps of the clip)
    mfcc = librosa.feature.mfcc(S=spec, n_mfcc=N_MFCC)
    delta = np.diff(mfcc, axis=1) if mfcc.shape[1] > 1 else np.zeros_like(mfcc)
    centres = mel_band_centres(spec.shape[0], sr=sr)
    power = librosa.db_to_power(spec)
    centroid = (centres[:, None] * power).sum(axis=0) / np.maximum(power.sum(axis=0), 1e-12)
    level = spec.mean(axis=0)
    parts = [mfcc.mean(1), mfcc.std(1), delta.std(1), [centroid.mean(), centroid.std(), level.mean(), level.std()]]
    return np.concatenate([np.ravel(p) for p in parts]).astype(np.float64)


# Chroma from the audio, not the mel bands: below ~1 kHz mel bands are ~26 Hz apart, wider than a
# semitone, and a pitch-class profile read from them lost about half its accuracy on the synthetic
# genres. 4096-sample windows give 5.4 Hz bins at 22050 Hz.
CHROMA_FFT = 4096
CHROMA_HOP = 2048


def audio_chroma(y: np.ndarray, *, sr: int) -> np.ndarray:
    """Chroma (12, columns) of a mono signal at `sr` Hz, CHROMA_FFT-sample windows every CHROMA_HOP samples."""
    return librosa.feature.chroma_stft(y=y, sr=sr, n_fft=CHROMA_FFT, hop_length=CHROMA_HOP)


def harmony_statistics(chroma: np.ndarray) -> np.ndarray:
    """35 key-invariant harmony numbers of a chroma (12, columns): which intervals sound and how fast chords change.

    The mean pitch-class profile's DFT magnitudes 1..6 (6, invariant to transposition: interval
    content); its correlation with the best major and the best minor Krumhansl-Kessler key (2) and which
    of the two wins (1); the profile rotated so the estimated tonic comes first (12) and each rotated
    class's standard deviation over time (12); the chroma flux per column, mean and std (2).
    """
    profile = chroma.mean(axis=1)
    profile = profile / max(float(profile.sum()), 1e-12)
    transposition_free = np.abs(np.fft.rfft(profile))[1:]
    keys = np.array([[_correlation(profile, np.roll(p, k)) for k in range(12)] for p in KEY_PROFILES])
    mode, tonic = np.unravel_index(int(keys.argmax()), keys.shape)
    relative = np.roll(chroma, -tonic, axis=0)
    flux = np.abs(np.diff(chroma, axis=1)).sum(axis=0) if chroma.shape[1] > 1 else np.zeros(1)
    return np.concatenate(
        [
            transposition_free,
            keys.max(axis=1),
            [mode],
            np.roll(profile, -tonic),
            relative.std(axis=1),
            [flux.mean(), flux.std()],
        ]
    )


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two vectors; 0 when either is constant (silence)."""
    a, b = a - a.mean(), b - b.mean()
    norm = float(np.sqrt((a @ a) * (b @ b)))
    return float(a @ b) / norm if norm > 0 else 0.0


# Onset-autocorrelation lags in beats: sixteenths, triplets, eighths, dotted and swung positions, bars.
BEAT_FRACTIONS = (0.25, 1 / 3, 0.5, 2 / 3, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0)
TEMPOGRAM_BINS = 24


def rhythm_statistics(spec: np.ndarray, *, sr: int, hop_length: int) -> np.ndarray:
    """40 rhythm numbers of a log-mel clip (mels, time) in dB: onset strength, tempo and the onset autocorrelation.

    Onset strength (librosa's spectral flux on the log-mel) mean and std (2); the estimated tempo as
    log2(bpm) (1); the tempogram (windowed onset autocorrelation, normalised) averaged over the clip, read
    at BEAT_FRACTIONS of the beat period (10, tempo-invariant: where in the beat the onsets fall) and on
    TEMPOGRAM_BINS log-spaced lags from 2 columns to the window (24); its peak and mean (2); the share of
    columns with an onset peak (1).
    """
    onset = librosa.onset.onset_strength(S=spec, sr=sr, hop_length=hop_length)
    window = int(min(384, max(8, len(onset) // 2)))
    tempogram = librosa.feature.tempogram(onset_envelope=onset, sr=sr, hop_length=hop_length, win_length=window)
    mean_ac = tempogram.mean(axis=1)  # lag 0 .. window-1 columns
    bpm = float(librosa.feature.rhythm.tempo(onset_envelope=onset, sr=sr, hop_length=hop_length)[0])
    beat = 60.0 / max(bpm, 1.0) * sr / hop_length  # columns per beat
    lags = np.arange(len(mean_ac))
    at_beats = np.interp(np.array(BEAT_FRACTIONS) * beat, lags, mean_ac, right=0.0)
    log_lags = np.interp(np.geomspace(2, len(mean_ac) - 1, TEMPOGRAM_BINS), lags, mean_ac)
    peaks = librosa.util.peak_pick(onset, pre_max=3, post_max=3, pre_avg=3, post_avg=5, delta=0.5, wait=3)
    density = len(peaks) / max(len(onset), 1)
    return np.concatenate(
        [
            [onset.mean(), onset.std(), np.log2(max(bpm, 1.0))],
            at_beats,
            log_lags,
            [mean_ac[1:].max(), mean_ac[1:].mean(), density],
        ]
    )


def rhythm_harmony_statistics(frames: list[np.ndarray], y: np.ndarray, *, sr: int, hop_length: int) -> np.ndarray:
    """One clip's MFCC statistics (:func:`clip_statistics`), harmony statistics of its audio `y` (mono, `sr` Hz)
    and rhythm statistics of its log-mel frames."""
    spec = np.concatenate(list(frames), axis=0).T
    return np.concatenate(
        [
            clip_statistics(frames, sr=sr),
            harmony_statistics(audio_chroma(y, sr=sr)),
            rhythm_statistics(spec, sr=sr, hop_length=hop_length),
        ]
    ).astype(np.float64)


def without_overlap(frames: np.ndarray, *, hop_columns: int) -> list[np.ndarray]:
    """A clip's frames (n, time, mels) cut back to consecutive pieces: each but the last keeps its first
    `hop_columns` columns, so overlapping frames (hop < frame length) do not repeat time steps when joined."""
    if len(frames) == 0 or hop_columns >= frames.shape[1]:
        return list(frames)
    return [*(frame[:hop_columns] for frame in frames[:-1]), frames[-1]]


def split_statistics(
    store: FeatureStore, split: str, *, name: str = "baseline", audio: Mapping[str, Path] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X (clips, features), y (clips,), track ids) of baseline `name` for every clip of `split`, in track order.

    The rhythm/harmony baseline also reads each clip's audio: `audio` maps track_id to its file.
    """
    if name not in BASELINES:
        raise ValueError(f"unknown baseline {name!r}; choose one of {list(BASELINES)}")
    rows = store.split(split).sort_values(["track_id", "frame_index"])
    cfg = store.config
    xs, ys, ids = [], [], []
    for track_id, part in rows.groupby("track_id", sort=True):
        mel = np.asarray(store.frames[part["row"].to_numpy()])[:, :, : cfg.n_mels]  # without chroma bands, if any
        frames = without_overlap(mel, hop_columns=cfg.hop_columns)
        if name == "baseline":
            xs.append(clip_statistics(frames, sr=cfg.sample_rate))
        else:
            if audio is None or track_id not in audio:
                raise DataError(f"the rhythm/harmony baseline needs the audio of {track_id}; pass the data set's files")
            y = load_audio(audio[track_id], sr=cfg.sample_rate)
            xs.append(rhythm_harmony_statistics(frames, y, sr=cfg.sample_rate, hop_length=cfg.hop_length))
        ys.append(int(part["label"].iloc[0]))
        ids.append(track_id)
    return np.stack(xs), np.array(ys), np.array(ids)


def fit_baseline(X: np.ndarray, y: np.ndarray, *, seed: int) -> Pipeline:
    """Standardise (fitted on these training clips only) and fit a multinomial logistic regression."""
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000, random_state=seed))
    return model.fit(X, y)


def rhythm_harmony_candidates(seed: int, *, min_class_clips: int) -> list[Pipeline]:
    """The rhythm/harmony baseline's candidates: standardise, then logistic regression or an RBF SVM, several C.

    The SVM's probabilities are calibrated by 3-fold cross-validation inside the training clips, so it is a
    candidate only when every genre has at least 3 training clips (`min_class_clips`).
    """
    linear = [LogisticRegression(C=c, max_iter=5000, random_state=seed) for c in (0.01, 0.1, 1.0, 10.0)]
    kernel = [
        CalibratedClassifierCV(SVC(C=c, random_state=seed), ensemble=False, cv=StratifiedKFold(3))
        for c in (1.0, 10.0, 100.0)
    ]
    return [make_pipeline(StandardScaler(), m) for m in (*linear, *(kernel if min_class_clips >= 3 else []))]


def fit_tuned(
    candidates: list[Pipeline], X_train: np.ndarray, y_train: np.ndarray, X_val: np.ndarray, y_val: np.ndarray
) -> Pipeline:
    """The candidate, fitted on the training clips, with the best validation accuracy (ties: lower log loss).

    With no validation clips the first candidate is returned, fitted on the training clips.
    """
    if len(X_val) == 0:
        return candidates[0].fit(X_train, y_train)
    best, best_key = None, None
    for model in candidates:
        model.fit(X_train, y_train)
        probs = _probabilities(model, X_val, n_genres=int(max(y_train.max(), y_val.max())) + 1)
        chance = np.maximum(probs[np.arange(len(y_val)), y_val], 1e-12)
        key = (float(np.mean(probs.argmax(axis=1) == y_val)), float(np.mean(np.log(chance))))
        if best_key is None or key > best_key:
            best, best_key = model, key
    return best


def _probabilities(model: Pipeline, X: np.ndarray, *, n_genres: int) -> np.ndarray:
    """predict_proba spread over all `n_genres` columns: a genre absent from training keeps probability 0."""
    probs = np.zeros((len(X), n_genres))
    probs[:, model.classes_] = model.predict_proba(X)
    return probs


def baseline_probabilities(
    store: FeatureStore,
    *,
    n_genres: int,
    seed: int,
    split: str = "test",
    name: str = "baseline",
    audio: Mapping[str, Path] | None = None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Fit baseline `name` (a BASELINES key) on the train clips, predict `split`'s clips.

    Returns (table of track_id/label, probs (clips, n_genres)). The rhythm/harmony baseline chooses its
    classifier on the val clips (:func:`fit_tuned`); the MFCC baseline has none to choose.
    """
    X_train, y_train, _ = split_statistics(store, "train", name=name, audio=audio)
    X_test, y_test, ids = split_statistics(store, split, name=name, audio=audio)
    if name == "baseline":
        model = fit_baseline(X_train, y_train, seed=seed)
    else:
        X_val, y_val, _ = split_statistics(store, "val", name=name, audio=audio)
        fewest = int(np.bincount(y_train)[np.unique(y_train)].min())  # training clips of the rarest genre
        candidates = rhythm_harmony_candidates(seed, min_class_clips=fewest)
        model = fit_tuned(candidates, X_train, y_train, X_val, y_val)
    return pd.DataFrame({"track_id": ids, "label": y_test}), _probabilities(model, X_test, n_genres=n_genres)

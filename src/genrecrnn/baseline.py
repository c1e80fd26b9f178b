"""A classical baseline on the identical split: per-clip MFCC and spectral statistics + logistic regression.

The statistics are computed from the stored log-mel frames (MFCCs are the DCT of the log-mel
spectrogram), so the baseline sees exactly the audio, split and clips the CRNN sees. The scaler is
fitted on the training clips only (it is the first step of the fitted pipeline).
"""

from __future__ import annotations

import librosa
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from genrecrnn.store import FeatureStore

N_MFCC = 20


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


def split_statistics(store: FeatureStore, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X (clips, features), y (clips,), track ids) for every clip of `split`, in track order."""
    rows = store.split(split).sort_values(["track_id", "frame_index"])
    xs, ys, ids = [], [], []
    for track_id, part in rows.groupby("track_id", sort=True):
        xs.append(clip_statistics(np.asarray(store.frames[part["row"].to_numpy()]), sr=store.config.sample_rate))
        ys.append(int(part["label"].iloc[0]))
        ids.append(track_id)
    return np.stack(xs), np.array(ys), np.array(ids)


def fit_baseline(X: np.ndarray, y: np.ndarray, *, seed: int) -> Pipeline:
    """Standardise (fitted on these training clips only) and fit a multinomial logistic regression."""
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000, random_state=seed))
    return model.fit(X, y)


def baseline_probabilities(
    store: FeatureStore, *, n_genres: int, seed: int, split: str = "test"
) -> tuple[pd.DataFrame, np.ndarray]:
    """Fit on the train clips, predict `split`'s clips: (table of track_id/label, probs (clips, n_genres))."""
    X_train, y_train, _ = split_statistics(store, "train")
    X_test, y_test, ids = split_statistics(store, split)
    model = fit_baseline(X_train, y_train, seed=seed)
    probs = np.zeros((len(X_test), n_genres))
    probs[:, model.classes_] = model.predict_proba(X_test)  # a genre absent from train keeps probability 0
    return pd.DataFrame({"track_id": ids, "label": y_test}), probs

"""What the CRNN learned: its clip embeddings mapped to 2-D, and per-genre saliency over mel band x time.

- **Embedding**: the output of the penultimate layer (``dense``, before dropout and the softmax), averaged
  over a clip's frames. Mapped to 2-D by PCA (deterministic, and its axes carry a share of variance).
- **Saliency**: the gradient of a genre's probability with respect to the log-mel input (dB), over the
  test frames of that genre. Gradients, not occlusion: one backward pass per batch. ``band_saliency`` (the
  report's figure) averages its magnitude over frames and time steps: how strongly each mel band moves the
  score, wherever in the frame. ``genre_saliency`` keeps the (time, mel) map of the signed mean; frames are
  cut at arbitrary offsets in a clip, so its time axis carries no musical position.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import keras
import numpy as np
import pandas as pd
import tensorflow as tf
from scipy.ndimage import gaussian_filter
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

from genrecrnn.features.store import FeatureStore
from genrecrnn.util.errors import ModelError

EMBEDDING_LAYER = "dense"  # the CRNN's penultimate layer (model.py names it)


def embedding_model(model: keras.Model, *, layer: str = EMBEDDING_LAYER) -> keras.Model:
    """A model mapping the CRNN's input frames to the output of `layer` (frames, units)."""
    try:
        out = model.get_layer(layer).output
    except ValueError as err:
        names = [x.name for x in model.layers]
        raise ModelError(f"the model has no layer {layer!r}; its layers are {names}") from err
    return keras.Model(model.input, out, name=f"{model.name}_{layer}")


def clip_means(values: np.ndarray, track_ids: Sequence) -> tuple[np.ndarray, np.ndarray]:
    """Mean of per-frame rows (frames, d) per track: (tracks sorted by id, (tracks, d))."""
    ids, inverse = np.unique(np.asarray(track_ids), return_inverse=True)
    sums = np.zeros((len(ids), values.shape[1]))
    np.add.at(sums, inverse, values)
    return ids, sums / np.bincount(inverse, minlength=len(ids))[:, None]


def split_embeddings(
    model: keras.Model, store: FeatureStore, split: str, *, batch_size: int = 256
) -> tuple[pd.DataFrame, np.ndarray]:
    """Clip embeddings of `split`: (table track_id/label sorted by track_id, (clips, units) mean penultimate output)."""
    index = store.split(split).reset_index(drop=True)
    encoder = embedding_model(model)
    rows = index["row"].to_numpy()
    parts = [
        np.asarray(encoder(np.asarray(store.frames[rows[i : i + batch_size]]), training=False))
        for i in range(0, len(rows), batch_size)
    ]
    ids, emb = clip_means(np.concatenate(parts), index["track_id"].to_numpy())
    labels = index.groupby("track_id")["label"].first().reindex(ids).to_numpy()
    return pd.DataFrame({"track_id": ids, "label": labels}), emb


def pca_map(features: np.ndarray, *, standardise: bool) -> tuple[np.ndarray, np.ndarray]:
    """2-D PCA of (n, d) features: (points (n, 2), explained variance ratio (2,)); sign fixed for reproducibility.

    ``standardise`` scales every column to unit variance first (for features in different units, e.g.
    MFCC statistics); learned embeddings share one scale and are only centred.
    """
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"need at least two rows of features (n, d), got shape {x.shape}")
    if standardise:
        x = StandardScaler().fit_transform(x)
    n_components = min(2, x.shape[1], len(x))
    pca = PCA(n_components=n_components, svd_solver="full").fit(x)
    points = pca.transform(x)
    ratio = pca.explained_variance_ratio_
    if n_components < 2:  # one feature or two rows: a flat second axis
        points, ratio = np.column_stack([points, np.zeros(len(x))]), np.append(ratio, 0.0)
    # PCA's signs are arbitrary: make the largest |loading| of each axis positive, so maps do not flip
    signs = np.sign(pca.components_[np.arange(n_components), np.abs(pca.components_).argmax(axis=1)])
    points[:, :n_components] *= signs
    return points, np.nan_to_num(ratio)


def embedding_maps(
    model: keras.Model, store: FeatureStore, split: str
) -> tuple[np.ndarray, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """The clips of `split` mapped to 2-D twice: (labels (clips,), {name: (points (clips, 2), variance ratio (2,))}).

    One map of the CRNN's embedding (centred), one of the baseline's MFCC statistics (standardised),
    the same clips in the same order (sorted by track_id) in both.
    """
    from genrecrnn.evaluation.baseline import split_statistics

    clips, embedding = split_embeddings(model, store, split)
    mfcc, _, ids = split_statistics(store, split)
    if list(map(str, ids)) != list(map(str, clips["track_id"])):
        raise ModelError(f"the embedding and the MFCC statistics list different clips of split {split!r}")
    maps = {
        "CRNN embedding (penultimate layer)": pca_map(embedding, standardise=False),
        "baseline features (MFCC statistics)": pca_map(mfcc, standardise=True),
    }
    return clips["label"].to_numpy(), maps


def input_gradients(model: keras.Model, frames: np.ndarray, genre: int) -> np.ndarray:
    """d probability(genre) / d input for each frame (n, time, mels), in inference mode."""
    x = tf.convert_to_tensor(np.asarray(frames, dtype=np.float32))
    with tf.GradientTape() as tape:
        tape.watch(x)
        score = model(x, training=False)[:, genre]
    return tape.gradient(score, x).numpy()


def _genre_gradients(
    model: keras.Model, store: FeatureStore, split: str, *, n_genres: int, max_frames: int, seed: int
) -> Iterator[tuple[int, np.ndarray]]:
    """(genre, input gradients of its probability (frames, time, mels)) over `split`'s frames of each genre present.

    At most `max_frames` frames per genre, a seeded sample, keep the cost bounded.
    """
    index = store.split(split).reset_index(drop=True)
    rng = np.random.default_rng(seed)
    for genre in range(n_genres):
        rows = index.loc[index["label"] == genre, "row"].to_numpy()
        if len(rows) == 0:
            continue
        if len(rows) > max_frames:
            rows = np.sort(rng.choice(rows, size=max_frames, replace=False))
        yield genre, input_gradients(model, np.asarray(store.frames[rows]), genre)


def genre_saliency(
    model: keras.Model,
    store: FeatureStore,
    split: str,
    *,
    n_genres: int,
    max_frames: int = 256,
    seed: int = 0,
    smooth: tuple[float, float] = (3.0, 1.5),
) -> np.ndarray:
    """Per genre, the mean input gradient of its probability over `split`'s frames of that genre (genres, time, mels).

    At most `max_frames` frames per genre (a seeded sample) keep the cost bounded; a genre without
    frames in `split` gets zeros. ``smooth`` is the Gaussian's sigma in (time steps, mel bands): raw
    gradients vary from bin to bin, and the figure is about regions; (0, 0) keeps them raw.
    """
    out = np.zeros((n_genres, *store.config.frame_shape), dtype=np.float64)
    for genre, grads in _genre_gradients(model, store, split, n_genres=n_genres, max_frames=max_frames, seed=seed):
        out[genre] = grads.mean(axis=0)
    return gaussian_filter(out, sigma=(0, *smooth)) if any(smooth) else out


def band_saliency(
    model: keras.Model, store: FeatureStore, split: str, *, n_genres: int, max_frames: int = 256, seed: int = 0
) -> np.ndarray:
    """Per genre and mel band, the mean |d probability / d level| (1/dB) over the genre's frames and time steps.

    Returns (genres, mel bands) from `split`'s frames of each genre (at most `max_frames`, a seeded sample).
    Magnitudes, not signed values: a band whose level moves the score up in one frame and down in the
    next still matters, and signed means cancel. A genre without frames in `split` gets zeros.
    """
    out = np.zeros((n_genres, store.config.frame_shape[1]), dtype=np.float64)
    for genre, grads in _genre_gradients(model, store, split, n_genres=n_genres, max_frames=max_frames, seed=seed):
        out[genre] = np.abs(grads).mean(axis=(0, 1))
    return out

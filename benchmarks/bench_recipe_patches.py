"""Recipe variants that are not params.yaml keys, tried on the real-music dev set and not kept: bench_recipe, patched.

Each patch swaps one piece of the package for the length of the run, then runs bench_recipe.py with the
remaining arguments, so the README's rows for these variants can be repeated (they were measured
without the clip profile, so the script adds `--set features.clip_profile=false`):

- `semitone`: the mel filter bank becomes one triangular band per semitone (log frequency, SEMITONE_FMIN_HZ
  up to the Nyquist frequency) and key shift moves whole bands. Give the band count as features.n_mels
  and a 4096-point FFT, so a semitone spans at least one FFT bin from 65 Hz up:
  `--set features.n_mels=88 --set features.n_fft=4096`. Use its own --work folder: the cached
  features are keyed by params, not by the patch.
- `tonic`: each clip's log-mel is shifted (key shift's taps, at most 6 semitones either way) so that the
  major key whose Krumhansl-Kessler profile best matches the clip's chroma (4096-point STFT, as the
  rhythm/harmony baseline) lands on C: clips in the same scale then share band positions whatever their
  key. Use with `--set train.augment.key_shift=0` (a random shift would undo the alignment) and its own --work.
- `ema`: AdamW keeps an exponential moving average of the weights (momentum EMA_MOMENTUM) and writes it
  into the model every EMA_EVERY steps (Keras' `use_ema`); with 37 batches an epoch that is once an epoch.

    python benchmarks/bench_recipe_patches.py semitone --data ../devset --seeds 1 2 3 --variants default \
        --set features.n_mels=88 --set features.n_fft=4096 --set preprocess.workers=1 --work /tmp/semitone
    python benchmarks/bench_recipe_patches.py ema --data ../devset --seeds 1 2 3 --variants default

`preprocess.workers=1` keeps preprocessing in this process, where the patch is installed. Patches combine
in the order given: `semitone,tonic` aligns keys by whole semitone bands.
"""

from __future__ import annotations

import functools
import sys

import numpy as np
from scipy import sparse

SEMITONE_FMIN_HZ = 65.406  # C2
EMA_MOMENTUM, EMA_EVERY = 0.99, 37


def semitone_basis(sr: int, n_fft: int, n_bands: int) -> sparse.csr_array:
    """(n_bands, 1 + n_fft // 2) triangles one semitone wide on each side, centred on C2, C#2, ...; rows sum to 1."""
    centres = SEMITONE_FMIN_HZ * 2.0 ** (np.arange(n_bands) / 12)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    semitones_away = np.abs(12 * np.log2(np.maximum(freqs[None, :], 1e-3) / centres[:, None]))
    weights = np.maximum(0.0, 1.0 - semitones_away)
    empty = np.flatnonzero(weights.sum(axis=1) == 0)  # a band narrower than one bin takes its nearest bin
    weights[empty, np.abs(freqs[None, :] - centres[empty, None]).argmin(axis=1)] = 1.0
    return sparse.csr_array((weights / weights.sum(axis=1, keepdims=True)).astype(np.float32))


@functools.lru_cache(maxsize=16)
def whole_band_taps(semitones: int, *, n_mels: int, sr: int, chroma_bands: int = 0) -> tuple:
    """augment.shift_taps for semitone bands: output band b reads band b - semitones (edge bands repeat)."""
    source = np.clip(np.arange(n_mels) - semitones, 0, n_mels - 1).astype(np.int64)
    return source, source, np.zeros(n_mels, np.float32)


def major_key(y: np.ndarray, *, sr: int) -> int:
    """Pitch class 0..11 (C = 0) of the major key whose Krumhansl-Kessler profile best matches the clip's chroma."""
    from genrecrnn.evaluation.baseline import _correlation, audio_chroma
    from genrecrnn.features.logmel import KEY_PROFILES

    profile = audio_chroma(y, sr=sr).mean(axis=1)
    return int(np.argmax([_correlation(profile, np.roll(KEY_PROFILES[0], k)) for k in range(12)]))


def tonic_aligned(logmel_of):
    """logmel with each clip's bands shifted so its best major key lands on C (by -6..+5 semitones)."""
    from genrecrnn.features.augment import shift_taps

    def aligned(y: np.ndarray, *, cfg) -> np.ndarray:
        spec = logmel_of(y, cfg=cfg)
        key = major_key(y, sr=cfg.sample_rate)
        up = -(((key + 6) % 12) - 6)  # key 7 (G) moves up 5 to C, key 2 (D) down 2
        low, high, weight = shift_taps(up, n_mels=cfg.n_mels, sr=cfg.sample_rate)
        return spec[low] + weight[:, None] * (spec[high] - spec[low])

    return aligned


def install(patch: str) -> None:
    """Swap in `patch` ("semitone", "tonic" or "ema") for this process."""
    if patch == "semitone":
        from genrecrnn.features import augment, logmel

        logmel._mel_basis = functools.lru_cache(maxsize=8)(semitone_basis)
        augment.shift_taps = whole_band_taps
    elif patch == "tonic":
        from genrecrnn.features import logmel

        logmel.logmel = tonic_aligned(logmel.logmel)
    elif patch == "ema":
        import keras

        class EmaAdamW(keras.optimizers.AdamW):
            def __init__(self, *args, **kwargs) -> None:
                super().__init__(
                    *args, use_ema=True, ema_momentum=EMA_MOMENTUM, ema_overwrite_frequency=EMA_EVERY, **kwargs
                )

        keras.optimizers.AdamW = EmaAdamW
    else:
        raise SystemExit(f"unknown patch {patch!r}; one of: semitone, tonic, ema")


if __name__ == "__main__":  # the guard matters: Dask's worker processes import this file again
    if len(sys.argv) < 2:  # `make bench` runs every script bare: nothing to patch, so nothing to measure
        print(__doc__)
        raise SystemExit(0)
    for name in sys.argv.pop(1).split(","):  # e.g. semitone,tonic: key alignment by whole semitone bands
        install(name)
    # The README's rows for these patches were measured on the recipe without the clip profile (and the
    # semitone and tonic patches shift the mel bands only), so they run without it.
    sys.argv += ["--set", "features.clip_profile=false"]
    import bench_recipe

    bench_recipe.main()

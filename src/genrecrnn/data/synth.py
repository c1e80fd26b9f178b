"""Seeded synthetic stand-in for GTZAN: ten genres of short songs with drums, bass, chords and a melody.

Each genre is a `Recipe`: a tempo range, swing, 16-step drum/bass/comping patterns, modes and chord
progressions, voicing, melody density, and its own instruments (additive wavetables with an
attack/decay envelope), distortion, master low-pass and part levels. A clip draws its tempo, key and
patterns from its recipe, so songs of one genre vary, while genres overlap in tempo.

`timbre` says where a clip's sound comes from. "shared" (the default): instruments, distortion,
brightness and part levels come from one pool for all genres, drawn from a random stream seeded
without the genre, so genres differ only as real ones do: rhythm and groove, tempo, harmony and mode,
voicing, bass line and texture (melody density, legato, drums or none). "genre": each recipe's own
instruments and mix (the only behaviour before this option, byte for byte), so a classifier can tell
genres apart by timbre alone. `difficulty` in [0, 1] widens the ranges, jitters the part levels more,
adds more noise and lets whole trait groups (groove, drums, bass, harmony, comping, lead, tone) be
borrowed from a random other genre, so at 1 genres overlap heavily.

The recipes are in :mod:`genrecrnn.data.recipes`; one song is drawn and mixed by :mod:`genrecrnn.data.song`.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from genrecrnn.config.sections import DataParams
from genrecrnn.data.recipes import RECIPES, TRAIT_GROUPS, Recipe
from genrecrnn.data.song import render
from genrecrnn.util import portable as pm
from genrecrnn.util.errors import ConfigError

GTZAN_GENRES: tuple[str, ...] = (
    "blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock",
)  # fmt: skip

# How difficulty (0..1) maps to overlap. Tuned with timbre="genre", where MFCC mean+std + logistic regression
# scores about 0.94 / 0.75 / 0.37 at difficulty 0 / 0.5 / 1 (chance is 0.1; 20 clips of 10 s per genre, 5-fold
# CV). Not retuned for timbre="shared": there the same classifier scores about 0.65 / 0.51 / 0.25, because
# only rhythm, harmony and texture are left to tell genres apart, and a model must hear those.
_BORROW = 0.3  # chance per trait group of taking another genre's traits, times difficulty**2


# timbre="shared": every clip draws its instruments, distortion, brightness and mix from these pools,
# whatever its genre, so genres differ only in rhythm, tempo, harmony, bass line and texture (as real ones do).
# "genre" keeps each recipe's own instruments and mix: timbre then gives the label away (modes: sections.TIMBRES).
_SOUND_STREAM = 1000  # second entropy word of the shared-sound stream; genre streams use the genre index 0..9
_SHARED_BASS = ("bass", "synthbass", "sub", "strings")
_SHARED_MELODIC = ("piano", "epiano", "organ", "strings", "guitar", "synth", "brass", "flute")  # chords and lead
_SHARED_DRIVE = ((0.6, 0.0, 0.0), (0.25, 1.5, 3.0), (0.15, 5.0, 12.0))  # (chance, gain range): clean, light, heavy
_SHARED_CUTOFF = (2000.0, 10000.0)  # Hz, log-uniform; spans every recipe's cutoff range
_SHARED_LEVEL = (0.5, 1.2)  # each part's level, log-uniform; spans the recipes' levels


def clip_seed(seed: int, genre: str, index: int) -> int:
    """Seed that `generate_dataset(seed=seed)` passes to `synth_clip` for clip `index` of `genre`."""
    state = np.random.SeedSequence([seed, GTZAN_GENRES.index(genre), index]).generate_state(2)
    return int(state[0]) << 32 | int(state[1])


def synth_clip(
    genre: str,
    *,
    seed: int,
    seconds: float = 30.0,
    sr: int = 22050,
    difficulty: float = 0.5,
    timbre: str = "shared",
) -> np.ndarray:
    """float32 mono signal in [-1, 1], shape (round(seconds*sr),), sr in Hz; `timbre` is one of TIMBRES."""
    check_args(genres=[genre], seconds=seconds, sr=sr, difficulty=difficulty, timbre=timbre)
    return _clip(genre, seed=seed, seconds=seconds, sr=sr, difficulty=difficulty, timbre=timbre)


# synth_clip's keywords besides genre and seed, with its defaults: what synth_set passes on to every clip.
_CLIP_DEFAULTS = {
    name: p.default for name, p in inspect.signature(synth_clip).parameters.items() if name not in ("genre", "seed")
}


def synth_set(
    genres: Sequence[str], *, clips_per_genre: int, seed: int, **clip: Any
) -> Iterator[tuple[str, int, np.ndarray]]:
    """(genre, index, signal) of every clip of the synthetic set, genre by genre: clip `index` is
    synth_clip(genre, seed=clip_seed(seed, genre, index), **clip). `clip` holds synth_clip's other keywords
    (seconds, sr, difficulty, timbre; its defaults where left out), checked here, once, not per clip."""
    unknown = sorted(set(clip) - set(_CLIP_DEFAULTS))
    if unknown:
        raise TypeError(f"synth_set() got unexpected keyword argument(s) {unknown}; allowed: {list(_CLIP_DEFAULTS)}")
    args = _CLIP_DEFAULTS | clip
    check_args(genres=genres, clips_per_genre=clips_per_genre, **args)
    return (
        (genre, index, _clip(genre, seed=clip_seed(seed, genre, index), **args))
        for genre in genres
        for index in range(clips_per_genre)
    )


def _clip(genre: str, *, seed: int, seconds: float, sr: int, difficulty: float, timbre: str) -> np.ndarray:
    """synth_clip without the argument checks."""
    rng = np.random.default_rng([seed, GTZAN_GENRES.index(genre)])
    recipe = _draw_recipe(genre, rng, difficulty)
    if timbre == "shared":  # a stream seeded without the genre, so the sound cannot carry the label
        recipe = _with_shared_sound(recipe, np.random.default_rng([seed, _SOUND_STREAM]))
    return render(recipe, rng, n=round(seconds * sr), sr=sr, difficulty=difficulty)


def check_args(
    *, genres: Sequence[str], seconds: float, sr: int, difficulty: float, timbre: str, clips_per_genre: int = 1
) -> None:
    """ConfigError for a genre without a recipe, values the `data` section would reject, or under one sample."""
    unknown = [g for g in genres if g not in GTZAN_GENRES]
    if unknown or len(genres) == 0:
        raise ConfigError(f"unknown genre(s) {unknown or 'none given'}; allowed: {', '.join(GTZAN_GENRES)}")
    DataParams(clip_seconds=seconds, difficulty=difficulty, timbre=timbre, clips_per_genre=clips_per_genre)
    if round(seconds * sr) < 1:
        raise ConfigError(f"seconds={seconds} at sr={sr} Hz is less than one sample")


def _draw_recipe(genre: str, rng: np.random.Generator, difficulty: float) -> Recipe:
    """The genre's recipe with each trait group swapped for a random other genre's."""
    recipe = RECIPES[genre]
    donor = RECIPES[rng.choice([g for g in GTZAN_GENRES if g != genre])]
    borrow = rng.random(len(TRAIT_GROUPS)) < _BORROW * difficulty**2
    swaps = {f: getattr(donor, f) for group, b in zip(TRAIT_GROUPS, borrow, strict=True) if b for f in group}
    return replace(recipe, **swaps)


def _draw_sound(rng: np.random.Generator) -> dict[str, Any]:
    """Recipe fields for one clip's instruments (names), drive, cutoff (Hz) and part levels, from the shared pools."""
    chance, low, high = zip(*_SHARED_DRIVE, strict=True)
    kind = rng.choice(len(chance), p=chance)
    cutoff = float(pm.exp(rng.uniform(*pm.log(_SHARED_CUTOFF))))
    levels = pm.exp(rng.uniform(*pm.log(_SHARED_LEVEL), 4))
    return {
        "bass_timbre": str(rng.choice(_SHARED_BASS)),
        "chord_timbre": str(rng.choice(_SHARED_MELODIC)),
        "lead_timbre": str(rng.choice(_SHARED_MELODIC)),
        "drive": float(rng.uniform(low[kind], high[kind])),
        "cutoff": (cutoff, cutoff),  # an empty range: render's widening then keeps this value
        **dict(zip(("drum_level", "bass_level", "chord_level", "lead_level"), levels.tolist(), strict=True)),
    }


def _with_shared_sound(recipe: Recipe, rng: np.random.Generator) -> Recipe:
    """`recipe` with its sound fields replaced by one `_draw_sound` draw; `rng` must not depend on the genre."""
    sound = _draw_sound(rng)
    # Each timbre tuple keeps its length, filled with the drawn name: the clip's own stream then makes the same
    # draws as with timbre="genre", so both modes play the same notes and differ only in sound.
    for field in ("bass_timbre", "chord_timbre", "lead_timbre"):
        sound[field] = (sound[field],) * len(getattr(recipe, field))
    return replace(recipe, **sound)

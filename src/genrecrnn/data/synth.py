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

Rendering is per note event (never per sample): each note is a vectorised wavetable tone added at its
onset, with tones cached per clip, so a 30 s clip takes a few tens of milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

import numpy as np
from scipy.signal import lfilter, sosfilt

from genrecrnn.config.sections import DataParams
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
_LEVEL_JITTER = 0.4  # extra log-gain spread of each part, times difficulty
_NOISE = 0.2  # largest noise-to-signal RMS ratio, times difficulty
_TABLE_SIZE = 2048  # samples per wavetable period; power of two so phase wraps with a bit mask
_STEPS = 16  # sixteenth notes per 4/4 bar; every pattern string has this length (or is empty)
_MODES = {
    "major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10), "dorian": (0, 2, 3, 5, 7, 9, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10), "harmonic": (0, 2, 3, 5, 7, 8, 11),
}  # fmt: skip


def _series(n: int, power: float, *, odd: bool = False) -> tuple[float, ...]:
    """Harmonic amplitudes 1/k**power for k = 1..n (odd k only if `odd`)."""
    return tuple(0.0 if odd and k % 2 == 0 else k**-power for k in range(1, n + 1))


@dataclass(frozen=True)
class Timbre:
    """An additive instrument: harmonic amplitudes, attack and decay in s, vibrato depth (relative)."""

    harmonics: tuple[float, ...]
    attack: float
    decay: float = np.inf  # e-folding time of the amplitude; inf holds the note
    vibrato: float = 0.0


_TIMBRES = {
    "piano": Timbre(_series(10, 1.5), 0.004, 0.7),
    "epiano": Timbre((1.0, 0.3, 0.05, 0.1), 0.005, 1.2),
    "organ": Timbre((1.0, 0.8, 0.0, 0.6, 0.0, 0.4, 0.0, 0.3), 0.01),
    "strings": Timbre(_series(14, 1.0), 0.18, vibrato=0.006),
    "guitar": Timbre(_series(12, 1.1), 0.003, 0.5),
    "synth": Timbre(_series(15, 1.0, odd=True), 0.01, 0.5),
    "brass": Timbre(_series(10, 0.8), 0.05, 2.0, 0.004),
    "flute": Timbre((1.0, 0.2, 0.08), 0.06, vibrato=0.005),
    "bass": Timbre((1.0, 0.5, 0.25, 0.12), 0.005, 0.6),
    "synthbass": Timbre(_series(8, 1.0), 0.005, 0.35),
    "sub": Timbre((1.0, 0.05), 0.01),
}


_EIGHTHS, _BACKBEAT = "x.x.x.x.x.x.x.x.", "....x.......x..."


@dataclass(frozen=True, kw_only=True)
class Recipe:
    """How one genre is played. Patterns are 16 steps: 'x' hit, 'o' soft, 'O' open hat, '.' rest;
    bass adds 'r' root, 'f' fifth, 'o' octave, 'w' walking; comping 'a' plays one chord tone (arpeggio).
    The sound fields (the three *_timbre, drive, cutoff and the four *_level) are used with timbre="genre";
    with "shared" each clip replaces them with a draw from the shared pools (`_draw_sound`)."""

    tempo: tuple[float, float]  # bpm range
    swing: float = 0.0  # 0 straight, 1 triplet eighths
    kick: tuple[str, ...] = ("x.......x.......",)
    snare: tuple[str, ...] = (_BACKBEAT,)
    hat: tuple[str, ...] = (_EIGHTHS,)  # "" for no drums
    cymbal: str = "hat"  # or "ride"
    drum_level: float = 0.8
    bass: tuple[str, ...] = (_EIGHTHS,)
    bass_timbre: tuple[str, ...] = ("bass",)
    bass_level: float = 0.8
    modes: tuple[str, ...] = ("major",)
    progressions: tuple[tuple[int, ...], ...]  # scale degree (0 = tonic) of each bar's chord
    sevenths: bool = False
    comp: tuple[str, ...] = (_EIGHTHS,)
    legato: float = 0.8  # comping note length as a fraction of the gap to the next hit
    power: bool = False  # root-fifth-octave voicing instead of stacked thirds
    chord_timbre: tuple[str, ...]
    drive: float = 0.0  # tanh distortion gain on the comping part; 0 = clean
    chord_level: float = 0.7
    lead_timbre: tuple[str, ...]
    lead_density: float = 0.3  # chance of a melody onset on a sixteenth step
    lead_level: float = 0.8
    cutoff: tuple[float, float]  # Hz range of the master low-pass (brightness)


_RECIPES = {
    "blues": Recipe(
        tempo=(65, 100), swing=0.85, kick=("x.....x.x.......",), drum_level=0.7,
        bass=("r...f...o...f...", "r.r.f.f.o.o.f.f."), modes=("mixolydian",),
        progressions=((0, 0, 0, 0, 3, 3, 0, 0, 4, 3, 0, 4),), sevenths=True, comp=("x..x..x...x..x..", _EIGHTHS),
        legato=0.6, chord_timbre=("organ", "piano", "guitar"), drive=2.0, lead_timbre=("guitar", "organ", "brass"),
        lead_level=1.0, cutoff=(3500, 6000)),
    "classical": Recipe(  # no drums: sustained strings, arpeggios, long bass notes
        tempo=(60, 110), kick=("",), snare=("",), hat=("",), drum_level=0.0, bass=("r...............",),
        bass_timbre=("strings",), bass_level=0.5, modes=("major", "harmonic"),
        progressions=((0, 3, 4, 0), (0, 5, 3, 4), (0, 4, 5, 2, 3, 0, 3, 4)),
        comp=("x...............", "a.a.a.a.a.a.a.a.", "aaaaaaaaaaaaaaaa"), legato=1.0,
        chord_timbre=("strings", "piano"), chord_level=0.8, lead_timbre=("strings", "flute", "piano"),
        lead_density=0.25, lead_level=1.0, cutoff=(2500, 5000)),
    "country": Recipe(
        tempo=(90, 140), swing=0.2, hat=("o.x.o.x.o.x.o.x.",), drum_level=0.6,
        bass=("r.......f.......", "r...f...r...f..."), progressions=((0, 3, 4, 0), (0, 0, 3, 4), (0, 4, 0, 3)),
        comp=(_EIGHTHS, "x...x.x.x...x.x."), legato=0.6, chord_timbre=("guitar", "piano"), chord_level=0.8,
        lead_timbre=("guitar", "strings", "flute"), cutoff=(4000, 7000)),
    "disco": Recipe(
        tempo=(110, 130), kick=("x...x...x...x...",), hat=("oxOxoxOxoxOxoxOx", "..O...O...O...O."), drum_level=1.0,
        bass=("r.o.r.o.r.o.r.o.",), bass_timbre=("bass", "synthbass"), bass_level=0.9, modes=("minor", "dorian"),
        progressions=((0, 3), (0, 3, 0, 4), (0, 6, 5, 4)), sevenths=True, comp=("..x...x...x...x.", "x..............."),
        legato=0.4, chord_timbre=("strings", "synth", "piano"), chord_level=0.6,
        lead_timbre=("strings", "synth", "brass"), lead_level=0.7, cutoff=(6000, 9000)),
    "hiphop": Recipe(
        tempo=(80, 100), swing=0.5, kick=("x......x..x.....", "x.....x...x..x.."), hat=(_EIGHTHS, "xxx.x.xxx.x.x.x."),
        drum_level=1.2, bass=("r.........r.....", "r......r..r....."), bass_timbre=("sub",), bass_level=1.1,
        modes=("minor", "dorian"), progressions=((0, 5), (0, 3, 5, 4), (0, 0, 5, 5)), sevenths=True,
        comp=("x.......x.......", "x..............."), legato=0.9, chord_timbre=("epiano", "piano", "strings"),
        chord_level=0.5, lead_timbre=("epiano", "flute", "synth"), lead_density=0.15, lead_level=0.5,
        cutoff=(2000, 4000)),
    "jazz": Recipe(  # swung ride cymbal, feathered kick, brushed snare, walking bass, comping on off-beats
        tempo=(100, 200), swing=0.9, kick=("o.......o.......",), snare=("......o.......o.",),
        hat=("x...x.x.x...x.x.",), cymbal="ride", drum_level=0.5, bass=("w...w...w...w...",), bass_level=0.9,
        modes=("major", "dorian"), progressions=((1, 4, 0, 0), (1, 4, 0, 5), (0, 5, 1, 4)), sevenths=True,
        comp=("...x......x.....", ".x....x.....x...", "x.....x..x......"), legato=0.5,
        chord_timbre=("epiano", "piano"), lead_timbre=("brass", "piano", "flute"), lead_density=0.4,
        lead_level=0.9, cutoff=(3500, 6000)),
    "metal": Recipe(  # double kick, distorted palm-muted power chords
        tempo=(100, 190), kick=("xxxxxxxxxxxxxxxx", _EIGHTHS), snare=(_BACKBEAT, "..x...x...x...x."),
        hat=(_EIGHTHS, "O...O...O...O..."), drum_level=1.0, bass=("rrrrrrrrrrrrrrrr", _EIGHTHS), bass_level=0.7,
        modes=("phrygian", "minor", "harmonic"), progressions=((0, 0, 5, 6), (0, 1, 0, 5), (0, 6, 5, 4)),
        comp=("xxxxxxxxxxxxxxxx", _EIGHTHS, "x.xxx.xxx.xxx.xx"), legato=0.6, power=True, chord_timbre=("guitar",),
        drive=12.0, chord_level=1.0, lead_timbre=("guitar", "synth"), lead_density=0.35, lead_level=0.6,
        cutoff=(7000, 10000)),
    "pop": Recipe(
        tempo=(90, 130), swing=0.05, kick=("x.......x.......", "x.....x.x......."), bass=(_EIGHTHS, "r..r..r.r..r..r."),
        bass_timbre=("bass", "synthbass"), progressions=((0, 4, 5, 3), (5, 3, 0, 4), (0, 5, 3, 4)),
        comp=("x...x...x...x...", "x..x..x.x..x..x.", "x..............."),
        chord_timbre=("piano", "synth", "guitar", "strings"), lead_timbre=("synth", "piano", "flute"),
        lead_level=1.0, cutoff=(5000, 8000)),
    "reggae": Recipe(  # one-drop drums, off-beat skank chords, heavy bass
        tempo=(65, 90), swing=0.3, kick=("........x.......",), snare=("........x.......",),
        hat=(_EIGHTHS, "..x...x...x...x."), drum_level=0.7, bass=("r.....r.f...r...", "r..r....f.f.r..."),
        bass_timbre=("bass", "sub"), bass_level=1.1, modes=("major", "minor"),
        progressions=((0, 3), (0, 4, 3, 4), (0, 5, 3, 4)), comp=("..x...x...x...x.",), legato=0.3,
        chord_timbre=("guitar", "organ", "piano"), lead_timbre=("organ", "brass", "flute"), lead_density=0.2,
        lead_level=0.7, cutoff=(3000, 6000)),
    "rock": Recipe(
        tempo=(100, 150), kick=("x.......x.x.....", "x...x...x...x..."), hat=(_EIGHTHS, "O.O.O.O.O.O.O.O."),
        drum_level=0.9, modes=("major", "mixolydian", "minor"), progressions=((0, 3, 4, 3), (0, 6, 3, 0), (0, 4, 5, 3)),
        comp=(_EIGHTHS, "x..x..x.x..x..x."), power=True, chord_timbre=("guitar",), drive=5.0, chord_level=1.0,
        lead_timbre=("guitar", "organ"), cutoff=(5000, 8000)),
}  # fmt: skip
# Trait groups a clip may borrow wholesale from another genre; borrowing keeps each group coherent. With
# timbre="shared" the borrowed sound fields are then replaced too, so only rhythm, harmony and texture move
# (the "tone" group then changes nothing, but is still drawn, so both modes play the same notes).
_GROUPS = (
    ("tempo", "swing"),
    ("kick", "snare", "hat", "cymbal", "drum_level"),
    ("bass", "bass_timbre", "bass_level"),
    ("modes", "progressions", "sevenths"),
    ("comp", "legato", "power", "chord_timbre", "drive", "chord_level"),
    ("lead_timbre", "lead_density", "lead_level"),
    ("cutoff",),
)


# timbre="shared": every clip draws its instruments, distortion, brightness and mix from these pools,
# whatever its genre, so genres differ only in rhythm, tempo, harmony, bass line and texture (as real ones do).
# "genre" keeps each recipe's own instruments and mix: timbre then gives the label away (modes: config.TIMBRES).
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


def synth_set(
    genres: Sequence[str],
    *,
    clips_per_genre: int,
    seed: int,
    seconds: float = 30.0,
    sr: int = 22050,
    difficulty: float = 0.5,
    timbre: str = "shared",
) -> Iterator[tuple[str, int, np.ndarray]]:
    """(genre, index, signal) of every clip of the synthetic set, genre by genre: clip `index` is
    synth_clip(genre, seed=clip_seed(seed, genre, index), ...). The arguments are checked here, once, not per clip."""
    check_args(
        genres=genres, seconds=seconds, sr=sr, difficulty=difficulty, timbre=timbre, clips_per_genre=clips_per_genre
    )
    args = {"seconds": seconds, "sr": sr, "difficulty": difficulty, "timbre": timbre}
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
    return _render(recipe, rng, n=round(seconds * sr), sr=sr, difficulty=difficulty)


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
    recipe = _RECIPES[genre]
    donor = _RECIPES[rng.choice([g for g in GTZAN_GENRES if g != genre])]
    borrow = rng.random(len(_GROUPS)) < _BORROW * difficulty**2
    swaps = {f: getattr(donor, f) for group, b in zip(_GROUPS, borrow, strict=True) if b for f in group}
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
        "cutoff": (cutoff, cutoff),  # an empty range: _render's widening then keeps this value
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


def _widen(lo: float, hi: float, rng: np.random.Generator, difficulty: float) -> float:
    """Uniform draw from [lo, hi] scaled about its centre by 0.5 + difficulty (narrow when easy)."""
    centre, half = (lo + hi) / 2, (hi - lo) / 2 * (0.5 + difficulty)
    return float(rng.uniform(centre - half, centre + half))


def _render(recipe: Recipe, rng: np.random.Generator, *, n: int, sr: int, difficulty: float) -> np.ndarray:
    """Draw one song from `recipe` and mix it to n samples, peak-normalised to a random level."""
    bpm = _widen(*recipe.tempo, rng, difficulty) + rng.normal(0, 12 * difficulty)
    step = 60 / max(bpm, 40) / 4 * sr  # samples per sixteenth
    n_bars = int((n + _STEPS * step) // (_STEPS * step)) + 2
    grid = _grid(n_bars, step, recipe.swing * rng.uniform(0.7, 1.0), sr, rng)
    mode = _MODES[rng.choice(recipe.modes)]
    prog = recipe.progressions[rng.integers(len(recipe.progressions))]
    chords = [_chord(mode, prog[b % len(prog)], sevenths=recipe.sevenths) for b in range(n_bars)]
    song = _Song(grid, step, chords, int(rng.integers(12)), mode, int(grid[-1] + 4 * sr), sr)
    parts = [f(recipe, song, rng) for f in (_drums, _bass, _comping, _lead)]
    levels = np.array([recipe.drum_level, recipe.bass_level, recipe.chord_level, recipe.lead_level])
    levels = levels * pm.exp(rng.normal(0, 0.15 + _LEVEL_JITTER * difficulty, 4))  # instrument mix varies
    gains = levels / (np.array([_rms(p) for p in parts]) + 1e-9)  # levels are relative to each part's RMS
    mix = sum(g * p for g, p in zip(gains, parts, strict=True))
    cutoff = min(float(pm.exp(_widen(*pm.log(recipe.cutoff), rng, difficulty))), 0.45 * sr)
    mix = sosfilt(_lowpass(cutoff, sr), mix)
    start = int(4 * step + rng.integers(int(_STEPS * step)))  # skip the lead-in; start anywhere in a bar
    y = mix[start : start + n]
    y = y + rng.uniform(0, 0.03 + _NOISE * difficulty) * _rms(y) * _noise(n, sr, rng)
    return (y / (np.max(np.abs(y)) + 1e-9) * rng.uniform(0.3, 0.95)).astype(np.float32)


@dataclass(frozen=True)
class _Song:
    """What every part of one clip shares: timing, harmony, key and buffer size."""

    grid: np.ndarray  # onset in samples of each sixteenth
    step: float  # nominal samples per sixteenth
    chords: list[list[int]]  # per bar, semitones above the tonic
    key: int  # tonic pitch class, 0 = C
    mode: tuple[int, ...]
    total: int  # samples rendered before the clip is cut out
    sr: int


def _lowpass(cutoff: float, sr: int) -> np.ndarray:
    """Second-order Butterworth low-pass at `cutoff` Hz as one SOS row (bilinear transform, prewarped)."""
    k = float(pm.sin(np.pi * cutoff / sr) / pm.cos(np.pi * cutoff / sr))  # tan, from the CPU-independent sin/cos
    norm = 1 / (1 + np.sqrt(2) * k + k * k)
    b0 = k * k * norm
    return np.array([[b0, 2 * b0, b0, 1.0, 2 * (k * k - 1) * norm, (1 - np.sqrt(2) * k + k * k) * norm]])


def _noise(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS background noise, white through a one-pole low-pass at 200 Hz..8 kHz (hum to hiss)."""
    pole = float(pm.exp(-2 * np.pi * pm.exp(rng.uniform(pm.log(200.0), pm.log(8000.0))) / sr))
    noise = lfilter([1 - pole], [1, -pole], rng.standard_normal(n, dtype=np.float32))
    return noise / (_rms(noise) + 1e-12)


def _rms(x: np.ndarray) -> float:
    """Root mean square of a 1-D signal; einsum avoids a squared copy and BLAS threads."""
    return float(np.sqrt(np.einsum("i,i->", x, x) / max(x.size, 1)))


def _grid(n_bars: int, step: float, swing: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Onset in samples of every sixteenth, with swing (offbeat eighth delayed to 1/2 + swing/6 beat)."""
    late = 0.5 + swing / 6  # where the offbeat eighth lands, in beats
    within = np.array([0.0, late / 2, late, late + (1 - late) / 2])  # the beat's four sixteenths
    steps = np.arange(n_bars * _STEPS)
    times = (steps // 4 + within[steps % 4]) * 4 * step
    return times + rng.normal(0, 0.003 * sr, times.size).clip(-0.01 * sr, 0.01 * sr) + 4 * step  # human timing


def _hits(pattern: str, n_bars: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Step index, symbol and gap in steps to the next hit of a pattern tiled over n_bars."""
    score = np.array(list(pattern * n_bars)) if pattern else np.array([], dtype="<U1")
    idx = np.flatnonzero(score != ".")
    gaps = np.diff(idx, append=len(score))
    return idx, score[idx], gaps


def _add(out: np.ndarray, start: float, sound: np.ndarray, gain: float = 1.0) -> None:
    """Mix `sound` into `out` at sample `start`, dropping what runs past the end."""
    s = int(start)
    m = min(len(sound), len(out) - s)
    if m > 0:
        out[s : s + m] += gain * sound[:m]


def _drum_kit(sr: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One-shot drum sounds from decaying sines and noise, slightly different for each clip."""
    t = np.arange(int(0.6 * sr)) / sr
    noise = rng.standard_normal(t.size)
    hiss = np.diff(noise, prepend=0.0)  # differenced noise is high-passed: hat and cymbal sizzle
    f0, f1 = rng.uniform(100, 160), rng.uniform(40, 60)
    sweep = 2 * np.pi * (f1 * t + (f0 - f1) * 0.03 * (1 - pm.exp(-t / 0.03)))  # pitch drops f0 -> f1
    ride = hiss + 0.3 * pm.sin(2 * np.pi * rng.uniform(3000, 5000) * t)
    return {
        "kick": pm.sin(sweep) * pm.exp(-t / rng.uniform(0.12, 0.3)),
        "snare": (0.8 * noise + pm.sin(2 * np.pi * rng.uniform(170, 220) * t)) * pm.exp(-t / 0.08),
        "hat": 0.5 * hiss * pm.exp(-t / rng.uniform(0.02, 0.05)),
        "open": 0.5 * hiss * pm.exp(-t / 0.2),
        "ride": 0.4 * ride * pm.exp(-t / 0.35),
    }


def _drums(recipe: Recipe, song: _Song, rng: np.random.Generator) -> np.ndarray:
    """Kick, snare and hat/ride patterns over the grid, with a snare fill ending some 4-bar phrases."""
    kit, out, n_bars = _drum_kit(song.sr, rng), np.zeros(song.total), len(song.chords)
    snare = rng.choice(recipe.snare)
    fills = snare and rng.random() < 0.7
    lines = [("kick", rng.choice(recipe.kick)), ("snare", snare), (recipe.cymbal, rng.choice(recipe.hat))]
    for name, pattern in lines:
        for i, sym in zip(*_hits(pattern, n_bars)[:2], strict=True):
            sound = kit["open" if sym == "O" and name == "hat" else name]
            _add(out, song.grid[i], sound, (0.45 if sym == "o" else 1.0) * rng.uniform(0.8, 1.0))
    for bar in range(3, n_bars, 4) if fills else []:
        for k in range(12, 16):
            _add(out, song.grid[bar * _STEPS + k], kit["snare"], 0.4 + 0.15 * (k - 12))
    return out


def _degree(mode: tuple[int, ...], degree: int) -> int:
    """Semitones above the tonic of a scale degree (0 = tonic; may exceed an octave)."""
    return mode[degree % 7] + 12 * (degree // 7)


def _chord(mode: tuple[int, ...], degree: int, *, sevenths: bool) -> list[int]:
    """Semitones above the tonic of the chord stacked in thirds on `degree`."""
    return [_degree(mode, degree + k) for k in (0, 2, 4, 6)[: 4 if sevenths else 3]]


@cache
def _table(name: str, n_harmonics: int) -> np.ndarray:
    """One period of the timbre's wave, harmonics above n_harmonics dropped so nothing aliases."""
    phase = np.arange(_TABLE_SIZE) / _TABLE_SIZE * 2 * np.pi
    amps = _TIMBRES[name].harmonics[: max(n_harmonics, 1)]
    return sum(a * pm.sin((k + 1) * phase) for k, a in enumerate(amps)).astype(np.float32)


def _tone(midis: tuple[int, ...], length: int, name: str, sr: int) -> np.ndarray:
    """Sum of one note per MIDI pitch, held `length` samples then released over ~30 ms."""
    timbre, release = _TIMBRES[name], int(0.03 * sr)
    t = np.arange(length + release, dtype=np.float32) / sr
    f = (440.0 * pm.exp((np.array(midis, dtype=np.float64)[:, None] - 69) / 12 * pm.log(2.0))).astype(np.float32)
    phase = f * t
    if timbre.vibrato:  # 5.5 Hz frequency wobble, integrated into the phase
        phase += f * timbre.vibrato * (1 - pm.cos(2 * np.pi * 5.5 * t).astype(np.float32)) / (2 * np.pi * 5.5)
    table = _table(name, int(sr / 2 / f.max()))
    wave = table[(phase * _TABLE_SIZE).astype(np.int64) & (_TABLE_SIZE - 1)].sum(axis=0)
    env = np.minimum(t / timbre.attack, 1.0) * pm.exp(-t / timbre.decay).astype(np.float32)
    env[length:] *= pm.exp(-np.arange(release) / (release / 4)).astype(np.float32)
    return wave * env


def _play(notes: list[tuple[float, int, tuple[int, ...], float]], name: str, total: int, sr: int) -> np.ndarray:
    """Render (onset sample, length, MIDI pitches, gain) notes, caching repeated tones."""
    out, tones = np.zeros(total), {}
    for start, length, midis, gain in notes:
        if (midis, length) not in tones:
            tones[midis, length] = _tone(midis, length, name, sr)
        _add(out, start, tones[midis, length], gain)
    return out


def _bass(recipe: Recipe, song: _Song, rng: np.random.Generator) -> np.ndarray:
    """Bass line on the chord roots: root, fifth, octave or walking (approaching the next root)."""
    notes, chords = [], song.chords
    for i, sym, gap in zip(*_hits(rng.choice(recipe.bass), len(chords)), strict=True):
        bar, beat = divmod(i, _STEPS)
        root = chords[bar][0]
        if sym == "w":  # walking: root, chord tones, then a semitone into the next bar's root
            nxt = chords[(bar + 1) % len(chords)][0]
            pitch = [root, rng.choice(chords[bar][1:]), chords[bar][2], nxt + rng.choice([-1, 1])][beat // 4]
        else:
            pitch = root + {"f": 7, "o": 12}.get(sym, 0)
        length = int(min(gap, 8) * song.step * 0.9)
        notes.append((song.grid[i], length, (33 + song.key + int(pitch),), rng.uniform(0.8, 1)))
    return _play(notes, rng.choice(recipe.bass_timbre), song.total, song.sr)


def _comping(recipe: Recipe, song: _Song, rng: np.random.Generator) -> np.ndarray:
    """Chords in the comping rhythm (power chords, arpeggios or block chords), with distortion."""
    notes = []
    hits = _hits(rng.choice(recipe.comp), len(song.chords))
    for n_hit, (i, sym, gap) in enumerate(zip(*hits, strict=True)):
        chord = song.chords[i // _STEPS]
        if recipe.power:
            midis = tuple(40 + song.key + chord[0] + d for d in (0, 7, 12))
        else:
            midis = tuple(52 + song.key + s for s in chord)
        if sym == "a":  # arpeggio: walk up the chord, one tone per hit
            midis = (midis[n_hit % len(midis)] + 12,)
        notes.append((song.grid[i], int(gap * song.step * recipe.legato), midis, rng.uniform(0.7, 1)))
    out = _play(notes, rng.choice(recipe.chord_timbre), song.total, song.sr)
    if recipe.drive > 0:  # overdrive: normalise then saturate, so the drive gain means the same per clip
        out = pm.tanh(recipe.drive * out / (np.max(np.abs(out)) + 1e-9))
    return out


def _lead(recipe: Recipe, song: _Song, rng: np.random.Generator) -> np.ndarray:
    """Melody from two random 2-bar motifs (random walks on the scale) arranged as a song form."""
    weight = np.tile([1.6, 0.5, 1.0, 0.5], 8)  # on-beat onsets are likelier
    motifs = []
    for _ in range(2):
        onsets = np.flatnonzero(rng.random(32) < recipe.lead_density * weight)
        onsets = onsets if onsets.size else np.array([0])
        degrees = np.clip(rng.integers(0, 8) + np.cumsum(rng.integers(-2, 3, onsets.size)), 0, 13)
        motifs.append((onsets, np.diff(onsets, append=32), degrees))
    form = [0, 0, 1, 0] if rng.random() < 0.5 else [0, 1, 0, 1]
    notes = []
    for phrase in range(len(song.chords) // 2):
        if rng.random() < 0.2:  # rests between phrases
            continue
        onsets, gaps, degrees = motifs[form[phrase % 4]]
        for o, g, d in zip(onsets, gaps, degrees, strict=True):
            midis = (60 + song.key + _degree(song.mode, int(d)),)
            length = int(min(g, 8) * song.step * 0.9)
            notes.append((song.grid[phrase * 32 + o], length, midis, rng.uniform(0.7, 1)))
    return _play(notes, rng.choice(recipe.lead_timbre), song.total, song.sr)

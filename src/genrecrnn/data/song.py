"""One synthetic song rendered from a drawn recipe: a swung sixteenth grid, drums, bass, chords and a melody, mixed.

Rendering is per note event (never per sample): each note is a vectorised wavetable tone added at its
onset, with tones cached per clip, so a 30 s clip takes a few tens of milliseconds. The random draws
follow one order (tempo, grid, mode, progression, key, then each part), so a seed gives one song.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from scipy.signal import lfilter, sosfilt

from genrecrnn.data.recipes import INSTRUMENTS, MODES, Recipe
from genrecrnn.util import portable as pm

_LEVEL_JITTER = 0.4  # extra log-gain spread of each part, times difficulty


_NOISE = 0.2  # largest noise-to-signal RMS ratio, times difficulty


_TABLE_SIZE = 2048  # samples per wavetable period; power of two so phase wraps with a bit mask


_STEPS = 16  # sixteenth notes per 4/4 bar; every pattern string has this length (or is empty)


def _widen(lo: float, hi: float, rng: np.random.Generator, difficulty: float) -> float:
    """Uniform draw from [lo, hi] scaled about its centre by 0.5 + difficulty (narrow when easy)."""
    centre, half = (lo + hi) / 2, (hi - lo) / 2 * (0.5 + difficulty)
    return float(rng.uniform(centre - half, centre + half))


def render(recipe: Recipe, rng: np.random.Generator, *, n: int, sr: int, difficulty: float) -> np.ndarray:
    """Draw one song from `recipe` and mix it to n samples, peak-normalised to a random level."""
    bpm = _widen(*recipe.tempo, rng, difficulty) + rng.normal(0, 12 * difficulty)
    step = 60 / max(bpm, 40) / 4 * sr  # samples per sixteenth
    n_bars = int((n + _STEPS * step) // (_STEPS * step)) + 2
    grid = _grid(n_bars, step, recipe.swing * rng.uniform(0.7, 1.0), sr, rng)
    mode = MODES[rng.choice(recipe.modes)]
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
    amps = INSTRUMENTS[name].harmonics[: max(n_harmonics, 1)]
    return sum(a * pm.sin((k + 1) * phase) for k, a in enumerate(amps)).astype(np.float32)


def _tone(midis: tuple[int, ...], length: int, name: str, sr: int) -> np.ndarray:
    """Sum of one note per MIDI pitch, held `length` samples then released over ~30 ms."""
    timbre, release = INSTRUMENTS[name], int(0.03 * sr)
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

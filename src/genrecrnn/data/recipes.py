"""The synthetic genres' recipes: each genre's tempo, groove, patterns, harmony and instruments, and the trait groups.

A `Recipe` is how one genre is played; `INSTRUMENTS` are the additive wavetable timbres its parts name;
`TRAIT_GROUPS` are the fields a clip may borrow together from another genre (:mod:`genrecrnn.data.synth`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MODES = {
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


INSTRUMENTS = {
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
    with "shared" each clip replaces them with a draw from the shared pools (`synth._draw_sound`)."""

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


RECIPES = {
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
TRAIT_GROUPS = (
    ("tempo", "swing"),
    ("kick", "snare", "hat", "cymbal", "drum_level"),
    ("bass", "bass_timbre", "bass_level"),
    ("modes", "progressions", "sevenths"),
    ("comp", "legato", "power", "chord_timbre", "drive", "chord_level"),
    ("lead_timbre", "lead_density", "lead_level"),
    ("cutoff",),
)

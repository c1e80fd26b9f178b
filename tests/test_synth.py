"""Tests for the seeded synthetic genre set: reproducibility, GTZAN layout, signal sanity, genre traits."""

from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile as sf

from genrecrnn.config.sections import TIMBRES
from genrecrnn.data import recipes, song, synth
from genrecrnn.data.dataset import clip_path, generate_dataset
from genrecrnn.data.synth import GTZAN_GENRES, clip_seed, synth_clip
from genrecrnn.util.errors import ConfigError

from conftest import run_under_cpu_levels

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


def test_with_genre_timbre_metal_is_brighter_and_noisier_than_classical():
    def medians(genre: str) -> tuple[float, float]:
        """Median over five 4 s clips of the mean spectral centroid (Hz) and flatness; the median because
        at the default difficulty a clip may borrow another genre's drums or tone on purpose."""
        clips = [synth_clip(genre, seed=s, seconds=4.0, timbre="genre") for s in range(5)]
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
        ({"seconds": 0.0}, "clip_seconds: Input should be greater than 0, got 0.0"),
        ({"seconds": -3.0}, "clip_seconds: Input should be greater than 0, got -3.0"),
        ({"clips_per_genre": 0}, "clips_per_genre: Input should be greater than 0, got 0"),
        ({"difficulty": 1.5}, "difficulty: Input should be less than or equal to 1, got 1.5"),
        ({"difficulty": -0.1}, "difficulty: Input should be greater than or equal to 0, got -0.1"),
        ({"sr": 0}, "seconds=30.0 at sr=0 Hz is less than one sample"),
        ({"timbre": "per-genre"}, "timbre: Input should be 'shared' or 'genre', got 'per-genre'"),
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
    with pytest.raises(ConfigError, match="timbre: Input should be 'shared' or 'genre', got 'Genre'"):
        synth_clip("rock", seed=0, timbre="Genre")


def test_difficulty_makes_genres_harder_to_tell_apart():  # with genre timbre, where _BORROW etc. were tuned
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
                y = synth_clip(genre, seed=clip_seed(0, genre, i), seconds=3.0, difficulty=difficulty, timbre="genre")
                mfcc = librosa.feature.mfcc(y=y, sr=SR, n_mfcc=20)
                features.append(np.r_[mfcc.mean(axis=1), mfcc.std(axis=1)])
                labels.append(label)
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        folds = StratifiedKFold(3, shuffle=True, random_state=0)
        return cross_val_score(model, np.array(features), np.array(labels), cv=folds).mean()

    easy, hard = accuracy(0.0), accuracy(1.0)
    assert easy > 0.5  # chance is 0.1
    assert easy > hard + 0.2


def test_every_timbre_mode_params_yaml_may_name_makes_a_clip():
    for timbre in TIMBRES:
        assert synth_clip("rock", seed=0, seconds=0.5, timbre=timbre).shape == (round(0.5 * SR),)


_GENRE_TIMBRE_DIGEST = """
import hashlib
from genrecrnn.data.synth import GTZAN_GENRES, clip_seed, synth_clip
digest = hashlib.md5()
for difficulty in (0.0, 0.5, 1.0):
    for genre in GTZAN_GENRES:
        for i in range(3):
            y = synth_clip(genre, seed=clip_seed(0, genre, i), seconds=1.0, difficulty=difficulty, timbre="genre")
            digest.update(y.tobytes())
print(digest.hexdigest(), hashlib.md5(synth_clip("metal", seed=3, seconds=30.0, timbre="genre").tobytes()).hexdigest())
"""


def test_generator_bytes_are_pinned_and_the_same_on_every_cpu_level():
    # md5 of the float32 samples of 1 s clips 0..2 of every genre at difficulty 0, 0.5, 1 and one 30 s clip, as
    # the CPU-independent generator (genrecrnn.util.portable) makes them on any x86-64 CPU: checked here as found and
    # with numpy's AVX-512 and AVX2 code paths disabled. A change here changes every committed result.
    outputs = run_under_cpu_levels(_GENRE_TIMBRE_DIGEST)
    assert set(outputs.values()) == {"b326798316bfa7a9591057e7c040d381 59a4d82282ceb82b132d3cf756c3befb"}, outputs


def _drawn_recipes(monkeypatch, timbre: str, seeds: range) -> dict[tuple[int, str], recipes.Recipe]:
    """The recipe each (seed, genre) clip is rendered from, at difficulty 1 (most trait borrowing)."""
    drawn, recipes = [], {}
    monkeypatch.setattr(synth, "render", lambda recipe, rng, **_: drawn.append(recipe))
    for seed in seeds:
        for genre in GTZAN_GENRES:
            synth_clip(genre, seed=seed, difficulty=1.0, timbre=timbre)
            recipes[seed, genre] = drawn[-1]
    return recipes


def _sound(recipe: recipes.Recipe) -> tuple:
    """The recipe's instruments, drive, cutoff (Hz) and part levels: what timbre="shared" must not tie to genre."""
    names = tuple(frozenset(getattr(recipe, f)) for f in ("bass_timbre", "chord_timbre", "lead_timbre"))
    return (*names, recipe.drive, recipe.cutoff, recipe.drum_level, recipe.bass_level, recipe.chord_level,
            recipe.lead_level)  # fmt: skip


def test_shared_timbre_draws_the_same_sound_for_every_genre(monkeypatch):
    shared = _drawn_recipes(monkeypatch, "shared", range(40))
    for seed in range(40):
        sounds = {_sound(shared[seed, genre]) for genre in GTZAN_GENRES}
        assert len(sounds) == 1, f"seed {seed}: the sound depends on the genre"
        assert all(len(names) == 1 for names in next(iter(sounds))[:3])  # one instrument per part
    assert len({_sound(shared[seed, "rock"])[1] for seed in range(40)}) > 3  # but it varies from clip to clip
    assert len({(shared[0, g].kick, shared[0, g].tempo) for g in GTZAN_GENRES}) > 5  # and the music still differs
    genre = _drawn_recipes(monkeypatch, "genre", range(1))
    assert len({_sound(genre[0, g]) for g in GTZAN_GENRES}) > 1  # the check above can fail


def test_shared_pools_are_all_used_and_most_clips_are_clean():
    sounds = [synth._draw_sound(np.random.default_rng([seed, synth._SOUND_STREAM])) for seed in range(600)]
    assert {s["bass_timbre"] for s in sounds} == set(synth._SHARED_BASS)
    assert {s["chord_timbre"] for s in sounds} == {s["lead_timbre"] for s in sounds} == set(synth._SHARED_MELODIC)
    drives = np.array([s["drive"] for s in sounds])
    assert 0.5 < np.mean(drives == 0) < 0.7 and drives.max() > 5  # clean mostly, sometimes heavy overdrive
    cutoffs = np.array([s["cutoff"][0] for s in sounds])
    assert 2000 <= cutoffs.min() < 3000 and 8000 < cutoffs.max() <= 10000


def test_shared_and_genre_timbre_play_the_same_notes(monkeypatch):
    played = []
    play = song._play
    monkeypatch.setattr(song, "_play", lambda notes, name, *a: played.append((notes, name)) or play(notes, name, *a))

    def score(timbre: str) -> tuple[list, list[str]]:
        """Notes and instrument of every part (bass, comping, lead) of four genres' clips, in play order."""
        played.clear()
        for genre in ("blues", "classical", "metal", "reggae"):
            synth_clip(genre, seed=5, seconds=2.0, timbre=timbre)
        return [notes for notes, _ in played], [str(name) for _, name in played]

    (genre_notes, genre_names), (shared_notes, shared_names) = score("genre"), score("shared")
    assert len(genre_notes) == 12 and genre_notes == shared_notes
    assert genre_names != shared_names


def test_shared_timbre_hides_the_genre_from_timbre_but_not_from_rhythm():
    pytest.importorskip("sklearn")
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def rhythm(y: np.ndarray) -> np.ndarray:
        """Autocorrelation of the onset-strength envelope over lags of 1..86 hops (up to 2 s): rhythm, not sound."""
        env = librosa.onset.onset_strength(y=y, sr=SR)
        env = env - env.mean()
        ac = np.correlate(env, env, "full")[env.size - 1 :][:87]
        return ac[1:] / (ac[0] + 1e-12)

    def accuracies(timbre: str) -> tuple[float, float]:
        """3-fold accuracy of logistic regression on MFCC means (timbre) and on rhythm, 9 clips of 3 s per genre."""
        features, labels = {"timbre": [], "rhythm": []}, []
        for label, genre in enumerate(GTZAN_GENRES):
            for i in range(9):
                y = synth_clip(genre, seed=clip_seed(0, genre, i), seconds=3.0, difficulty=0.0, timbre=timbre)
                features["timbre"].append(librosa.feature.mfcc(y=y, sr=SR, n_mfcc=20).mean(axis=1))
                features["rhythm"].append(rhythm(y))
                labels.append(label)
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        folds = StratifiedKFold(3, shuffle=True, random_state=0)
        return tuple(cross_val_score(model, np.array(x), np.array(labels), cv=folds).mean() for x in features.values())

    (timbre_genre, _), (timbre_shared, rhythm_shared) = accuracies("genre"), accuracies("shared")
    assert timbre_shared < timbre_genre - 0.15  # chance is 0.1
    assert rhythm_shared > 0.3


def test_synth_set_checks_its_arguments_once_and_makes_synth_clips_clips(monkeypatch):
    calls = []
    monkeypatch.setattr(synth, "check_args", lambda **kwargs: calls.append(kwargs))
    clips = list(synth.synth_set(["rock", "jazz"], clips_per_genre=2, seed=5, seconds=0.2))
    assert len(calls) == 1 and [(g, i) for g, i, _ in clips] == [("rock", 0), ("rock", 1), ("jazz", 0), ("jazz", 1)]
    monkeypatch.undo()
    for genre, index, y in clips:
        np.testing.assert_array_equal(y, synth_clip(genre, seed=clip_seed(5, genre, index), seconds=0.2))
    with pytest.raises(ConfigError, match="difficulty"):
        synth.synth_set(["rock"], clips_per_genre=1, seed=0, difficulty=2.0)  # at the call, before any clip

"""CPU-independent elementary functions, and the bytes of the data and feature stages under imitated CPUs."""

import json

import numpy as np
import pytest

from genrecrnn.util import portable

from conftest import run_under_cpu_levels


def _ulps(got: np.ndarray, want: np.ndarray) -> float:
    """Largest distance in units of the last place of `want`."""
    return float(np.max(np.abs(got - want) / np.spacing(np.abs(want))))


def test_exp_is_within_two_ulps_of_numpy():
    x = np.random.default_rng(0).uniform(-700, 700, 200_000)
    assert _ulps(portable.exp(x), np.exp(x)) <= 2
    x = np.random.default_rng(0).uniform(-3, 3, 200_000)
    assert _ulps(portable.exp(x), np.exp(x)) <= 2


@pytest.mark.parametrize(("name", "low", "high"), [("log", 1e-300, 1e300), ("log", 0.5, 2.0), ("log10", 1e-10, 1e6)])
def test_logs_are_within_four_eps_of_numpy(name, low, high):
    x = np.exp(np.random.default_rng(0).uniform(np.log(low), np.log(high), 200_000))
    got, want = getattr(portable, name)(x), getattr(np, name)(x)
    assert np.max(np.abs(got - want) / np.maximum(np.abs(want), 1.0)) <= 4 * np.finfo(float).eps  # absolute near 0


@pytest.mark.parametrize("name", ["sin", "cos", "tanh"])
def test_sin_cos_tanh_are_within_two_eps_of_numpy(name):
    x = np.random.default_rng(1).uniform(-20_000, 20_000, 200_000)  # the synthesizer's phases reach ~19,000 rad
    assert np.max(np.abs(getattr(portable, name)(x) - getattr(np, name)(x))) <= 2 * np.finfo(float).eps


def test_special_values_follow_numpy():
    with np.errstate(all="raise"):  # and raise no floating-point warning on the way
        np.testing.assert_array_equal(
            portable.exp([0.0, -0.0, 800.0, -800.0, np.inf, -np.inf]), [1, 1, np.inf, 0, np.inf, 0]
        )
        np.testing.assert_array_equal(portable.log([0.0, 1.0, np.inf]), [-np.inf, 0.0, np.inf])
    assert np.isnan(portable.log(-1.0)) and np.isnan(portable.exp(np.nan))
    assert portable.sin(0.0) == 0.0 and portable.cos(0.0) == 1.0 and portable.tanh(0.0) == 0.0
    assert portable.sin(np.pi / 2) == 1.0 and portable.log10(1000.0) == pytest.approx(3.0, abs=1e-15)
    assert (
        portable.exp(1.0) == pytest.approx(np.e, rel=1e-15)
        and portable.tanh(30.0) == 1.0
        and portable.tanh(-30.0) == -1.0
    )


# A tiny synthetic set through the real data and feature stages (both timbre modes, every difficulty corner),
# printed as md5s of the WAV files and feature shards, keyed by their names inside the stage folders.
_STAGES = """
import hashlib, json, pathlib, tempfile
from genrecrnn.config.sections import DataParams
from genrecrnn.data.dataset import prepare_dataset
from genrecrnn.data.index import tracks_with_split
from genrecrnn.features.logmel import FeatureConfig
from genrecrnn.features.store import write_feature_store
md5 = lambda p: hashlib.md5(p.read_bytes()).hexdigest()
out = {}
for timbre, difficulty in (("shared", 0.5), ("genre", 0.0), ("shared", 1.0)):
    root = pathlib.Path(tempfile.mkdtemp())
    data = DataParams(clips_per_genre=3, clip_seconds=4.0, difficulty=difficulty, timbre=timbre)
    manifest, split, _ = prepare_dataset(
        data, out_dir=root / "dataset", genres=["blues", "disco", "jazz", "metal"], sample_rate=22050, seed=7,
        progress=False)
    tracks = tracks_with_split(manifest, split)
    write_feature_store(root / "features", tracks, cfg=FeatureConfig(), workers=1, progress=False)
    for p in sorted(root.rglob("*")):
        if p.suffix in (".wav", ".npy", ".csv") and p.name != "manifest.csv":  # manifest holds the tmp path
            out[f"{timbre}-{difficulty}/{p.relative_to(root)}"] = md5(p)
print(json.dumps(out, sort_keys=True))
"""


def test_data_and_feature_stages_write_the_same_bytes_on_every_cpu_level():
    outputs = {label: json.loads(text) for label, text in run_under_cpu_levels(_STAGES).items()}
    found = outputs.pop("found")
    assert sum(name.endswith(".wav") for name in found) == 36 and any(name.endswith(".npy") for name in found)
    for label, files in outputs.items():
        differ = sorted(name for name in found if files.get(name) != found[name])
        assert not differ, f"{label}: {differ[:5]}"

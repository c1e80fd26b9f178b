import re
from pathlib import Path

import pytest
import yaml

from genrecrnn.config import load_params, validate_params, with_overrides
from genrecrnn.errors import ConfigError

from conftest import ROOT


@pytest.fixture
def params():
    return load_params(ROOT / "params.yaml")


def write(tmp_path: Path, params: dict) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def test_project_params_run_the_synthetic_set_with_its_genres(params):
    """The committed study generates its data: every genre in params.yaml is one the generator can make."""
    from genrecrnn.synth import GTZAN_GENRES

    if params["data"]["source"] == "synthetic":
        assert set(params["genres"]) <= set(GTZAN_GENRES), "the synthetic set has no recipe for these genres"
        assert params["data"]["clips_per_genre"] * params["data"]["test_fraction"] >= 1


def test_loading_rejects_an_unsorted_genre_list_in_the_file(params, tmp_path):
    params["genres"] = list(reversed(params["genres"]))
    with pytest.raises(ConfigError, match="genres must be sorted and unique"):
        load_params(write(tmp_path, params))


@pytest.mark.parametrize(
    "dotted, value, message",
    [
        ("data.clip_seconds", -3, "data.clip_seconds must be positive"),
        ("features.frame_seconds", 0, "features.frame_seconds must be positive"),
        ("train.epochs", True, "train.epochs must be a int"),
        ("data.source", "youtube", "allowed: synthetic, gtzan, folder"),
        ("data.test_fraction", 0.9, "sum below 1"),
        ("genres", ["rock", "blues"], "sorted and unique"),
        ("model.filters", [8, 8], "five positive integers"),
    ],
)
def test_bad_values_name_the_key(params, dotted, value, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        with_overrides(params, {dotted: value})


def test_unknown_key_is_named_with_the_allowed_ones(params, tmp_path):
    params["train"]["epoch"] = 3
    with pytest.raises(ConfigError, match=r"unknown key\(s\) train.epoch; allowed here: train.epochs"):
        load_params(write(tmp_path, params))


def test_missing_key_and_missing_file(params, tmp_path):
    del params["features"]["n_mels"]
    with pytest.raises(ConfigError, match="missing key.*features.n_mels"):
        validate_params(params)
    with pytest.raises(ConfigError, match="parameter file not found"):
        load_params(tmp_path / "nope.yaml")


def test_yaml_is_read_with_the_safe_loader(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("seed: !!python/object/apply:os.system ['echo hacked']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_params(path)


def test_environment_yml_installs_the_same_package_set():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    assert "python=3.11" in deps
    pip = next(d["pip"] for d in deps if isinstance(d, dict))
    assert pip == ["-e .[dev]"]  # the same install as the Makefile's, from pyproject.toml

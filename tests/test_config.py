import dataclasses
import re
from pathlib import Path

import pytest
import yaml

from genrecrnn.config.loading import as_dict, load_params, received, section_of, with_overrides
from genrecrnn.config.sections import SECTIONS, AugmentParams, Params, TrainParams
from genrecrnn.util.errors import ConfigError

from conftest import ROOT


@pytest.fixture
def params() -> Params:
    return load_params(ROOT / "params.yaml")


@pytest.fixture
def values() -> dict:
    return yaml.safe_load((ROOT / "params.yaml").read_text())


def write(tmp_path: Path, values: dict) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


def test_project_params_run_the_synthetic_set_with_its_genres(params):
    """The committed study generates its data: every genre in params.yaml is one the generator can make."""
    from genrecrnn.data.synth import GTZAN_GENRES

    if params.data.source == "synthetic":
        assert set(params.genres) <= set(GTZAN_GENRES), "the synthetic set has no recipe for these genres"
        assert params.data.clips_per_genre * params.data.test_fraction >= 1


def test_sections_are_typed_frozen_and_round_trip_to_the_file(params, values):
    assert isinstance(params.train, TrainParams) and isinstance(params.train.augment, AugmentParams)
    assert params.data.clip_seconds == 30.0 and isinstance(params.data.clip_seconds, float)  # 30 in the file
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.train.epochs = 1
    assert as_dict(params) == values  # what papermill passes equals what the file says
    assert set(SECTIONS) == {k for k, v in values.items() if isinstance(v, dict)}


def test_loading_rejects_an_unsorted_genre_list_in_the_file(values, tmp_path):
    values["genres"] = list(reversed(values["genres"]))
    with pytest.raises(ConfigError, match="genres must be sorted and unique"):
        load_params(write(tmp_path, values))


@pytest.mark.parametrize(
    "dotted, value, message",
    [
        ("data.clip_seconds", -3, "data.clip_seconds: Input should be greater than 0, got -3"),
        ("features.frame_seconds", 0, "features.frame_seconds: Input should be greater than 0"),
        ("features.hop_length", 4096, "features: hop_length (4096) must not exceed n_fft (2048)"),
        ("train.epochs", True, "train.epochs: Input should be a valid integer, got True"),
        ("train.epochs", "3", "train.epochs: Input should be a valid integer, got '3'"),
        ("train.augment.mixup", -0.1, "train.augment.mixup: Input should be greater than or equal to 0"),
        ("train.augment.stretch", 0.6, "train.augment.stretch: Input should be less than 0.5"),
        ("train.input_norm", "batch", "train.input_norm: Input should be 'band' or 'global', got 'batch'"),
        ("data.source", "youtube", "data.source: Input should be 'synthetic', 'gtzan', 'folder' or 'fma'"),
        ("data.test_fraction", 0.9, "val_fraction + test_fraction must sum below 1"),
        ("genres", ["rock", "blues"], "sorted and unique"),
        ("model.filters", [8, 8], "model.filters: Tuple should have at least 5 items"),
        ("model.filters", [8, 8, 8, 8, -1], "model.filters.4: Input should be greater than 0"),
        ("model.dropout", 1.0, "model.dropout: Input should be less than 1"),
    ],
)
def test_bad_values_name_the_key(params, dotted, value, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        with_overrides(params, {dotted: value})


def test_split_file_and_group_file_together_are_refused_on_loading(values, tmp_path):
    """Before the data stage indexes a collection: a split file fixes every split, a group file would be ignored."""
    values["data"].update(split_file="splits.csv", group_file="artists.csv")
    message = "data: split_file (splits.csv) and group_file (artists.csv) are both set: a split file fixes every"
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_params(write(tmp_path, values))


def test_unknown_key_is_named_with_the_allowed_ones(values, tmp_path):
    values["train"]["epoch"] = 3
    allowed = r"allowed here: train.seed, train.epochs, train.steps, train.batch_size"
    with pytest.raises(ConfigError, match=r"unknown key train.epoch; " + allowed):
        load_params(write(tmp_path, values))


def test_missing_key_and_missing_file(values, tmp_path):
    del values["features"]["n_mels"]
    del values["train"]["augment"]["mixup"]
    with pytest.raises(ConfigError, match=r"missing key\(s\) features.n_mels, train.augment.mixup"):
        load_params(write(tmp_path, values))
    with pytest.raises(ConfigError, match="parameter file not found"):
        load_params(tmp_path / "nope.yaml")


def test_a_section_built_in_code_is_checked_the_same_way():
    with pytest.raises(ConfigError, match="AugmentParams.gain_db: Input should be greater than or equal to 0"):
        AugmentParams(gain_db=-1)
    with pytest.raises(ConfigError, match="train.patience: Input should be greater than or equal to 0"):
        section_of("train", {**as_dict(TrainParams()), "patience": -1})
    assert section_of("train", TrainParams()) == TrainParams()  # a section passes through
    with pytest.raises(ConfigError, match="'seed' is not a params.yaml section"):
        section_of("seed", {})


def test_received_rebuilds_papermills_plain_values_as_typed_sections(params):
    plain = as_dict(params)
    p = received(seed=plain["seed"], paths=plain["paths"], train=plain["train"])
    assert p.paths == params.paths and p.train == params.train and p.seed == params.seed
    assert isinstance(p.train.augment, type(params.train.augment)) and p.given["paths"] is plain["paths"]
    with pytest.raises(ConfigError, match="'validate' was not received; this notebook declares seed, paths, train"):
        _ = p.validate


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"epochs": 3}, r"unknown key\(s\) epochs; params.yaml has seed, sample_rate, genres, paths"),
        ({"validate": {"n_boot": 10, "nboot": 1}}, r"unknown key validate.nboot; allowed here: validate.n_boot"),
        ({"validate": {}}, r"missing key\(s\) validate.n_boot"),
        ({"seed": -1}, r"seed: Input should be greater than or equal to 0, got -1"),
        ({"seed": True}, r"seed: Input should be a valid integer, got True"),
    ],
)
def test_received_rejects_unknown_keys_and_bad_values_by_name(values, message):
    with pytest.raises(ConfigError, match=message):
        received(**values)


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

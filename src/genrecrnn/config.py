"""params.yaml: loading, validation against a schema, and the project root.

Configuration flows one way: params.yaml -> papermill parameters -> plain function arguments.
This module is the only place that reads params.yaml.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from genrecrnn.errors import ConfigError

PARAMS_FILE = "params.yaml"

# The schema: every section, its keys and their types. Unknown keys are errors (typos would
# otherwise silently fall back to defaults and change the study without anyone noticing).
_NUMBER = (int, float)
SCHEMA: dict[str, Any] = {
    "seed": int,
    "sample_rate": int,
    "genres": list,
    "paths": {
        "dataset": str,
        "features": str,
        "models": str,
        "checkpoints": str,
        "results": str,
    },
    "data": {
        "source": str,
        "root": str,
        "fma_subset": str,
        "clips_per_genre": int,
        "clip_seconds": _NUMBER,
        "difficulty": _NUMBER,
        "timbre": str,
        "split_file": str,
        "group_file": str,
        "val_fraction": _NUMBER,
        "test_fraction": _NUMBER,
        "min_seconds": _NUMBER,
    },
    "features": {
        "n_fft": int,
        "hop_length": int,
        "n_mels": int,
        "frame_seconds": _NUMBER,
        "frame_hop_seconds": _NUMBER,
    },
    "preprocess": {
        "workers": int,
        "scheduler": str,
        "shard_clips": int,
    },
    "model": {
        "filters": list,
        "lstm_units": int,
        "dense_units": int,
        "dropout": _NUMBER,
    },
    "train": {
        "epochs": int,
        "batch_size": int,
        "learning_rate": _NUMBER,
        "warmup_epochs": int,
        "weight_decay": _NUMBER,
        "patience": int,
        "input_norm": str,
        "distribute": str,
        "mixed_float16": bool,
        "augment": {
            "crop": bool,
            "key_shift": int,
            "stretch": _NUMBER,
            "gain_db": _NUMBER,
            "tilt_db": _NUMBER,
            "time_masks": int,
            "time_mask_seconds": _NUMBER,
            "freq_masks": int,
            "freq_mask_bands": int,
            "mixup": _NUMBER,
        },
    },
    "validate": {
        "n_boot": int,
    },
    "predict": {
        "audio": list,
        "window_seconds": _NUMBER,
        "window_hop_seconds": _NUMBER,
        "top_k": int,
    },
}
DATA_SOURCES = ("synthetic", "gtzan", "folder", "fma")
FMA_SUBSETS = ("small", "medium", "large")
TIMBRES = ("shared", "genre")
INPUT_NORMS = ("band", "global")
DISTRIBUTE = ("none", "mirrored", "multi_worker")
_POSITIVE = {
    "sample_rate",
    "clips_per_genre",
    "clip_seconds",
    "n_fft",
    "hop_length",
    "n_mels",
    "frame_seconds",
    "frame_hop_seconds",
    "lstm_units",
    "dense_units",
    "epochs",
    "batch_size",
    "learning_rate",
    "window_seconds",
    "window_hop_seconds",
    "top_k",
    "n_boot",
    "shard_clips",
}


def find_project_root(start: Path | None = None) -> Path:
    """Nearest folder at or above `start` (default: cwd) holding params.yaml and dvc.yaml."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / PARAMS_FILE).is_file() and (folder / "dvc.yaml").is_file():
            return folder
    raise ConfigError(
        f"no project root (a folder with {PARAMS_FILE} and dvc.yaml) at or above {here}; "
        "run from inside a genrecrnn checkout"
    )


def load_params(path: Path | str | None = None) -> dict[str, Any]:
    """Read params.yaml with the safe loader and validate it; `path` defaults to the project's."""
    path = Path(path) if path is not None else find_project_root() / PARAMS_FILE
    if not path.is_file():
        raise ConfigError(f"{path}: parameter file not found")
    try:
        params = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({err})") from err
    validate_params(params, source=str(path))
    return params


def validate_params(params: Any, *, source: str = PARAMS_FILE) -> None:
    """Raise ConfigError naming the key if `params` does not match SCHEMA or a value is out of range."""
    if not isinstance(params, dict):
        raise ConfigError(f"{source}: expected a mapping of sections, got {type(params).__name__}")
    _check_mapping(params, SCHEMA, source, prefix="")
    if params["data"]["source"] not in DATA_SOURCES:
        raise ConfigError(f"{source}: data.source={params['data']['source']!r}; allowed: {', '.join(DATA_SOURCES)}")
    genres = params["genres"]
    if len(genres) < 2 or not all(isinstance(g, str) and g for g in genres):
        raise ConfigError(f"{source}: genres must list at least two non-empty names, got {genres}")
    if list(genres) != sorted(set(genres)):
        raise ConfigError(f"{source}: genres must be sorted and unique (label i = genres[i]), got {genres}")
    data = params["data"]
    fractions = (data["val_fraction"], data["test_fraction"])
    if not all(0 < f < 1 for f in fractions) or sum(fractions) >= 1:
        raise ConfigError(
            f"{source}: data.val_fraction and data.test_fraction must be in (0, 1) and sum below 1, got {fractions}"
        )
    if not 0 <= data["difficulty"] <= 1:
        raise ConfigError(f"{source}: data.difficulty must be in [0, 1], got {data['difficulty']}")
    if data["fma_subset"] not in FMA_SUBSETS:
        raise ConfigError(f"{source}: data.fma_subset={data['fma_subset']!r}; allowed: {', '.join(FMA_SUBSETS)}")
    if data["timbre"] not in TIMBRES:
        raise ConfigError(f"{source}: data.timbre={data['timbre']!r}; allowed: {', '.join(TIMBRES)}")
    train = params["train"]
    if train["input_norm"] not in INPUT_NORMS:
        raise ConfigError(f"{source}: train.input_norm={train['input_norm']!r}; allowed: {', '.join(INPUT_NORMS)}")
    if train["distribute"] not in DISTRIBUTE:
        raise ConfigError(f"{source}: train.distribute={train['distribute']!r}; allowed: {', '.join(DISTRIBUTE)}")
    negative = [f"augment.{k}" for k, v in train["augment"].items() if not isinstance(v, bool) and v < 0]
    negative += [k for k in ("warmup_epochs", "weight_decay", "patience") if train[k] < 0]
    if negative:
        raise ConfigError(f"{source}: train.{', train.'.join(negative)} must not be negative")
    if params["preprocess"]["workers"] < 0:
        raise ConfigError(
            f"{source}: preprocess.workers must be 0 (one per core) or more, got {params['preprocess']['workers']}"
        )
    if not 0 <= params["model"]["dropout"] < 1:
        raise ConfigError(f"{source}: model.dropout must be in [0, 1), got {params['model']['dropout']}")
    filters = params["model"]["filters"]
    if len(filters) != 5 or not all(isinstance(f, int) and f > 0 for f in filters):
        raise ConfigError(f"{source}: model.filters must be five positive integers, got {filters}")


def _check_mapping(values: dict, schema: dict, source: str, *, prefix: str) -> None:
    """Check keys and types of one mapping level against the schema, recursing into sections."""
    unknown = sorted(set(values) - set(schema))
    if unknown:
        raise ConfigError(
            f"{source}: unknown key(s) {', '.join(prefix + k for k in unknown)}; "
            f"allowed here: {', '.join(prefix + k for k in schema)}"
        )
    missing = sorted(set(schema) - set(values))
    if missing:
        raise ConfigError(f"{source}: missing key(s) {', '.join(prefix + k for k in missing)}")
    for key, expected in schema.items():
        value, name = values[key], prefix + key
        if isinstance(expected, dict):
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: {name} must be a section (mapping), got {value!r}")
            _check_mapping(value, expected, source, prefix=name + ".")
            continue
        # bool is an int subclass; a `true` where a number belongs is a typo, not a 1.
        if (isinstance(value, bool) and expected is not bool) or not isinstance(value, expected):
            kind = expected.__name__ if isinstance(expected, type) else "number"
            raise ConfigError(f"{source}: {name} must be a {kind}, got {value!r}")
        if key in _POSITIVE and value <= 0:
            raise ConfigError(f"{source}: {name} must be positive, got {value!r}")


def with_overrides(params: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Copy of `params` with dotted-key overrides applied (e.g. {"train.epochs": 2}), revalidated."""
    out = copy.deepcopy(params)
    for dotted, value in overrides.items():
        *parents, leaf = dotted.split(".")
        node = out
        for part in parents:
            node = node[part]
        node[leaf] = value
    validate_params(out, source="overrides")
    return out

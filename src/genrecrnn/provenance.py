"""Run identity: the strings that trace a number or a prediction back to what made it.

One function for every stage and the command line. It is fed with what the caller actually
received (a notebook's papermill parameters, the command's settings), so a parameter a stage does
not read never changes that stage's identity.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from genrecrnn import __version__


def params_md5(params: Mapping[str, Any]) -> str:
    """md5 of the parameters as canonical JSON (sorted keys): equal values give equal hashes."""
    return hashlib.md5(json.dumps(params, sort_keys=True).encode()).hexdigest()


def run_identity(
    params: Mapping[str, Any] | None = None, *, dataset: Path | str | None = None, model_id: str | None = None
) -> dict[str, str]:
    """genrecrnn_version, then params_md5 (of `params`), manifest_md5 (of `dataset`'s index), model_id, each if given.

    ``params``: the parameters the caller received, by name (e.g. a notebook's ``{"seed": seed,
    "paths": paths, "validate": validate}``); ``dataset``: the data stage's output folder;
    ``model_id``: :attr:`genrecrnn.classifier.Classifier.model_id`.
    """
    identity = {"genrecrnn_version": __version__}
    if params is not None:
        identity["params_md5"] = params_md5(params)
    if dataset is not None:  # imported here: `genrecrnn predict` needs no data set (nor sklearn)
        from genrecrnn.dataset import manifest_checksum, read_dataset_index

        identity["manifest_md5"] = manifest_checksum(read_dataset_index(Path(dataset))[0])
    if model_id is not None:
        identity["model_id"] = model_id
    return identity


def describe_identity(identity: Mapping[str, str]) -> str:
    """One text line for a notebook or log: "run: genrecrnn_version 0.4.0, params_md5 ..., ..."."""
    return "run: " + ", ".join(f"{key} {value}" for key, value in identity.items())

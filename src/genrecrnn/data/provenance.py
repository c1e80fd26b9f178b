"""Run identity: the strings that trace a number or a prediction back to what made it.

One function for every stage and the command line. It is fed with what the caller actually
received (a notebook's papermill parameters, the command's settings), so a parameter a stage does
not read never changes that stage's identity.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from collections.abc import Mapping
from importlib import metadata
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
    ``model_id``: :attr:`genrecrnn.model.classifier.Classifier.model_id`.
    """
    identity = {"genrecrnn_version": __version__}
    if params is not None:
        identity["params_md5"] = params_md5(params)
    if dataset is not None:  # imported here: `genrecrnn predict` needs no data set (nor sklearn)
        from genrecrnn.data.index import manifest_checksum, read_dataset_index

        identity["manifest_md5"] = manifest_checksum(read_dataset_index(Path(dataset))[0])
    if model_id is not None:
        identity["model_id"] = model_id
    return identity


# The libraries whose versions can move a number (decoding, features, training, metrics).
_LIBRARIES = ("numpy", "scipy", "librosa", "soundfile", "soxr", "scikit-learn", "tensorflow-cpu", "tensorflow", "keras")


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else platform.processor(), else "unknown"."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def numpy_simd() -> str:
    """numpy's dispatch targets in use on this CPU (e.g. "X86_V3 X86_V4 AVX512_ICL"), after NPY_DISABLE_CPU_FEATURES."""
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

    return " ".join(target for target in __cpu_dispatch__ if __cpu_features__.get(target)) or "baseline only"


def environment() -> dict[str, str]:
    """What a number may depend on besides params and data: Python and library versions, CPU model and SIMD level.

    The data and feature stages write the same bytes on any x86-64 CPU (genrecrnn.util.portable); TensorFlow's
    training does not (oneDNN picks kernels by CPU), so metrics record where they were made.
    """
    env = {"python": platform.python_version(), "machine": platform.machine(), "cpu": cpu_model()}
    env["numpy_simd"] = numpy_simd()
    for variable in ("NPY_DISABLE_CPU_FEATURES", "ONEDNN_MAX_CPU_ISA", "OPENBLAS_CORETYPE"):
        if os.environ.get(variable):
            env[variable] = os.environ[variable]
    for name in _LIBRARIES:
        try:
            env[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return env


def describe_environment(env: Mapping[str, str]) -> str:
    """One line for metrics.json (one column in `dvc metrics show`): "cpu ...; numpy_simd ...; numpy 2.4.6, ..."."""
    return "; ".join(f"{key} {value}" for key, value in env.items())


def describe_identity(identity: Mapping[str, str]) -> str:
    """One text line for a notebook or log: "run: genrecrnn_version 0.4.0, params_md5 ..., ..."."""
    return "run: " + ", ".join(f"{key} {value}" for key, value in identity.items())

"""params.yaml read and checked: the project root, a section from a mapping, a notebook's received keys, overrides.

Configuration flows one way: params.yaml -> papermill parameters -> the typed sections
(:mod:`genrecrnn.config.sections`) -> plain function arguments. This module is the only place that
reads params.yaml; a notebook rebuilds its sections once with :func:`received`.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any, get_type_hints

import yaml
from pydantic import TypeAdapter, ValidationError

from genrecrnn.config.sections import PARAMS_FILE, SECTIONS, Params, S, SectionError
from genrecrnn.util.errors import ConfigError


def parse_section(cls: type[S], values: Any, *, name: str = "", source: str = PARAMS_FILE) -> S:
    """Validate a mapping as section `cls` (every field present); ConfigError names each bad key.

    `name` is the section's dotted name in params.yaml ("train"), used in messages.
    """
    if isinstance(values, cls):
        return values
    if not isinstance(values, dict):
        raise ConfigError(f"{source}: {name or 'the file'} must be a mapping of keys, got {values!r}")
    missing = _missing_keys(cls, values, name)
    if missing:
        raise ConfigError(f"{source}: missing key(s) {', '.join(missing)}")
    try:
        return cls(**values)
    except SectionError as err:
        raise SectionError(err.errors, cls, name, source) from None


def section_of(name: str, values: Any, *, source: str = PARAMS_FILE) -> object:
    """The params.yaml section `name` ("train", "paths", ...) as its section class, from a mapping or an instance.

    :func:`received` calls it for each section a notebook declared; a caller that knows the class
    calls :func:`parse_section`, whose return type is that class.
    """
    kind = get_type_hints(Params).get(name)
    if not dataclasses.is_dataclass(kind):
        raise ConfigError(f"{source}: {name!r} is not a params.yaml section; sections: {', '.join(SECTIONS)}")
    return parse_section(kind, values, name=name, source=source)


class Received:
    """What a notebook received from papermill, typed: each params.yaml key it declared, as its section class.

    Built once by :func:`received`, in the cell after the parameters cell; attributes are the keys
    (``p.paths.results``, ``p.validate.n_boot``, ``p.seed``), so no later cell indexes a dict; ``given``
    keeps the plain values for the run identity (genrecrnn.data.provenance.run_identity hashes what was received).
    """

    def __init__(self, values: dict[str, Any], given: dict[str, Any]) -> None:
        self._values = dict(values)
        self.given = dict(given)  # the plain values as received: what a stage's run identity hashes

    def __getattr__(self, name: str) -> Any:
        values = self.__dict__.get("_values", {})
        if name in values:
            return values[name]
        raise ConfigError(f"{name!r} was not received; this notebook declares {', '.join(values) or 'nothing'}")

    def __repr__(self) -> str:
        return f"Received({', '.join(f'{k}={v!r}' for k, v in self._values.items())})"


def received(source: str = "papermill parameters", **values: Any) -> Received:
    """The params.yaml keys a notebook declared (papermill's plain values), each validated as its typed class.

    Sections ("paths", "train", ...) become their section class, shared keys ("seed", "sample_rate",
    "genres") are checked against Params' field types; an unknown key raises ConfigError naming the keys
    params.yaml has.
    """
    hints = get_type_hints(Params, include_extras=True)
    unknown = sorted(set(values) - set(hints))
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {', '.join(unknown)}; params.yaml has {', '.join(hints)}")
    typed = {}
    for name, value in values.items():
        if name in SECTIONS:
            typed[name] = section_of(name, value, source=source)
        else:
            try:
                typed[name] = TypeAdapter(hints[name]).validate_python(value)
            except ValidationError as err:
                raise ConfigError(f"{source}: {name}: {err.errors()[0]['msg']}, got {value!r}") from None
    return Received(typed, values)


def _missing_keys(cls: type, values: dict, prefix: str) -> list[str]:
    """Dotted names of the fields of `cls` (recursing into sections) that `values` lacks."""
    out = []
    for field, kind in get_type_hints(cls).items():
        name = f"{prefix}.{field}" if prefix else field
        if field not in values:
            out.append(name)
        elif dataclasses.is_dataclass(kind) and isinstance(values[field], dict):
            out += _missing_keys(kind, values[field], name)
    return out


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


def load_params(path: Path | str | None = None) -> Params:
    """Read params.yaml with the safe loader and validate it; `path` defaults to the project's."""
    path = Path(path) if path is not None else find_project_root() / PARAMS_FILE
    if not path.is_file():
        raise ConfigError(f"{path}: parameter file not found")
    try:
        values = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({err})") from err
    return parse_section(Params, values, source=str(path))


def as_dict(section_value: Any) -> dict[str, Any]:
    """A section as plain, JSON-ready values (tuples become lists): what papermill passes to a notebook."""
    return _plain(dataclasses.asdict(section_value))


def _plain(value: Any) -> Any:
    """Tuples to lists, recursively, so that values compare equal to what YAML and JSON give back."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def with_overrides(params: Params, overrides: dict[str, Any]) -> Params:
    """Copy of `params` with dotted-key overrides applied (e.g. {"train.epochs": 2}), revalidated."""
    values = copy.deepcopy(as_dict(params))
    for dotted, value in overrides.items():
        *parents, leaf = dotted.split(".")
        node = values
        for part in parents:
            if not isinstance(node.get(part), dict):
                raise ConfigError(f"overrides: {dotted}: no section {part!r}")
            node = node[part]
        node[leaf] = value
    return parse_section(Params, values, source="overrides")

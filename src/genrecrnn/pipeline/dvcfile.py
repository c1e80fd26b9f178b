"""dvc.yaml against the package: the data stage's user-file deps (generated), every stage's outs (the contract).

DVC's templating cannot drop an empty dep (``${data.split_file}`` set to "" breaks every command), so
the set files are written into a marked block of the data stage's deps by ``genrecrnn deps``, and the
data stage refuses to run while the block and params.yaml disagree: an edited split or group file
then always reruns the stage, and a changed setting cannot run with a stale dep list.

Each stage's outs under paths.results and paths.models must be what the output contract
(:mod:`genrecrnn.config.outputs`) says it writes: ``genrecrnn deps --check`` and the tests compare them.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from genrecrnn.config.outputs import stage_outputs
from genrecrnn.config.sections import DataParams
from genrecrnn.util.errors import ConfigError
from genrecrnn.util.fileio import atomic_write_text

DVC_FILE = "dvc.yaml"
USER_FILE_KEYS = ("split_file", "group_file")
BEGIN = "# >>> user files (data.split_file, data.group_file): written by `genrecrnn deps`, do not edit"
END = "# <<< user files"
_BLOCK = re.compile(rf"^(?P<indent>[ \t]*){re.escape(BEGIN)}\n(?P<body>.*?)^[ \t]*{re.escape(END)}$", re.M | re.S)


def user_files(data: DataParams) -> list[str]:
    """The user files params.yaml's `data` section sets, in USER_FILE_KEYS order (empty values left out)."""
    return [getattr(data, key) for key in USER_FILE_KEYS if getattr(data, key)]


def _block(text: str, dvc_yaml: Path | str) -> re.Match:
    match = _BLOCK.search(text)
    if match is None:
        raise ConfigError(f"{dvc_yaml}: the data stage's deps lack the marked block ({BEGIN!r} ... {END!r})")
    return match


def declared_user_files(dvc_yaml: Path | str) -> list[str]:
    """The paths listed in dvc.yaml's marked block, in order."""
    body = _block(Path(dvc_yaml).read_text(), dvc_yaml)["body"]
    return [line.strip()[2:].strip() for line in body.splitlines() if line.strip().startswith("- ")]


def write_user_files(dvc_yaml: Path | str, files: list[str]) -> bool:
    """Rewrite the marked block to list `files` (atomically); True if dvc.yaml changed."""
    text = Path(dvc_yaml).read_text()
    match = _block(text, dvc_yaml)
    indent = match["indent"]
    body = "".join(f"{indent}- {f}\n" for f in files)
    new = f"{text[: match.start()]}{indent}{BEGIN}\n{body}{indent}{END}{text[match.end() :]}"
    if new != text:
        atomic_write_text(dvc_yaml, new)
    return new != text


def check_user_files(dvc_yaml: Path | str, data: DataParams) -> None:
    """ConfigError unless dvc.yaml's data stage lists exactly the user files params.yaml sets."""
    want, have = user_files(data), declared_user_files(dvc_yaml)
    if want != have:
        raise ConfigError(
            f"{dvc_yaml}: the data stage's deps list user files {have} but params.yaml sets {want} "
            "(data.split_file, data.group_file), so editing them would not rerun the stage; "
            "run `genrecrnn deps` to write them into dvc.yaml, then rerun"
        )


def declared_outs(stage: dict) -> dict[str, set[str]]:
    """A dvc.yaml stage's outs and metrics by the paths.* key they sit under: "results" -> {"metrics.json", ...};
    a folder out (``${paths.models}``) is the empty name ""; ConfigError for an out under no paths.* folder."""
    found: dict[str, set[str]] = {}
    for out in [*stage.get("outs", []), *stage.get("metrics", [])]:
        path = out if isinstance(out, str) else next(iter(out))
        match = re.fullmatch(r"\$\{paths\.(\w+)\}(?:/(.+))?", path)
        if match is None:
            raise ConfigError(f"{DVC_FILE}: out {path} is not under a paths.* folder")
        found.setdefault(match.group(1), set()).add(match.group(2) or "")
    return found


def outs_against_contract(dvc_yaml: Path | str) -> list[str]:
    """Where dvc.yaml's outs under paths.results and paths.models differ from the output contract, one line per
    stage and folder; empty when every stage declares exactly what the contract says it writes."""
    problems = []
    for name, stage in yaml.safe_load(Path(dvc_yaml).read_text())["stages"].items():
        declared, written = declared_outs(stage), stage_outputs(name)
        for key in ("results", "models"):
            files, contract = declared.get(key, set()), set(written.get(key, []))
            if "" in files:  # the whole folder is the out: the contract names what the stage writes in it
                if files != {""} or not contract:
                    problems.append(f"stage {name}: paths.{key} is a folder out, but the contract names nothing in it")
            elif files != contract:
                problems.append(
                    f"stage {name}: paths.{key} outs not in the contract {sorted(files - contract)}, "
                    f"in the contract but not declared {sorted(contract - files)}"
                )
    return problems

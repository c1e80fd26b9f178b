"""dvc.yaml's generated part: the user files the data stage reads (data.split_file, data.group_file) as its deps.

DVC's templating cannot drop an empty dep (``${data.split_file}`` set to "" breaks every command), so
the set files are written into a marked block of the data stage's deps by ``genrecrnn deps``, and the
data stage refuses to run while the block and params.yaml disagree: an edited split or group file
then always reruns the stage, and a changed setting cannot run with a stale dep list.
"""

from __future__ import annotations

import re
from pathlib import Path

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

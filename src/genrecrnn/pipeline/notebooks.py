"""Run the numbered notebooks with papermill: parameters from params.yaml, output written atomically."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import papermill
from jupyter_client import AsyncKernelManager

from genrecrnn.config.loading import as_dict
from genrecrnn.config.outputs import executed_notebook
from genrecrnn.config.sections import Params
from genrecrnn.util.errors import ConfigError
from genrecrnn.util.fileio import atomic_path

log = logging.getLogger(__name__)
NOTEBOOK_DIR = "notebooks"


class LocalKernelManager(AsyncKernelManager):
    """A kernel reached over local IPC sockets (POSIX): no network port, and no warning from the kernel.

    Over TCP, ipykernel warns on every start that its traffic is unencrypted. The sockets are files
    named <temp dir>/genrecrnn-kernel-<pid>-<n>, removed when the kernel shuts down.
    """

    def __init__(self, **kwargs) -> None:
        if os.name == "posix":
            kwargs.setdefault("transport", "ipc")
            kwargs.setdefault("ip", os.path.join(tempfile.gettempdir(), f"genrecrnn-kernel-{os.getpid()}"))
        super().__init__(**kwargs)


def notebook_parameters(notebook: Path, params: Params) -> dict:
    """The params.yaml keys and sections a notebook declares in its `parameters` cell, by name, as plain values."""
    declared = papermill.inspect_notebook(str(notebook))
    if not declared:
        raise ConfigError(f"{notebook}: no cell tagged 'parameters'")
    values = as_dict(params)
    return {name: values[name] for name in declared if name in values}


def executed_notebooks(root: Path, params: Params) -> list[Path]:
    """Executed copies of the numbered notebooks, in order."""
    sources = sorted((root / NOTEBOOK_DIR).glob("[0-9][0-9]_*.ipynb"))
    return [root / params.paths.results / executed_notebook(s.stem) for s in sources]


def run_notebook(name: str, *, params: Params, root: Path) -> Path:
    """Execute notebooks/<name>.ipynb from `root`; the executed copy lands in <results>/notebooks/."""
    source = root / NOTEBOOK_DIR / f"{Path(name).stem}.ipynb"
    if not source.is_file():
        available = sorted(p.stem for p in (root / NOTEBOOK_DIR).glob("*.ipynb"))
        raise ConfigError(f"{source}: no such notebook; available: {', '.join(available)}")
    out = root / params.paths.results / executed_notebook(source.stem)
    log.info("executing %s -> %s", source, out)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # the kernel inherits it: no TensorFlow start-up chatter
    with atomic_path(out) as tmp:
        try:
            papermill.execute_notebook(
                str(source),
                str(tmp),
                parameters=notebook_parameters(source, params),
                cwd=str(root),
                kernel_name="python3",
                kernel_manager_class=LocalKernelManager,
                progress_bar=False,
            )
        except papermill.PapermillExecutionError:
            # Keep the failed run for reading, beside (not over) the last good one.
            os.replace(tmp, out.with_name(f"{out.stem}.failed.ipynb"))
            raise
    return out

"""Quiet by default: `genrecrnn predict` prints its result on stdout, nothing on stderr; -v brings TF's lines back."""

import os
import subprocess
import sys

import pytest

from genrecrnn.features.logmel import FeatureConfig
from genrecrnn.util.quiet import VERBOSE_ENV, filter_startup_noise, stderr_fd_captured

from conftest import save_tiny_classifier, tone, write_wav

STARTUP = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    "I0000 00:00:1795866242.663116    7895 port.cc:153] oneDNN custom operations are on. You may see ...\n"
    "I0000 00:00:1795866242.723237    7895 cpu_feature_guard.cc:227] This TensorFlow binary is optimized ...\n"
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with the flags.\n"
)


def test_startup_lines_are_dropped_and_real_messages_kept():
    real = "E0000 real_error.cc:1] could not open file\nUserWarning: something real\n"
    assert filter_startup_noise(STARTUP + real) == real


def test_fd_capture_catches_c_level_writes_and_restores_stderr(capfd):
    with stderr_fd_captured() as captured:
        os.write(2, b"from C\n")
    os.write(2, b"after\n")
    assert captured == ["from C\n"]
    assert capfd.readouterr().err == "after\n"


@pytest.fixture(scope="module")
def song_and_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("quiet")
    cfg = FeatureConfig(n_mels=32)
    model_path = folder / "m.keras"
    save_tiny_classifier(model_path, cfg=cfg, genres=["low", "high"], filters=(2,) * 5, units=2)
    return write_wav(folder / "song.flac", tone(220, 7.0)), model_path


def predict(args, cwd, **env):
    """Run `python -m genrecrnn.cli predict` in a fresh process (TensorFlow imported from scratch)."""
    environment = {k: v for k, v in os.environ.items() if k not in (VERBOSE_ENV, "TF_CPP_MIN_LOG_LEVEL")}
    return subprocess.run(
        [sys.executable, "-m", "genrecrnn.cli", *args],
        cwd=cwd,
        env={**environment, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_predict_prints_only_its_result_and_nothing_on_stderr(song_and_model, tmp_path):
    song, model = song_and_model
    done = predict(["predict", str(song), "--model", str(model), "--plot", str(tmp_path / "t.png")], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"{song}  (7.0 s, 1 window(s))")
    assert {ln.split()[0] for ln in lines[1:3]} == {"low", "high"}
    assert (tmp_path / "t.png").stat().st_size > 1000 and (tmp_path / "t.svg").is_file()


def test_verbose_lets_tensorflows_startup_logging_through(song_and_model, tmp_path):
    song, model = song_and_model
    done = predict(["-v", "predict", str(song), "--model", str(model)], cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.startswith(str(song))
    assert "oneDNN" in done.stderr or "cpu_feature_guard" in done.stderr or "absl" in done.stderr


def test_importing_the_package_installs_no_hook_the_stages_entry_does():
    """Quieting is explicit: the CLI's main and genrecrnn.pipeline.stages (the notebooks' entry) install it,
    `import genrecrnn` changes nothing in the interpreter."""
    code = (
        "import sys; import genrecrnn.config.sections; from genrecrnn.util.quiet import _QuietTensorFlowFinder as F\n"
        "hooked = lambda: any(isinstance(f, F) for f in sys.meta_path)\n"
        "before = hooked(); import genrecrnn.pipeline.stages; print(before, hooked())"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["False", "True"], done.stderr

from genrecrnn import __version__
from genrecrnn.config.loading import load_params, with_overrides
from genrecrnn.data.provenance import run_identity
from genrecrnn.pipeline.notebooks import notebook_parameters

from conftest import ROOT


def test_identity_holds_what_it_is_given():
    assert run_identity() == {"genrecrnn_version": __version__}
    ids = run_identity({"seed": 1}, model_id="abc")
    assert list(ids) == ["genrecrnn_version", "params_md5", "model_id"] and ids["model_id"] == "abc"


def test_only_the_parameters_a_stage_receives_change_its_id():
    params = load_params(ROOT / "params.yaml")
    notebook = ROOT / "notebooks" / "03_validation.ipynb"

    def stage_id(p):
        return run_identity(notebook_parameters(notebook, p))["params_md5"]

    other = with_overrides(params, {"train.epochs": params.train.epochs + 1})  # validate does not receive train
    assert stage_id(other) == stage_id(params)
    other = with_overrides(other, {"validate.n_boot": params.validate.n_boot + 1})
    assert stage_id(other) != stage_id(params)


def test_manifest_md5_comes_from_the_data_index(tmp_path):
    import pandas as pd

    from genrecrnn.data.index import manifest_checksum, write_dataset_index

    manifest = pd.DataFrame(
        {"track_id": ["a/0"], "path": ["a/0.wav"], "genre": ["a"], "md5": ["0" * 32], "status": ["ok"]}
    )
    split = pd.DataFrame({"track_id": ["a/0"], "split": ["train"]})
    write_dataset_index(tmp_path, manifest, split, ["a", "b"])
    assert run_identity(dataset=tmp_path)["manifest_md5"] == manifest_checksum(manifest)


def test_environment_names_the_cpu_simd_level_and_library_versions(monkeypatch):
    from importlib import metadata

    from genrecrnn.data.provenance import environment

    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    env = environment()
    assert env["numpy"] == metadata.version("numpy") and env["librosa"] == metadata.version("librosa")
    assert env["ONEDNN_MAX_CPU_ISA"] == "AVX2" and env["cpu"] and env["numpy_simd"]
    assert "NPY_DISABLE_CPU_FEATURES" not in env or env["NPY_DISABLE_CPU_FEATURES"]

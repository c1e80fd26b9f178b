"""The data stage depends on the split and group files whenever params.yaml sets them."""

import shutil

import pytest
import yaml

from genrecrnn.cli import main
from genrecrnn.config.loading import load_params
from genrecrnn.config.sections import DataParams
from genrecrnn.pipeline.dvcfile import check_user_files, declared_user_files, user_files, write_user_files
from genrecrnn.util.errors import ConfigError

from conftest import ROOT


@pytest.fixture
def project(tmp_path):
    """A copy of dvc.yaml and params.yaml with a split file set (a group file cannot be set beside it)."""
    shutil.copy(ROOT / "dvc.yaml", tmp_path / "dvc.yaml")
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data"].update(split_file="splits/published.csv")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return tmp_path


def test_committed_dvc_yaml_lists_the_user_files_params_yaml_sets():
    params = load_params(ROOT / "params.yaml")
    assert declared_user_files(ROOT / "dvc.yaml") == user_files(params.data)
    check_user_files(ROOT / "dvc.yaml", params.data)


def test_deps_command_writes_them_and_dvc_reads_them_as_deps_of_the_data_stage(project, monkeypatch):
    from dvc.repo import Repo

    before = (project / "dvc.yaml").read_text()
    assert main(["deps", "--params", str(project / "params.yaml")]) == 0
    assert declared_user_files(project / "dvc.yaml") == ["splits/published.csv"]
    after = (project / "dvc.yaml").read_text()
    assert after.replace("      - splits/published.csv\n", "") == before  # nothing else
    Repo.init(str(project), no_scm=True)
    monkeypatch.chdir(project)  # DVC resolves a stage name against the working directory's dvc.yaml
    stage = Repo(str(project)).stage.collect("data")[0]
    deps = {str(d.def_path) for d in stage.deps}
    assert {"src/genrecrnn", "splits/published.csv"} <= deps
    # Unsetting them again empties the block: DVC would fail on a dep of "" (templating cannot drop it).
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["data"].update(split_file="", group_file="")
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert main(["deps", "--params", str(project / "params.yaml")]) == 0
    assert (project / "dvc.yaml").read_text() == before


def test_data_stage_refuses_to_run_while_dvc_yaml_lacks_a_set_file(project, capsys):
    assert main(["data", "--params", str(project / "params.yaml")]) == 1
    err = capsys.readouterr().err
    assert "params.yaml sets ['splits/published.csv']" in err and "genrecrnn deps" in err
    with pytest.raises(ConfigError, match=r"list user files \['x.csv'\] but params.yaml sets \[\]"):
        write_user_files(project / "dvc.yaml", ["x.csv"])
        check_user_files(project / "dvc.yaml", DataParams(split_file="", group_file=""))


def test_a_dvc_yaml_without_the_marked_block_is_a_clear_error(tmp_path):
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    with pytest.raises(ConfigError, match="lack the marked block"):
        declared_user_files(tmp_path / "dvc.yaml")


def test_deps_check_compares_the_user_files_and_the_outs_with_the_contract(project, capsys):
    shutil.copy(ROOT / "params.yaml", project / "params.yaml")
    assert main(["deps", "--check", "--params", str(project / "params.yaml")]) == 0
    assert "agree with the output contract" in capsys.readouterr().out
    text = (project / "dvc.yaml").read_text()
    (project / "dvc.yaml").write_text(
        text.replace("      - ${paths.results}/history.csv:", "      - ${paths.results}/old.csv:")
    )
    assert main(["deps", "--check", "--params", str(project / "params.yaml")]) == 1
    err = capsys.readouterr().err
    assert "stage train" in err and "old.csv" in err and "history.csv" in err

"""The thread budget: one setting, derived from the cores this process may use."""

import os
import platform
import resource

import numpy as np
import pytest

from genrecrnn.util.errors import ConfigError
from genrecrnn.util.threads import ENV, reuse_freed_memory, single_threaded_blas, thread_budget


def test_budget_is_the_cpu_affinity_unless_the_variable_says_otherwise(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    assert thread_budget() == len(os.sched_getaffinity(0))
    monkeypatch.setenv(ENV, "3")
    assert thread_budget() == 3


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_a_bad_budget_names_the_variable(monkeypatch, value):
    monkeypatch.setenv(ENV, value)
    with pytest.raises(ConfigError, match=f"{ENV}=.*positive whole number"):
        thread_budget()


def test_blas_runs_on_one_thread_inside_the_block_and_is_restored_after():
    from threadpoolctl import threadpool_info

    def blas_threads() -> set[int]:
        return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}

    np.ones((2, 2)) @ np.ones((2, 2))  # loads numpy's BLAS
    before = blas_threads()
    with single_threaded_blas():
        assert blas_threads() == {1}
    assert blas_threads() == before


def test_tensorflow_gets_the_budget_before_its_first_op():
    import subprocess
    import sys

    code = (
        "from genrecrnn.util.threads import configure_tensorflow; import tensorflow as tf; configure_tensorflow();"
        "t = tf.config.threading; print(t.get_intra_op_parallelism_threads(), t.get_inter_op_parallelism_threads())"
    )
    env = os.environ | {ENV: "3", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-1000:]
    assert done.stdout.split()[-2:] == ["3", "2"]


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt thresholds are glibc's")
def test_freed_batch_arrays_are_reused_without_page_faults():
    frames = np.ones((200, 129, 128), np.float32)  # 3 s log-mel frames
    rows = np.arange(0, 64, 2)
    batch_pages = 4 * frames[rows].nbytes // resource.getpagesize()  # frame, next frame, strip: 4 frames' bytes

    def faults_over_batches() -> int:
        """Minor page faults while reading 20 batches as the loader does (frame + next frame -> strip)."""
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(20):
            first, following = frames[rows], frames[rows + 1]
            strips = np.concatenate([first, following], axis=1)
            del first, following, strips
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

    assert reuse_freed_memory()
    faults_over_batches()  # the first batch maps its pages once
    # Without reuse every batch faults its pages back in (20 x ~2,000 here); with it, none come back.
    assert faults_over_batches() < batch_pages

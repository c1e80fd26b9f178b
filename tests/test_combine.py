import numpy as np
import pytest

from genrecrnn.metrics.combine import COMBINE_METHODS, combine_probabilities


def test_a_one_frame_tail_does_not_weigh_like_a_full_window():
    windows = np.array([[0.6, 0.4, 0.0], [0.0, 1.0, 0.0]])  # a full window for a, a 1-frame tail for b
    one_song = np.zeros(2, int)
    np.testing.assert_allclose(combine_probabilities(windows, one_song, weights=[10, 1]), [[6 / 11, 5 / 11, 0]])
    vote = combine_probabilities(windows, one_song, weights=[10, 1], method="vote")
    np.testing.assert_allclose(vote, [[10 / 11, 1 / 11, 0]])
    with pytest.raises(ValueError, match="allowed: mean, vote"):
        combine_probabilities(windows, one_song, method="median")
    with pytest.raises(ValueError, match="positive weights"):
        combine_probabilities(windows, one_song, weights=[10, 0])


def test_groups_are_combined_apart_and_unit_weights_give_the_plain_mean():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(4), size=50)
    groups = rng.integers(0, 5, size=50)
    for method in COMBINE_METHODS:
        got = combine_probabilities(probs, groups, method=method)
        rows = probs if method == "mean" else np.eye(4)[probs.argmax(axis=1)]
        np.testing.assert_allclose(got, [rows[groups == g].mean(axis=0) for g in range(5)])
        np.testing.assert_allclose(got.sum(axis=1), 1)


def test_frame_weighted_windows_equal_the_mean_over_all_frames():
    rng = np.random.default_rng(1)
    frames = rng.dirichlet(np.ones(3), size=31)
    bounds = [0, 10, 20, 30, 31]  # three full windows and a one-frame tail
    windows = np.stack([frames[a:b].mean(axis=0) for a, b in zip(bounds[:-1], bounds[1:])])
    song = combine_probabilities(windows, np.zeros(4, int), weights=np.diff(bounds))
    np.testing.assert_allclose(song[0], frames.mean(axis=0))


def test_fusion_weight_is_fitted_on_the_clips_it_is_given():
    from genrecrnn.metrics.combine import fit_fusion_weight, fuse

    labels = np.array([0, 1, 0, 1, 0, 1])
    right = np.eye(2)[labels] * 0.8 + 0.1  # 0.9 on the true genre
    wrong = right[:, ::-1]  # 0.9 on the other genre
    # the CRNN right and the baseline wrong: every weight above 0.5 is right on all, the middle of those is kept
    assert fit_fusion_weight(right, wrong, labels) == 0.8
    assert fit_fusion_weight(wrong, right, labels) == 0.2  # the reverse
    # each right on half the clips, more sure where it is right: the fusion is right on all at equal weight
    crnn = np.where(np.arange(6)[:, None] < 3, np.eye(2)[labels] * 0.9 + 0.05, 0.6 - np.eye(2)[labels] * 0.2)
    base = np.where(np.arange(6)[:, None] >= 3, np.eye(2)[labels] * 0.9 + 0.05, 0.6 - np.eye(2)[labels] * 0.2)
    weight = fit_fusion_weight(crnn, base, labels)
    assert 0.0 < weight < 1.0 and np.all(fuse(crnn, base, weight=weight).argmax(axis=1) == labels)
    np.testing.assert_allclose(fuse(crnn, base, weight=weight).sum(axis=1), 1.0)

"""HMM inference kernels against brute-force enumeration, each other, sampling frequencies and hmmlearn."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats
from scipy.special import logsumexp

from genlab.errors import DataError, ParameterError
from genlab.hmm import kernels

METHODS = ("scaled", "log")


def random_model(rng, n_states, n_steps, scale=2.0):
    log_startprob = np.log(rng.dirichlet(np.ones(n_states)))
    log_transmat = np.log(rng.dirichlet(np.ones(n_states), size=n_states))
    log_emission = rng.normal(scale=scale, size=(n_steps, n_states)) - 5.0
    return log_startprob, log_transmat, log_emission


def with_impossible_entries(log_startprob, log_transmat, log_emission):
    """Forbid start state 1, the transition K-1 -> 0 and emitting x_2 from state 0 (keeping the data possible)."""
    log_startprob, log_transmat, log_emission = log_startprob.copy(), log_transmat.copy(), log_emission.copy()
    log_startprob[1] = -np.inf
    log_startprob -= logsumexp(log_startprob)
    log_transmat[-1, 0] = -np.inf
    log_transmat -= logsumexp(log_transmat, axis=1, keepdims=True)
    if log_emission.shape[0] > 2:
        log_emission[2, 0] = -np.inf
    return log_startprob, log_transmat, log_emission


def brute_force(log_startprob, log_transmat, log_emission):
    """Every quantity of one sequence by enumerating all K^T paths."""
    n_steps, n_states = log_emission.shape
    paths = np.array(list(itertools.product(range(n_states), repeat=n_steps)))
    with np.errstate(invalid="ignore"):
        joint = log_startprob[paths[:, 0]] + log_emission[np.arange(n_steps), paths].sum(axis=1)
        joint += log_transmat[paths[:, :-1], paths[:, 1:]].sum(axis=1)
    log_likelihood = logsumexp(joint)
    weights = np.exp(joint - log_likelihood)
    posteriors = np.zeros((n_steps, n_states))
    transitions = np.zeros((n_states, n_states))
    for path, w in zip(paths, weights, strict=True):
        posteriors[np.arange(n_steps), path] += w
        for a, b in itertools.pairwise(path):
            transitions[a, b] += w
    best = int(np.argmax(joint))
    return {
        "log_likelihood": log_likelihood,
        "posteriors": posteriors,
        "transitions": transitions,
        "viterbi_log_prob": joint[best],
        "viterbi_path": paths[best],
        "joint": dict(zip(map(tuple, paths), joint, strict=True)),
    }


def tiny_cases():
    rng = np.random.default_rng(0)
    cases = []
    for n_states in (2, 3):
        for lengths in ([1, 5], [3, 4], [6, 2]):
            model = random_model(rng, n_states, sum(lengths))
            cases.append(pytest.param(model, lengths, id=f"K{n_states}-{lengths}"))
            cases.append(pytest.param(with_impossible_entries(*model), lengths, id=f"K{n_states}-{lengths}-inf"))
    return cases


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("model", "lengths"), tiny_cases())
def test_forward_backward_matches_brute_force(model, lengths, method):
    log_startprob, log_transmat, log_emission = model
    result = kernels.forward_backward(log_startprob, log_transmat, log_emission, lengths, method=method)
    start_counts = np.zeros(len(log_startprob))
    transition_counts = np.zeros_like(log_transmat)
    offset = 0
    for s, length in enumerate(lengths):
        rows = slice(offset, offset + length)
        expected = brute_force(log_startprob, log_transmat, log_emission[rows])
        assert_allclose(result.log_likelihood[s], expected["log_likelihood"], rtol=1e-12)
        assert_allclose(result.posteriors[rows], expected["posteriors"], rtol=0, atol=1e-12)
        start_counts += expected["posteriors"][0]
        transition_counts += expected["transitions"]
        offset += length
    assert_allclose(result.start_counts, start_counts, rtol=0, atol=1e-12)
    assert_allclose(result.transition_counts, transition_counts, rtol=0, atol=1e-12)
    assert np.all(np.isfinite(result.posteriors))
    assert_allclose(kernels.forward(log_startprob, log_transmat, log_emission, lengths, method=method),
                    result.log_likelihood, rtol=1e-12)  # fmt: skip


@pytest.mark.parametrize(("model", "lengths"), tiny_cases())
def test_viterbi_and_posterior_decode_match_brute_force(model, lengths):
    log_startprob, log_transmat, log_emission = model
    log_prob, states = kernels.viterbi(log_startprob, log_transmat, log_emission, lengths)
    decoded = kernels.posterior_decode(log_startprob, log_transmat, log_emission, lengths)
    assert states.dtype == np.int64 and decoded.dtype == np.int64
    offset = 0
    for s, length in enumerate(lengths):
        rows = slice(offset, offset + length)
        expected = brute_force(log_startprob, log_transmat, log_emission[rows])
        assert_allclose(log_prob[s], expected["viterbi_log_prob"], rtol=1e-12)
        # The returned path must achieve the maximum (robust to exact ties) and is the enumerated argmax here.
        assert_allclose(expected["joint"][tuple(states[rows])], expected["viterbi_log_prob"], rtol=1e-12)
        assert_array_equal(states[rows], expected["viterbi_path"])
        assert_array_equal(decoded[rows], expected["posteriors"].argmax(axis=1))
        offset += length


def test_impossible_sequence_gives_minus_inf_without_nan():
    with np.errstate(divide="ignore"):
        log_startprob = np.log([1.0, 0.0])
        log_transmat = np.log([[1.0, 0.0], [0.5, 0.5]])
    log_emission = np.array([[0.0, 0.0], [-np.inf, 0.0], [-1.0, -2.0]])  # x_1 only from state 1, unreachable
    for method in METHODS:
        result = kernels.forward_backward(log_startprob, log_transmat, log_emission, [2, 1], method=method)
        assert result.log_likelihood[0] == -np.inf
        assert_allclose(result.log_likelihood[1], -1.0, rtol=1e-15)
        assert_array_equal(result.posteriors[:2], 0.0)
        assert_allclose(result.posteriors[2], [1.0, 0.0], rtol=0, atol=1e-15)
        assert_allclose(result.start_counts, [1.0, 0.0], rtol=0, atol=1e-15)
        assert not np.isnan(result.transition_counts).any()
    assert kernels.viterbi(log_startprob, log_transmat, log_emission, [2, 1])[0][0] == -np.inf
    with pytest.raises(DataError, match="probability zero"):
        kernels.sample_posterior_paths(log_startprob, log_transmat, log_emission, [2, 1], random_state=0)


def test_scaled_and_log_agree_on_larger_models():
    rng = np.random.default_rng(1)
    lengths = np.array([500, 1, 123, 376])
    log_startprob, log_transmat, log_emission = random_model(rng, 8, int(lengths.sum()), scale=10.0)
    log_transmat[2, 5] = -np.inf  # a structural zero
    log_transmat -= logsumexp(log_transmat, axis=1, keepdims=True)
    scaled = kernels.forward_backward(log_startprob, log_transmat, log_emission, lengths, method="scaled")
    logspace = kernels.forward_backward(log_startprob, log_transmat, log_emission, lengths, method="log")
    assert_allclose(scaled.log_likelihood, logspace.log_likelihood, rtol=1e-10)
    for a, b in zip(scaled[1:], logspace[1:], strict=True):
        assert_allclose(a, b, rtol=0, atol=1e-10)
    assert scaled.transition_counts[2, 5] == 0.0
    assert_allclose(scaled.transition_counts.sum(), lengths.sum() - len(lengths), rtol=1e-12)


def test_no_underflow_on_a_million_steps():
    rng = np.random.default_rng(2)
    n_states, dim, n_steps = 4, 4, 10**6
    means = rng.normal(scale=1.5, size=(n_states, dim))
    log_transmat = np.log(np.full((n_states, n_states), 0.1 / (n_states - 1)) + np.eye(n_states) * (0.9 - 0.1 / 3))
    log_startprob = np.log(np.full(n_states, 1.0 / n_states))
    states = kernels.sample_paths(log_startprob, log_transmat, [n_steps], random_state=rng)
    x = means[states] + rng.normal(size=(n_steps, dim))
    # Gaussian log-densities of D=4 data: every step contributes several nats, so p(x) is far below 1e-308.
    log_emission = -0.5 * ((x[:, None, :] - means[None]) ** 2).sum(axis=2) - 0.5 * dim * np.log(2 * np.pi)
    scaled = kernels.forward_backward(log_startprob, log_transmat, log_emission, [n_steps], method="scaled")
    logspace = kernels.forward_backward(log_startprob, log_transmat, log_emission, [n_steps], method="log")
    assert np.isfinite(scaled.log_likelihood[0]) and scaled.log_likelihood[0] < -1e6
    assert_allclose(scaled.posteriors.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    # Summing a million per-step terms in different orders leaves ~1e-12 relative differences.
    assert_allclose(scaled.log_likelihood, logspace.log_likelihood, rtol=1e-10)
    assert_allclose(scaled.posteriors, logspace.posteriors, rtol=0, atol=1e-8)
    assert_allclose(scaled.transition_counts, logspace.transition_counts, rtol=1e-8)
    assert_allclose(kernels.forward(log_startprob, log_transmat, log_emission, [n_steps]), scaled.log_likelihood,
                    rtol=1e-12)  # fmt: skip


def test_ffbs_frequencies_match_posteriors_and_xi():
    rng = np.random.default_rng(3)
    lengths = [4, 3]
    log_startprob, log_transmat, log_emission = with_impossible_entries(*random_model(rng, 3, 7, scale=1.0))
    n_paths = 20_000
    paths = kernels.sample_posterior_paths(log_startprob, log_transmat, log_emission, lengths, n_paths=n_paths,
                                           random_state=7)  # fmt: skip
    assert paths.shape == (n_paths, 7) and paths.dtype == np.int64
    again = kernels.sample_posterior_paths(log_startprob, log_transmat, log_emission, lengths, n_paths=n_paths,
                                           random_state=7)  # fmt: skip
    assert_array_equal(paths, again)
    result = kernels.forward_backward(log_startprob, log_transmat, log_emission, lengths)

    def check(frequency, probability):
        # 5 binomial standard errors (plus a floor for probabilities near 0 or 1): a false failure is ~1e-6 likely
        # per entry.
        tolerance = 5 * np.sqrt(probability * (1 - probability) / n_paths) + 1e-3
        assert np.all(np.abs(frequency - probability) <= tolerance)

    marginals = np.stack([(paths == k).mean(axis=0) for k in range(3)], axis=1)
    check(marginals, result.posteriors)
    assert np.all(marginals[result.posteriors == 0] == 0)  # impossible states are never drawn
    # Pairwise frequencies within each sequence against xi summed over its steps (brute force gives per-step xi).
    offset = 0
    for length in lengths:
        expected = brute_force(log_startprob, log_transmat, log_emission[offset : offset + length])
        pairs = np.zeros((3, 3))
        for t in range(offset, offset + length - 1):
            np.add.at(pairs, (paths[:, t], paths[:, t + 1]), 1.0 / n_paths)
        assert_allclose(pairs.sum(), length - 1, rtol=1e-12)
        check(pairs / (length - 1), expected["transitions"] / (length - 1))
        offset += length


def test_sample_paths_follow_the_transition_matrix():
    rng = np.random.default_rng(4)
    n_states = 4
    transmat = rng.dirichlet(np.ones(n_states), size=n_states)
    transmat[1, 3] = 0.0
    transmat /= transmat.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        log_transmat = np.log(transmat)
    log_startprob = np.log(np.full(n_states, 0.25))
    path = kernels.sample_paths(log_startprob, log_transmat, [200_000], random_state=5)
    assert path.dtype == np.int64 and path.shape == (200_000,)
    assert_array_equal(path, kernels.sample_paths(log_startprob, log_transmat, [200_000], random_state=5))
    counts = np.zeros((n_states, n_states))
    np.add.at(counts, (path[:-1], path[1:]), 1)
    assert counts[1, 3] == 0
    for i in range(n_states):
        allowed = transmat[i] > 0
        expected = counts[i].sum() * transmat[i, allowed]
        assert stats.chisquare(counts[i, allowed], expected).pvalue > 1e-4
    # Starts: many short paths, each starting from log_startprob.
    starts = kernels.sample_paths(log_startprob, log_transmat, np.full(4000, 2), random_state=6)[::2]
    assert stats.chisquare(np.bincount(starts, minlength=n_states), np.full(n_states, 1000.0)).pvalue > 1e-4


def test_several_sequences_equal_separate_runs():
    rng = np.random.default_rng(5)
    lengths = np.array([7, 1, 0, 12])
    model = random_model(rng, 3, int(lengths.sum()))
    log_startprob, log_transmat, log_emission = model
    together = {m: kernels.forward_backward(*model, lengths, method=m) for m in METHODS}
    log_prob, states = kernels.viterbi(*model, lengths)
    assert together["scaled"].log_likelihood[2] == 0.0  # an empty sequence: the empty product
    offset = 0
    start_counts = np.zeros(3)
    for s, length in enumerate(lengths):
        rows = slice(offset, offset + length)
        for m in METHODS:
            alone = kernels.forward_backward(log_startprob, log_transmat, log_emission[rows], [length], method=m)
            assert_allclose(together[m].log_likelihood[s], alone.log_likelihood[0], rtol=1e-14)
            assert_allclose(together[m].posteriors[rows], alone.posteriors, rtol=0, atol=1e-15)
        lp, st = kernels.viterbi(log_startprob, log_transmat, log_emission[rows], [length])
        assert_allclose(log_prob[s], lp[0], rtol=1e-15)
        assert_array_equal(states[rows], st)
        if length:
            start_counts += together["scaled"].posteriors[offset]
        offset += length
    assert_allclose(together["scaled"].start_counts, start_counts, rtol=1e-14)


def test_bad_lengths_and_options_raise():
    model = random_model(np.random.default_rng(6), 2, 5)
    for function in (kernels.forward_backward, kernels.forward, kernels.viterbi, kernels.posterior_decode,
                     kernels.sample_posterior_paths):  # fmt: skip
        with pytest.raises(DataError, match="lengths sum to 4 but the data has 5 steps"):
            function(*model, [2, 2])
    with pytest.raises(DataError, match="non-negative"):
        kernels.forward(*model, [6, -1])
    with pytest.raises(DataError, match=r"shape \(T, 2\)"):
        kernels.forward(model[0], model[1], model[2][:, :1], [5])
    with pytest.raises(ParameterError, match="method must be one of"):
        kernels.forward(*model, [5], method="logspace")


def test_inputs_are_not_modified_and_read_only_inputs_work():
    model = random_model(np.random.default_rng(7), 3, 6)
    copies = [a.copy() for a in model]
    for a in model:
        a.flags.writeable = False
    kernels.forward_backward(*model, [6])
    kernels.sample_posterior_paths(*model, [6], n_paths=3, random_state=0)
    for a, b in zip(model, copies, strict=True):
        assert_array_equal(a, b)


def test_agrees_with_hmmlearn():
    _hmmc = pytest.importorskip("hmmlearn._hmmc", reason="hmmlearn is not installed; the peer comparison is skipped")
    rng = np.random.default_rng(8)
    log_startprob, log_transmat, log_emission = random_model(rng, 5, 300)
    result = kernels.forward_backward(log_startprob, log_transmat, log_emission, [300])
    # hmmlearn's kernels take the start and transition probabilities, and the emission log-probabilities.
    startprob, transmat = np.exp(log_startprob), np.exp(log_transmat)
    log_prob, forward_lattice = _hmmc.forward_log(startprob, transmat, log_emission)
    backward_lattice = _hmmc.backward_log(startprob, transmat, log_emission)
    assert_allclose(result.log_likelihood[0], log_prob, rtol=1e-12)
    posteriors = np.exp(forward_lattice + backward_lattice - log_prob)
    assert_allclose(result.posteriors, posteriors, rtol=0, atol=1e-10)
    log_xi_sum = _hmmc.compute_log_xi_sum(forward_lattice, transmat, backward_lattice, log_emission)
    assert_allclose(result.transition_counts, np.exp(log_xi_sum), rtol=1e-9)
    best, states = _hmmc.viterbi(startprob, transmat, log_emission)
    ours_best, ours_states = kernels.viterbi(log_startprob, log_transmat, log_emission, [300])
    assert_allclose(ours_best[0], best, rtol=1e-12)
    assert_array_equal(ours_states, states)


def reference_viterbi(log_startprob, log_transmat, log_emission):
    """Plain NumPy Viterbi of one sequence, with the same floating-point operations as the kernel (``np.argmax``
    returns the first maximum, so ties go to the lowest index here too)."""
    n_steps, n_states = log_emission.shape
    delta = log_startprob + log_emission[0]
    backpointer = np.zeros((n_steps, n_states), dtype=np.int64)
    for t in range(1, n_steps):
        scores = delta[:, None] + log_transmat
        backpointer[t] = scores.argmax(axis=0)
        delta = scores.max(axis=0) + log_emission[t]
    path = np.empty(n_steps, dtype=np.int64)
    path[-1] = int(np.argmax(delta))
    for t in range(n_steps - 1, 0, -1):
        path[t - 1] = backpointer[t, path[t]]
    return delta[path[-1]], path


@pytest.mark.parametrize("n_states", [1, 2, 3, 4, 5, 8, 13, 16, 17, 130, 300])
@pytest.mark.parametrize("ties", [False, True])
def test_viterbi_matches_reference_with_ties_and_forbidden_entries(n_states, ties):
    """Every K class (blocks of eight destination states and a remainder), exact ties included."""
    rng = np.random.default_rng(n_states)
    n_steps = 60 if n_states > 100 else 400
    if ties:
        # Uniform transitions and emissions taking few values: many exactly equal path scores.
        log_startprob = np.full(n_states, -np.log(n_states))
        log_transmat = np.full((n_states, n_states), -np.log(n_states))
        log_emission = -rng.integers(0, 2, size=(n_steps, n_states)).astype(float)
    else:
        log_startprob, log_transmat, log_emission = random_model(rng, n_states, n_steps)
    if n_states > 1:
        log_transmat[rng.random((n_states, n_states)) < 0.2] = -np.inf
        log_transmat[np.arange(n_states), np.arange(n_states)] = log_transmat[0, 0] if ties else -0.5  # self-loops
        log_emission[rng.random((n_steps, n_states)) < 0.1] = -np.inf
        column = log_emission[:, rng.integers(n_states)]
        column[column == -np.inf] = -1.0  # staying in that state keeps every sequence possible
    log_prob, states = kernels.viterbi(log_startprob, log_transmat, log_emission, [n_steps])
    expected_log_prob, expected_states = reference_viterbi(log_startprob, log_transmat, log_emission)
    assert np.isfinite(log_prob[0])
    assert log_prob[0] == expected_log_prob
    assert_array_equal(states, expected_states)
    if ties and n_states > 1:  # there were ties to break: some step has several best predecessors
        delta = log_startprob + log_emission[0]
        tied = 0
        for t in range(1, n_steps):
            scores = delta[:, None] + log_transmat
            best = scores.max(axis=0)
            tied += int(((scores == best) & np.isfinite(scores)).sum(axis=0).max() > 1)
            delta = best + log_emission[t]
        assert tied > n_steps // 10


def test_viterbi_leaves_its_input_alone_unless_told_to_overwrite_it():
    rng = np.random.default_rng(7)
    log_startprob, log_transmat, log_emission = random_model(rng, 11, 400)  # 11 states: an 8-block and a remainder
    kept = log_emission.copy()
    log_prob, states = kernels.viterbi(log_startprob, log_transmat, log_emission, [150, 250])
    assert_array_equal(log_emission, kept)
    expected = [reference_viterbi(log_startprob, log_transmat, log_emission[rows]) for rows in (slice(0, 150),
                                                                                                slice(150, 400))]
    assert_array_equal(log_prob, [e[0] for e in expected])
    assert_array_equal(states, np.concatenate([e[1] for e in expected]))
    scratch = log_emission.copy()
    log_prob2, states2 = kernels.viterbi(log_startprob, log_transmat, scratch, [150, 250], overwrite_emission=True)
    assert_array_equal(log_prob2, log_prob)
    assert_array_equal(states2, states)
    assert not np.array_equal(scratch, kept)  # it was used as the lattice


def test_viterbi_all_tied_path_is_state_zero():
    log_prob, states = kernels.viterbi(np.log(np.full(6, 1 / 6)), np.log(np.full((6, 6), 1 / 6)), np.zeros((50, 6)),
                                       [20, 30])  # fmt: skip
    assert_array_equal(states, 0)
    assert_allclose(log_prob, [20 * np.log(1 / 6), 30 * np.log(1 / 6)], rtol=1e-14)


def test_log_method_keeps_the_range_of_log_space():
    """Messages that differ by more than exp's range (~745 nats): the "log" method stays exact where the shifted
    sums underflow (its exact fallback), and agrees with brute force."""
    with np.errstate(divide="ignore"):
        log_startprob = np.log([0.5, 0.5])
        log_transmat = np.log([[0.5, 0.5], [0.0, 1.0]])
    # Backward: x_0 forces state 1 (absorbing), then x_1, x_2 favour state 0 by 1000 nats.
    log_emission = np.array([[-np.inf, 0.0], [0.0, -1000.0], [0.0, -1000.0]])
    result = kernels.forward_backward(log_startprob, log_transmat, log_emission, [3], method="log")
    expected = brute_force(log_startprob, log_transmat, log_emission)
    assert_allclose(result.log_likelihood[0], np.log(0.5) - 2000.0, rtol=1e-14)
    assert_allclose(result.log_likelihood[0], expected["log_likelihood"], rtol=1e-14)
    assert_allclose(result.posteriors, expected["posteriors"], rtol=0, atol=1e-14)
    assert_allclose(result.transition_counts, expected["transitions"], rtol=0, atol=1e-14)
    assert_allclose(kernels.forward(log_startprob, log_transmat, log_emission, [3], method="log"),
                    result.log_likelihood, rtol=1e-14)  # fmt: skip
    # Forward: a left-right chain that prefers state 1 by a nat per step for 1,000 steps, so that alpha(0) ends
    # ~1,700 nats below alpha(1), but the last observation can only come from state 0: the only possible path stays in
    # state 0 throughout.
    n_steps = 1000
    with np.errstate(divide="ignore"):
        log_startprob = np.log([1.0, 0.0])
    log_emission = np.column_stack([np.full(n_steps, -1.0), np.zeros(n_steps)])
    log_emission[-1, 1] = -np.inf
    exact = (n_steps - 1) * np.log(0.5) - n_steps
    for lengths in ([n_steps], [n_steps - 1, 1]):
        result = kernels.forward_backward(log_startprob, log_transmat, log_emission, lengths, method="log")
        if len(lengths) == 1:
            assert_allclose(result.log_likelihood, [exact], rtol=1e-13)
            assert_allclose(result.posteriors, np.tile([1.0, 0.0], (n_steps, 1)), rtol=0, atol=1e-14)
            assert_allclose(result.transition_counts, [[n_steps - 1, 0.0], [0.0, 0.0]], rtol=1e-13, atol=1e-14)
        assert not np.isnan(result.posteriors).any() and not np.isnan(result.transition_counts).any()
        assert_allclose(kernels.forward(log_startprob, log_transmat, log_emission, lengths, method="log"),
                        result.log_likelihood, rtol=1e-13)  # fmt: skip
    assert_allclose(kernels.viterbi(log_startprob, log_transmat, log_emission, [n_steps])[0], [exact], rtol=1e-13)


@pytest.mark.parametrize("n_states", [1, 5, 20])
def test_scaled_and_log_agree_with_structural_zeros(n_states):
    """A banded (left-right-like) transition matrix with many zeros, several sequences, wide emission ranges."""
    rng = np.random.default_rng(10 + n_states)
    lengths = np.array([300, 2, 0, 150])
    log_startprob, _, log_emission = random_model(rng, n_states, int(lengths.sum()), scale=8.0)
    transmat = np.triu(rng.random((n_states, n_states))) * (np.subtract.outer(np.arange(n_states),
                                                                                np.arange(n_states)) > -3)  # fmt: skip
    transmat[-1, 0] = 1.0  # cyclic, so that every state stays reachable
    transmat /= transmat.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        log_transmat = np.log(transmat)
    scaled = kernels.forward_backward(log_startprob, log_transmat, log_emission, lengths, method="scaled")
    logspace = kernels.forward_backward(log_startprob, log_transmat, log_emission, lengths, method="log")
    assert np.all(np.isfinite(logspace.log_likelihood))
    assert_allclose(scaled.log_likelihood, logspace.log_likelihood, rtol=1e-11)
    for a, b in zip(scaled[1:], logspace[1:], strict=True):
        assert_allclose(a, b, rtol=0, atol=1e-10)
    assert np.all(logspace.transition_counts[transmat == 0] == 0.0)
    assert_allclose(kernels.forward(log_startprob, log_transmat, log_emission, lengths, method="log"),
                    logspace.log_likelihood, rtol=1e-12)  # fmt: skip

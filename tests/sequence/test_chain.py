"""First-order chain analysis (order=1) against hand-computed and linear-algebra answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from genlab.errors import DataError, ParameterError
from genlab.sequence import MarkovChain


def test_transition_matrix_of_a_maximum_likelihood_fit():
    # "abab", "bba": transitions a->b 2, b->a 2, b->b 1; b ends "abab", a ends "bba" (those go to </s>)
    # rows renormalised over the states a, b: a -> (0, 1); b -> (2/3, 1/3)
    model = MarkovChain(order=1, smoothing="none").fit(["abab", "bba"])
    assert model.states_ == ["a", "b"]
    np.testing.assert_allclose(model.transition_matrix_, [[0, 1], [2 / 3, 1 / 3]], rtol=1e-14, atol=0)
    # first states: a once, b once
    np.testing.assert_allclose(model.initial_distribution_, [0.5, 0.5], rtol=1e-14)


def test_two_state_chain_by_hand():
    # P = [[1 - a, a], [b, 1 - b]] with a = 0.1, b = 0.5: pi = (b, a) / (a + b) = (5/6, 1/6);
    # hitting state 0 from state 1 is geometric with success 0.5: 2 steps; state 1 from 0: 1 / 0.1 = 10 steps
    chain = MarkovChain.from_transition_matrix([[0.9, 0.1], [0.5, 0.5]], states=["sun", "rain"])
    np.testing.assert_allclose(chain.transition_matrix_, [[0.9, 0.1], [0.5, 0.5]], rtol=1e-14)
    np.testing.assert_allclose(chain.stationary_distribution(), [5 / 6, 1 / 6], rtol=1e-12)
    assert chain.is_irreducible() and chain.period() == 1 and chain.is_aperiodic()
    np.testing.assert_allclose(chain.expected_hitting_times("sun"), [0, 2], rtol=1e-12)
    np.testing.assert_allclose(chain.expected_hitting_times(["rain"]), [10, 0], rtol=1e-12)


def test_stationary_distribution_solves_the_balance_equations():
    gen = np.random.default_rng(0)
    P = gen.dirichlet(np.ones(6), size=6)
    chain = MarkovChain.from_transition_matrix(P)
    pi = chain.stationary_distribution()
    # the left eigenvector of P for eigenvalue 1, normalised
    values, vectors = np.linalg.eig(P.T)
    reference = np.real(vectors[:, np.argmin(np.abs(values - 1))])
    np.testing.assert_allclose(pi, reference / reference.sum(), rtol=1e-10)
    np.testing.assert_allclose(pi @ P, pi, atol=1e-14)


@pytest.mark.parametrize(
    ("P", "expected"),
    [
        ([[0, 1, 0], [0, 0, 1], [1, 0, 0]], 3),  # a 3-cycle
        ([[0, 1], [1, 0]], 2),
        ([[0, 0.5, 0.5, 0], [1, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]], None),  # reducible: state 3 apart
        ([[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0.5, 0, 0.5, 0]], 2),  # cycles of length 4 and 2
        ([[0, 1, 0], [0, 0, 1], [0.5, 0.5, 0]], 1),  # cycles of length 3 and 2: gcd 1
    ],
)
def test_period(P, expected):
    chain = MarkovChain.from_transition_matrix(P)
    if expected is None:
        assert not chain.is_irreducible()
        with pytest.raises(DataError, match="reducible"):
            chain.period()
    else:
        assert chain.is_irreducible() and chain.period() == expected
        assert chain.is_aperiodic() == (expected == 1)


def test_gamblers_ruin_hitting_times():
    # a fair walk on 0..4 absorbed at 0 and 4: E[steps to {0, 4} from i] = i (4 - i) = 0, 3, 4, 3, 0
    P = np.zeros((5, 5))
    P[0, 0] = P[4, 4] = 1.0
    for i in range(1, 4):
        P[i, i - 1] = P[i, i + 1] = 0.5
    chain = MarkovChain.from_transition_matrix(P)
    np.testing.assert_allclose(chain.expected_hitting_times([0, 4]), [0, 3, 4, 3, 0], rtol=1e-12)
    # the absorbing state 4 is never left, so {0} is missed with positive probability from 1, 2, 3 and never
    # reached from 4
    np.testing.assert_array_equal(chain.expected_hitting_times(0), [0, np.inf, np.inf, np.inf, np.inf])
    with pytest.raises(DataError, match="2 closed communicating classes"):
        chain.stationary_distribution()


def test_hitting_times_solve_the_linear_system():
    gen = np.random.default_rng(1)
    P = gen.dirichlet(np.ones(5), size=5)
    chain = MarkovChain.from_transition_matrix(P)
    h = chain.expected_hitting_times(2)
    others = [0, 1, 3, 4]
    reference = np.linalg.solve(np.eye(4) - P[np.ix_(others, others)], np.ones(4))
    np.testing.assert_allclose(h[others], reference, rtol=1e-12)
    assert h[2] == 0


def test_chain_log_prob_and_sampling():
    P = np.array([[0.2, 0.8, 0.0], [0.3, 0.3, 0.4], [0.5, 0.0, 0.5]])
    initial = np.array([0.5, 0.25, 0.25])
    chain = MarkovChain.from_transition_matrix(P, states=list("xyz"), initial=initial)
    # log initial[x] + log P[x, y] + log P[y, z]: the chain never ends, so there is no </s> term
    expected = math.log(0.5) + math.log(0.8) + math.log(0.4)
    assert chain.log_prob([["x", "y", "z"]])[0] == pytest.approx(expected, rel=1e-14)
    assert chain.score([["x", "y", "z"]]) == pytest.approx(expected / 3, rel=1e-14)
    assert chain.log_prob([["x", "z"]])[0] == -np.inf
    with pytest.raises(DataError, match="probability zero"):
        chain.log_prob([["x", "w"]])
    # a long sample: empirical transition counts against P, one chi-square test per row
    sample = chain.generate(max_new_tokens=30_000, random_state=0)
    assert len(sample) == 30_000  # the chain never ends
    ids = np.array(["xyz".index(s) for s in sample])
    counts = np.zeros((3, 3))
    np.add.at(counts, (ids[:-1], ids[1:]), 1)
    for i in range(3):
        allowed = P[i] > 0
        assert counts[i, ~allowed].sum() == 0
        expected_counts = P[i, allowed] * counts[i].sum()
        assert stats.chisquare(counts[i, allowed], expected_counts).pvalue > 1e-3


def test_fitted_chain_samples_agree_with_its_transition_matrix():
    # fit a smoothed first-order chain, sample long sequences from it, refit: the transition frequencies agree
    chain = MarkovChain.from_transition_matrix([[0.1, 0.6, 0.3], [0.4, 0.2, 0.4], [0.7, 0.2, 0.1]], states="abc")
    data = chain.sample(50, n_tokens=200, random_state=0)
    model = MarkovChain(order=1, smoothing="witten-bell").fit(data)
    P = model.transition_matrix_
    sample = model.generate(max_new_tokens=100_000, random_state=1)
    ids = np.array([model.states_.index(s) for s in sample])
    counts = np.zeros_like(P)
    np.add.at(counts, (ids[:-1], ids[1:]), 1)
    for i in range(3):
        # the sample ends at </s>; rows of transition_matrix_ are conditioned on going on, as the sample does
        assert stats.chisquare(counts[i], P[i] * counts[i].sum()).pvalue > 1e-3


def test_chain_analysis_needs_order_one():
    model = MarkovChain(order=2, smoothing="add-k").fit(["abcabc"])
    with pytest.raises(ParameterError, match=r"needs a first-order chain .* order=2"):
        _ = model.transition_matrix_
    with pytest.raises(ParameterError, match="order=1"):
        model.stationary_distribution()


def test_a_state_with_no_way_out_is_reported():
    model = MarkovChain(order=1, smoothing="none").fit(["ab"])  # b is only ever followed by </s>
    with pytest.raises(DataError, match="state 'b' is never followed by another state"):
        _ = model.transition_matrix_


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"P": [[0.5, 0.4], [0.5, 0.5]]}, "row 0 sums to 0.9"),
        ({"P": [[1.5, -0.5], [0.5, 0.5]]}, "non-negative"),
        ({"P": [[1.0, 0.0]]}, "square"),
        ({"P": [[1.0, 0.0], [0.0, 1.0]], "states": ["a", "a"]}, "repeated or reserved"),
        ({"P": [[1.0, 0.0], [0.0, 1.0]], "states": ["a", "<s>"]}, "repeated or reserved"),
        ({"P": [[1.0, 0.0], [0.0, 1.0]], "states": ["a"]}, "1 labels for a 2-state matrix"),
        ({"P": [[1.0, 0.0], [0.0, 1.0]], "initial": [0.3, 0.3]}, "initial must sum to 1"),
        ({"P": [[1.0, 0.0], [0.0, 1.0]], "target": "q"}, "'q' is not a state"),
    ],
)
def test_bad_transition_matrices(kwargs, message):
    kwargs = dict(kwargs)
    target = kwargs.pop("target", None)
    with pytest.raises(DataError, match=message):
        chain = MarkovChain.from_transition_matrix(**kwargs)
        chain.expected_hitting_times(target)

"""Smoothing methods: from raw n-gram counts to the probabilities and back-off weights of a back-off model.

Each method is written in the interpolated form (Chen & Goodman 1998, section 2)::

    p(w | h) = u(w | h) + gamma(h) * p(w | h')          (h' = h without its first token)
    p(w)     = u(w)     + gamma()  * 1 / |V|

with ``u(w | h) = 0`` when ``h w`` was not seen, so that the result is an ARPA back-off model (see
:mod:`genlab.sequence.backoff`). ``|V|`` counts every token the model can predict: the regular tokens, ``</s>`` and
``<unk>`` (not ``<s>``, whose probability is zero), as KenLM's ``lmplz`` does. ``<unk>`` has no count, so its
probability is its share of the uniform term: positive under every method except "none".

Counts ``c`` are the raw window counts of :mod:`genlab.sequence.ngram_counts`; ``C(h) = sum_w c(h w)`` is the count of
``h`` as a context. A context that never precedes anything (it ends in ``</s>``) gets ``gamma = 1``: a pure back-off.

none (maximum likelihood)
    ``u = c(h w) / C(h)``, ``gamma(h) = 0`` for a seen context. A context never seen in training backs off to its
    longest seen suffix (the estimate is undefined there, and this is the least surprising choice). Unseen events
    have probability zero: their log-probability is ``-inf``, and scoring a token outside the vocabulary raises
    :class:`~genlab.errors.DataError`.
add-k (Lidstone; Laplace when k = 1)
    ``p(w | h) = (c(h w) + k) / (C(h) + k |V|)`` for every history ``h`` that the model conditions on (the last
    N-1 tokens, or all tokens since ``<s>`` near the start), and ``1 / |V|`` for a history never seen, the textbook
    estimate. In back-off form the lower orders, which only serve as back-off targets, are uniform.
witten-bell (interpolated)
    ``u = c(h w) / (C(h) + N1+(h .))``, ``gamma(h) = N1+(h .) / (C(h) + N1+(h .))`` with ``N1+(h .)`` the number of
    distinct tokens seen after ``h`` (Witten & Bell 1991; Chen & Goodman's interpolated form).
kneser-ney (interpolated modified Kneser-Ney, Chen & Goodman 1998; the estimator of KenLM's ``lmplz``)
    Adjusted counts ``a``: raw counts at the highest order and for n-grams that begin with ``<s>`` (nothing can
    precede them); elsewhere continuation counts ``N1+(. g)``, the number of distinct tokens seen before ``g``.
    Three discounts per order from the counts-of-counts ``n_k`` of the adjusted counts::

        Y = n1 / (n1 + 2 n2),  D1 = 1 - 2 Y n2 / n1,  D2 = 2 - 3 Y n3 / n2,  D3+ = 3 - 4 Y n4 / n3

    ``u = (a(h w) - D(a(h w))) / sum_w a(h w)`` and ``gamma(h) = sum_w D(a(h w)) / sum_w a(h w)``.

    Fallback: where ``n1``, ``n2`` or ``n3`` is zero or a discount comes out <= 0 (small or artificial data; KenLM
    stops with ``BadDiscountException`` there), the order's discounts are replaced by ``D = (0.5, 1.0, 1.5)`` and a
    :class:`~genlab.errors.DegenerateFitWarning` names the order. These are the values of KenLM's
    ``--discount_fallback``, which users of KenLM already get on such data; they lie close to what the estimator
    gives on the Zipf-like count spectra of natural text (Chen & Goodman report D1 ~ 0.5-0.7, D2 ~ 1-1.1,
    D3+ ~ 1.3-1.6), and each stays below its count, so the estimate remains a distribution. Discounts must be
    positive (KenLM accepts 0): a zero discount could leave a context no mass for unseen tokens.
"""

from __future__ import annotations

import warnings

import numpy as np

from genlab.errors import DegenerateFitWarning
from genlab.sequence.backoff import NGramIndex, starts_with_bos
from genlab.sequence.vocabulary import BOS_ID

__all__ = ["FALLBACK_DISCOUNTS", "SMOOTHING_METHODS", "estimate_discounts", "smooth"]

SMOOTHING_METHODS = ("none", "add-k", "witten-bell", "kneser-ney")
FALLBACK_DISCOUNTS = (0.5, 1.0, 1.5)


def estimate_discounts(adjusted_counts: np.ndarray) -> tuple[np.ndarray, bool, np.ndarray]:
    """Modified Kneser-Ney discounts D1, D2, D3+ of one order from its adjusted counts.

    Parameters
    ----------
    adjusted_counts : ndarray of int, shape (m,)
        The adjusted counts of the order's n-grams (zeros are ignored).

    Returns
    -------
    discounts : ndarray of float64, shape (3,)
        (D1, D2, D3+): the estimate, or :data:`FALLBACK_DISCOUNTS` when it is invalid.
    valid : bool
        Whether the estimate was valid.
    counts_of_counts : ndarray of int64, shape (4,)
        n1, n2, n3, n4: the numbers of n-grams with adjusted count 1, 2, 3, 4.
    """
    counts = np.asarray(adjusted_counts, dtype=np.int64)
    n = np.bincount(np.minimum(counts[counts > 0], 5), minlength=6)[1:5].astype(np.int64)
    if n[0] == 0 or n[1] == 0 or n[2] == 0:
        return np.array(FALLBACK_DISCOUNTS), False, n
    y = n[0] / (n[0] + 2.0 * n[1])
    discounts = np.array([1.0 - 2.0 * y * n[1] / n[0], 2.0 - 3.0 * y * n[2] / n[1], 3.0 - 4.0 * y * n[3] / n[2]])
    if not (discounts > 0).all():
        return np.array(FALLBACK_DISCOUNTS), False, n
    return discounts, True, n


def _context_sums(index: NGramIndex, n: int, values: np.ndarray) -> np.ndarray:
    """Sum of ``values`` (aligned with the order-n table) over the n-grams sharing each (n-1)-token context."""
    return np.bincount(index.prefix[n - 1], weights=values, minlength=index.sizes[n - 2])


def _safe_divide(numerator: np.ndarray, denominator: np.ndarray, empty: float) -> np.ndarray:
    out = np.full(np.broadcast(numerator, denominator).shape, empty, dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def _maximum_likelihood(index: NGramIndex, counts: list[np.ndarray], **_: object):
    total = counts[0].sum()
    u = [counts[0] / total]
    gammas = []
    for n in range(2, index.order + 1):
        context_count = _context_sums(index, n, counts[n - 1])
        u.append(counts[n - 1] / context_count[index.prefix[n - 1]])
        gammas.append(np.where(context_count > 0, 0.0, 1.0))
    return u, gammas, 0.0, None


def _add_k(index: NGramIndex, counts: list[np.ndarray], *, k: float, n_predictable: int, **_: object):
    N = index.order
    pseudo = k * n_predictable  # k |V|
    if N == 1:
        total = counts[0].sum()
        u, gamma_empty = [counts[0] / (total + pseudo)], pseudo / (total + pseudo)
    else:
        # the empty context is never conditioned on when N >= 2 (every history holds at least <s>): uniform
        u, gamma_empty = [np.zeros(index.sizes[0])], 1.0
    gammas = []
    for n in range(2, N + 1):
        # a context is "live" when the model conditions on it: full length, or cut at <s>; the others are only
        # back-off targets and must stay uniform for the back-off form to reproduce (c + k) / (C + k |V|)
        live = (np.full(index.sizes[n - 2], n - 1 == N - 1)) | starts_with_bos(index.rows[n - 2])
        context_count = _context_sums(index, n, counts[n - 1])
        prefix = index.prefix[n - 1]
        u.append(np.where(live[prefix], counts[n - 1] / (context_count[prefix] + pseudo), 0.0))
        gammas.append(np.where(live, pseudo / (context_count + pseudo), 1.0))
    return u, gammas, gamma_empty, None


def _witten_bell(index: NGramIndex, counts: list[np.ndarray], **_: object):
    total = counts[0].sum()
    distinct = np.count_nonzero(counts[0])
    u = [counts[0] / (total + distinct)]
    gamma_empty = distinct / (total + distinct)
    gammas = []
    for n in range(2, index.order + 1):
        context_count = _context_sums(index, n, counts[n - 1])
        followers = _context_sums(index, n, np.ones(index.sizes[n - 1]))
        denominator = context_count + followers
        u.append(counts[n - 1] / denominator[index.prefix[n - 1]])
        gammas.append(_safe_divide(followers, denominator, 1.0))
    return u, gammas, gamma_empty, None


def kneser_ney_adjusted_counts(index: NGramIndex, counts: list[np.ndarray]) -> list[np.ndarray]:
    """Adjusted counts of every order: raw at the highest order and for n-grams starting with ``<s>``, else the
    number of distinct left extensions ``N1+(. g)`` (each row of the order above is one distinct extension)."""
    N = index.order
    adjusted = []
    for n in range(1, N + 1):
        if n == N:
            adjusted.append(counts[n - 1].astype(np.int64))
            continue
        continuation = np.bincount(index.suffix[n], minlength=index.sizes[n - 1]).astype(np.int64)
        adjusted.append(np.where(starts_with_bos(index.rows[n - 1]), counts[n - 1], continuation))
    return adjusted


def _kneser_ney(index: NGramIndex, counts: list[np.ndarray], **_: object):
    N = index.order
    adjusted = kneser_ney_adjusted_counts(index, counts)
    discounts = np.zeros((N, 3))
    fallen_back = []
    for n in range(1, N + 1):
        discounts[n - 1], valid, n_k = estimate_discounts(adjusted[n - 1])
        if not valid and adjusted[n - 1].any():  # an order with no n-grams uses no discount: nothing to report
            fallen_back.append(f"the {n}-grams (n1={n_k[0]}, n2={n_k[1]}, n3={n_k[2]}, n4={n_k[3]})")
    if fallen_back:
        warnings.warn(
            "modified Kneser-Ney discounts could not be estimated from the counts-of-counts of "
            f"{'; '.join(fallen_back)}: too little or artificial data. Used the fallback discounts "
            f"D1={FALLBACK_DISCOUNTS[0]}, D2={FALLBACK_DISCOUNTS[1]}, D3+={FALLBACK_DISCOUNTS[2]} "
            "(KenLM's --discount_fallback) for those n-gram lengths; a lower order or more data avoids this.",
            DegenerateFitWarning,
            stacklevel=5,  # _kneser_ney < smooth < MarkovChain._fit_counts < fit < the caller
        )

    def discount(n: int) -> np.ndarray:
        a = adjusted[n - 1]
        d1, d2, d3 = discounts[n - 1]
        return np.select([a == 0, a == 1, a == 2], [0.0, d1, d2], default=d3)

    d = discount(1)
    total = adjusted[0].sum()
    u = [(adjusted[0] - d) / total]
    gamma_empty = d.sum() / total
    gammas = []
    for n in range(2, N + 1):
        d = discount(n)
        context_total = _context_sums(index, n, adjusted[n - 1].astype(np.float64))
        u.append((adjusted[n - 1] - d) / context_total[index.prefix[n - 1]])
        gammas.append(_safe_divide(_context_sums(index, n, d), context_total, 1.0))
    return u, gammas, gamma_empty, discounts


_METHODS = {
    "none": _maximum_likelihood,
    "add-k": _add_k,
    "witten-bell": _witten_bell,
    "kneser-ney": _kneser_ney,
}


def smooth(
    method: str, index: NGramIndex, counts: list[np.ndarray], *, k: float = 1.0
) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray | None]:
    """Probabilities and back-off weights of every n-gram of ``index`` under a smoothing method.

    Parameters
    ----------
    method : {"none", "add-k", "witten-bell", "kneser-ney"}
    index : NGramIndex
        The tables (every n-gram seen in training, and the dense unigrams).
    counts : list of ndarray
        Raw counts aligned with ``index.rows`` (``counts[0]`` of shape (V,), zero for unseen ids).
    k : float
        The add-k pseudo-count.

    Returns
    -------
    probs : list of ndarray
        ``p(w | h)`` of every n-gram ``h w``, per order.
    backoffs : list of ndarray
        ``gamma(h)`` of every n-gram as a context, per order (ones at the highest order: no back-off).
    discounts : ndarray of shape (N, 3) or None
        Modified Kneser-Ney's (D1, D2, D3+) per order.
    """
    vocab_size = index.sizes[0]
    n_predictable = vocab_size - 1  # every id but <s>
    counts = [np.asarray(c, dtype=np.float64) for c in counts]
    u, gammas, gamma_empty, discounts = _METHODS[method](index, counts, k=k, n_predictable=n_predictable)
    uniform = np.full(vocab_size, 1.0 / n_predictable)
    uniform[BOS_ID] = 0.0
    probs = [u[0] + gamma_empty * uniform]
    for n in range(2, index.order + 1):
        probs.append(u[n - 1] + gammas[n - 2][index.prefix[n - 1]] * probs[n - 2][index.suffix[n - 1]])
    # rounding can push a probability a few ulps above 1; ARPA readers reject positive log-probabilities
    probs = [np.minimum(p, 1.0) for p in probs]
    probs[0][BOS_ID] = 0.0
    backoffs = [*gammas, np.ones(index.sizes[-1])]
    return probs, backoffs, discounts

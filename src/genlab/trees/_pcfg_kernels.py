"""Numba chart kernels of the PCFG: inside, outside with expected rule counts, and Viterbi with back-pointers.

They run on a binarised grammar (:class:`genlab.trees.grammar.BinarizedGrammar`) held as plain arrays in a
:class:`ChartGrammar`: binary rules ``A -> B C`` grouped by their left child ``B`` (so a chart cell's zero entries
are skipped), unary rules ``A -> B`` in dependency order (a rule that writes ``B`` comes before any that reads it, so
one pass per cell closes the unary chains), and lexical rules ``A -> w`` grouped by word.

Inside and outside run in probability space with one scale per chart cell (a cell's values are divided by their
maximum and the logarithm kept apart, as in scaled forward-backward): a product of two child cells carries the sum
of their scales; each split's contribution to a cell is summed at that scale, and the contributions are merged at
the scale of the largest value actually added (not of the children's maxima, which may belong to symbols that do
not combine). This costs a few passes over a cell and one ``exp`` per (span, split) instead of one ``logaddexp`` per
rule application, and the length of the sentence cannot underflow it. What it cannot hold is a spread inside one
cell: a symbol whose inside (or outside) value over a span is below ~1e-308 times the largest in the same cell
reads as 0. Viterbi runs in log space (only additions and maxima).

Chart index convention: cell ``[i, j]`` is the span of words ``i .. j-1`` (``0 <= i < j <= n``).
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from genlab.trees.grammar import BinarizedGrammar

__all__ = ["ChartGrammar", "chart_grammar", "expected_counts_batch", "inside_batch", "viterbi_sentence"]


class ChartGrammar(NamedTuple):
    """A binarised grammar's rules as the kernels read them (probabilities in both spaces).

    Binary rules are sorted by left child: those with left child ``B`` are ``binary_start[B] .. binary_start[B+1]``.
    Lexical rules of word id ``w`` are ``lexical_start[w] .. lexical_start[w+1]``. ``*_code`` is the rule's number in
    one numbering of all internal rules (binary, then unary, then lexical), used by back-pointers; ``*_owner`` the
    original rule it counts for (-1: none).
    """

    n_symbols: int
    start: int
    binary_start: np.ndarray
    binary_parent: np.ndarray
    binary_left: np.ndarray
    binary_right: np.ndarray
    binary_prob: np.ndarray
    binary_logp: np.ndarray
    binary_owner: np.ndarray
    binary_code: np.ndarray
    unary_parent: np.ndarray
    unary_child: np.ndarray
    unary_prob: np.ndarray
    unary_logp: np.ndarray
    unary_owner: np.ndarray
    lexical_start: np.ndarray
    lexical_parent: np.ndarray
    lexical_prob: np.ndarray
    lexical_logp: np.ndarray
    lexical_owner: np.ndarray
    lexical_code: np.ndarray


def _grouped(keys: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """A stable sort order of ``keys`` and the CSR start offsets of each key's group; shapes (n,), (n_groups + 1,)."""
    order = np.argsort(keys, kind="stable")
    counts = np.bincount(keys, minlength=n_groups)
    start = np.zeros(n_groups + 1, dtype=np.int64)
    np.cumsum(counts, out=start[1:])
    return order, start


def chart_grammar(binarized: BinarizedGrammar, probabilities: np.ndarray) -> ChartGrammar:
    """The kernels' arrays for ``binarized`` with the original rules' ``probabilities`` (shape (n_rules,))."""
    b = binarized
    blog, ulog, llog = b.internal_log_probs(probabilities)
    n_binary, n_unary = len(b.binary_parent), len(b.unary_parent)
    border, bstart = _grouped(b.binary_left, b.n_symbols)
    lorder, lstart = _grouped(b.lexical_word, len(b.words))
    c = np.ascontiguousarray
    return ChartGrammar(
        n_symbols=b.n_symbols, start=b.start,
        binary_start=bstart, binary_parent=c(b.binary_parent[border]), binary_left=c(b.binary_left[border]),
        binary_right=c(b.binary_right[border]), binary_prob=np.exp(blog[border]), binary_logp=c(blog[border]),
        binary_owner=c(b.binary_owner[border]), binary_code=c(border.astype(np.int64)),
        unary_parent=b.unary_parent, unary_child=b.unary_child, unary_prob=np.exp(ulog), unary_logp=ulog,
        unary_owner=b.unary_owner,
        lexical_start=lstart, lexical_parent=c(b.lexical_parent[lorder]), lexical_prob=np.exp(llog[lorder]),
        lexical_logp=c(llog[lorder]), lexical_owner=c(b.lexical_owner[lorder]),
        lexical_code=c(lorder.astype(np.int64) + n_binary + n_unary),
    )  # fmt: skip


# -- inside --------------------------------------------------------------------------------------------------------
@numba.njit(cache=True)
def _normalize(cell: np.ndarray, base: float) -> float:
    """Divide ``cell`` by its maximum; return the cell's log scale (``base`` + log maximum, -inf for an empty cell)."""
    m = 0.0
    for a in range(cell.shape[0]):
        if cell[a] > m:
            m = cell[a]
    if m == 0.0:
        return -np.inf
    inv = 1.0 / m
    for a in range(cell.shape[0]):
        cell[a] *= inv
    return base + np.log(m)


@numba.njit(cache=True)
def _merge(cell: np.ndarray, cell_scale: float, part: np.ndarray, part_scale: float) -> float:
    """Add ``part`` (values times ``exp(part_scale)``) into ``cell`` (values times ``exp(cell_scale)``), in place,
    and return the cell's new scale; ``part`` is left unchanged.

    The two are brought to the larger of the two scales that hold their maxima, so neither an empty part nor a
    part far below the cell can underflow what the other holds: the scale follows what is actually added.
    """
    m = 0.0
    for a in range(part.shape[0]):
        if part[a] > m:
            m = part[a]
    if m == 0.0:
        return cell_scale
    top = part_scale + np.log(m)  # the scale at which the part's maximum is 1
    if cell_scale == -np.inf:
        for a in range(part.shape[0]):
            cell[a] = part[a] / m
        return top
    if top > cell_scale:
        shrink = np.exp(cell_scale - top)
        for a in range(part.shape[0]):
            cell[a] = cell[a] * shrink + part[a] / m
        return top
    e = np.exp(top - cell_scale)
    for a in range(part.shape[0]):
        v = part[a]
        if v != 0.0:
            cell[a] += (v / m) * e
    return cell_scale


@numba.njit(cache=True)
def _inside_chart(words, g_start_b, b_parent, b_right, b_prob, u_parent, u_child, u_prob,
                  l_start, l_parent, l_prob, beta, scale):  # fmt: skip
    """Fill ``beta[i, j, :]`` (scaled inside probabilities) and ``scale[i, j]`` for every span of ``words``."""
    n = words.shape[0]
    n_sym = beta.shape[2]
    part = np.empty(n_sym)
    for i in range(n):
        cell = beta[i, i + 1]
        cell[:] = 0.0
        w = words[i]
        for t in range(l_start[w], l_start[w + 1]):
            cell[l_parent[t]] += l_prob[t]
        for t in range(u_parent.shape[0]):
            v = cell[u_child[t]]
            if v != 0.0:
                cell[u_parent[t]] += u_prob[t] * v
        scale[i, i + 1] = _normalize(cell, 0.0)
    for length in range(2, n + 1):
        for i in range(n - length + 1):
            j = i + length
            cell = beta[i, j]
            cell[:] = 0.0
            # each split's contribution is summed at its own scale and merged by what it holds: a split whose
            # children have large maxima may add nothing (their symbols do not combine), and a scale chosen from
            # the children's maxima would then underflow the splits that do add
            common = -np.inf
            for k in range(i + 1, j):
                s = scale[i, k] + scale[k, j]
                if s == -np.inf:
                    continue
                part[:] = 0.0
                left = beta[i, k]
                right = beta[k, j]
                for b in range(n_sym):
                    lb = left[b]
                    if lb == 0.0:
                        continue
                    for t in range(g_start_b[b], g_start_b[b + 1]):
                        rv = right[b_right[t]]
                        if rv != 0.0:
                            part[b_parent[t]] += b_prob[t] * lb * rv
                common = _merge(cell, common, part, s)
            if common == -np.inf:
                scale[i, j] = -np.inf
                continue
            for t in range(u_parent.shape[0]):
                v = cell[u_child[t]]
                if v != 0.0:
                    cell[u_parent[t]] += u_prob[t] * v
            scale[i, j] = _normalize(cell, common)


@numba.njit(cache=True)
def _inside_batch(tokens, offsets, start, g_start_b, b_parent, b_right, b_prob, u_parent, u_child, u_prob,
                  l_start, l_parent, l_prob, n_sym):  # fmt: skip
    n_sent = offsets.shape[0] - 1
    longest = 0
    for s in range(n_sent):
        longest = max(longest, offsets[s + 1] - offsets[s])
    beta = np.zeros((longest + 1, longest + 1, n_sym))
    scale = np.full((longest + 1, longest + 1), -np.inf)
    out = np.empty(n_sent)
    for s in range(n_sent):
        words = tokens[offsets[s]:offsets[s + 1]]
        n = words.shape[0]
        _inside_chart(words, g_start_b, b_parent, b_right, b_prob, u_parent, u_child, u_prob, l_start, l_parent,
                      l_prob, beta, scale)
        v = beta[0, n, start]
        out[s] = np.log(v) + scale[0, n] if v > 0.0 else -np.inf
    return out


def inside_batch(g: ChartGrammar, tokens: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Log inside probability (nats) of the start symbol over each sentence; -inf where it cannot be derived.

    Parameters
    ----------
    g : ChartGrammar
    tokens : ndarray of shape (n_tokens,), int64
        Word ids of all sentences, concatenated (every sentence non-empty).
    offsets : ndarray of shape (n_sentences + 1,), int64
        Sentence ``s`` is ``tokens[offsets[s]:offsets[s + 1]]``.

    Returns
    -------
    ndarray of shape (n_sentences,)
    """
    return _inside_batch(tokens, offsets, g.start, g.binary_start, g.binary_parent, g.binary_right, g.binary_prob,
                         g.unary_parent, g.unary_child, g.unary_prob, g.lexical_start, g.lexical_parent,
                         g.lexical_prob, g.n_symbols)


# -- outside and expected counts -----------------------------------------------------------------------------------
@numba.njit(cache=True)
def _expected_counts_batch(tokens, offsets, weights, start, g_start_b, b_parent, b_left, b_right, b_prob,
                           b_owner, u_parent, u_child, u_prob, u_owner, l_start, l_parent, l_prob, l_owner, n_sym,
                           n_rules):  # fmt: skip
    n_sent = offsets.shape[0] - 1
    longest = 0
    for s in range(n_sent):
        longest = max(longest, offsets[s + 1] - offsets[s])
    beta = np.zeros((longest + 1, longest + 1, n_sym))
    scale = np.full((longest + 1, longest + 1), -np.inf)
    alpha = np.zeros((longest + 1, longest + 1, n_sym))
    oscale = np.full((longest + 1, longest + 1), -np.inf)
    counts = np.zeros(n_rules)
    part = np.empty(n_sym)
    logz = np.empty(n_sent)
    n_binary = b_parent.shape[0]
    n_unary = u_parent.shape[0]
    for s in range(n_sent):
        words = tokens[offsets[s]:offsets[s + 1]]
        n = words.shape[0]
        _inside_chart(words, g_start_b, b_parent, b_right, b_prob, u_parent, u_child, u_prob, l_start, l_parent,
                      l_prob, beta, scale)
        root = beta[0, n, start]
        if root == 0.0:
            logz[s] = -np.inf
            continue
        lz = np.log(root) + scale[0, n]
        logz[s] = lz
        weight = weights[s]
        # outside, longest spans first: a span's outside is pulled from its parents (longer spans, already final)
        for length in range(n, 0, -1):
            for i in range(n - length + 1):
                j = i + length
                cell = alpha[i, j]
                cell[:] = 0.0
                if length == n:
                    cell[start] = 1.0
                    common = 0.0
                else:
                    # each parent's contribution at its own scale, merged by what it holds (as in the inside pass)
                    common = -np.inf
                    for kk in range(j + 1, n + 1):  # this span is the left child of [i, kk]
                        v = oscale[i, kk] + scale[j, kk]
                        if v == -np.inf:
                            continue
                        part[:] = 0.0
                        parent = alpha[i, kk]
                        right = beta[j, kk]
                        for t in range(n_binary):
                            a = parent[b_parent[t]]
                            if a != 0.0:
                                rv = right[b_right[t]]
                                if rv != 0.0:
                                    part[b_left[t]] += a * b_prob[t] * rv
                        common = _merge(cell, common, part, v)
                    for kk in range(0, i):  # the right child of [kk, j]
                        v = oscale[kk, j] + scale[kk, i]
                        if v == -np.inf:
                            continue
                        part[:] = 0.0
                        parent = alpha[kk, j]
                        left = beta[kk, i]
                        for t in range(n_binary):
                            a = parent[b_parent[t]]
                            if a != 0.0:
                                lv = left[b_left[t]]
                                if lv != 0.0:
                                    part[b_right[t]] += a * b_prob[t] * lv
                        common = _merge(cell, common, part, v)
                    if common == -np.inf:
                        oscale[i, j] = -np.inf
                        continue
                # unary rules in reverse order: a parent's outside is complete before it passes to its child
                for t in range(n_unary - 1, -1, -1):
                    a = cell[u_parent[t]]
                    if a != 0.0:
                        cell[u_child[t]] += u_prob[t] * a
                oscale[i, j] = _normalize(cell, common)
                if oscale[i, j] == -np.inf:
                    continue
                # expected counts of the rules expanding this span: term * exp(log_g), where the terms are
                # products of scaled values (<= 1) and log_g the scales' sum less log Z. exp(log_g) alone can
                # overflow when the cells' maxima belong to symbols that do not combine, so when it exceeds 1 the
                # terms are first divided by their largest and that is moved into the exponent
                ins = beta[i, j]
                log_g = oscale[i, j] + scale[i, j] - lz
                m = 1.0
                if log_g > 0.0:
                    m = 0.0
                    for t in range(n_unary):
                        if u_owner[t] >= 0:
                            m = max(m, cell[u_parent[t]] * u_prob[t] * ins[u_child[t]])
                if m > 0.0:
                    g = np.exp(log_g + np.log(m)) * weight
                    for t in range(n_unary):
                        if u_owner[t] >= 0:
                            a = cell[u_parent[t]]
                            if a != 0.0:
                                counts[u_owner[t]] += (a * u_prob[t] * ins[u_child[t]] / m) * g
                if length == 1:
                    log_g = oscale[i, j] - lz
                    w = words[i]
                    m = 1.0
                    if log_g > 0.0:
                        m = 0.0
                        for t in range(l_start[w], l_start[w + 1]):
                            if l_owner[t] >= 0:
                                m = max(m, cell[l_parent[t]] * l_prob[t])
                    if m > 0.0:
                        g = np.exp(log_g + np.log(m)) * weight
                        for t in range(l_start[w], l_start[w + 1]):
                            if l_owner[t] >= 0:
                                counts[l_owner[t]] += (cell[l_parent[t]] * l_prob[t] / m) * g
                    continue
                for k in range(i + 1, j):
                    v = scale[i, k] + scale[k, j]
                    if v == -np.inf:
                        continue
                    log_g = oscale[i, j] + v - lz
                    left = beta[i, k]
                    right = beta[k, j]
                    m = 1.0
                    if log_g > 0.0:
                        m = 0.0
                        for t in range(n_binary):
                            if b_owner[t] >= 0:
                                a = cell[b_parent[t]]
                                if a != 0.0:
                                    m = max(m, a * b_prob[t] * left[b_left[t]] * right[b_right[t]])
                    if m == 0.0:
                        continue
                    g = np.exp(log_g + np.log(m)) * weight
                    for t in range(n_binary):
                        if b_owner[t] < 0:
                            continue
                        a = cell[b_parent[t]]
                        if a != 0.0:
                            counts[b_owner[t]] += (a * b_prob[t] * left[b_left[t]] * right[b_right[t]] / m) * g
    return counts, logz


def expected_counts_batch(
    g: ChartGrammar, tokens: np.ndarray, offsets: np.ndarray, weights: np.ndarray, n_rules: int
) -> tuple[np.ndarray, np.ndarray]:
    """Expected number of uses of each original rule, summed over the sentences, and each sentence's log inside
    probability.

    Parameters
    ----------
    g : ChartGrammar
    tokens, offsets : ndarray
        The sentences (see :func:`inside_batch`).
    weights : ndarray of shape (n_sentences,)
        Each sentence's weight (its counts are multiplied by it).
    n_rules : int
        The number of original rules.

    Returns
    -------
    counts : ndarray of shape (n_rules,)
        Weighted expected counts; sentences that cannot be derived add nothing.
    log_z : ndarray of shape (n_sentences,)
        Log inside probability of each sentence (nats; -inf where it cannot be derived).
    """
    return _expected_counts_batch(tokens, offsets, weights, g.start, g.binary_start, g.binary_parent, g.binary_left,
                                  g.binary_right, g.binary_prob, g.binary_owner, g.unary_parent, g.unary_child,
                                  g.unary_prob, g.unary_owner, g.lexical_start, g.lexical_parent, g.lexical_prob,
                                  g.lexical_owner, g.n_symbols, n_rules)


# -- Viterbi -------------------------------------------------------------------------------------------------------
@numba.njit(cache=True)
def _viterbi_chart(words, g_start_b, b_parent, b_right, b_logp, b_code, u_parent, u_child, u_logp, l_start,
                   l_parent, l_logp, l_code, n_sym, n_binary):  # fmt: skip
    n = words.shape[0]
    best = np.full((n + 1, n + 1, n_sym), -np.inf)
    rule = np.full((n + 1, n + 1, n_sym), -1, dtype=np.int32)
    split = np.full((n + 1, n + 1, n_sym), -1, dtype=np.int32)
    for length in range(1, n + 1):
        for i in range(n - length + 1):
            j = i + length
            cell = best[i, j]
            if length == 1:
                w = words[i]
                for t in range(l_start[w], l_start[w + 1]):
                    v = l_logp[t]
                    a = l_parent[t]
                    if v > cell[a]:
                        cell[a] = v
                        rule[i, j, a] = l_code[t]
            else:
                for k in range(i + 1, j):
                    left = best[i, k]
                    right = best[k, j]
                    for b in range(n_sym):
                        lb = left[b]
                        if lb == -np.inf:
                            continue
                        for t in range(g_start_b[b], g_start_b[b + 1]):
                            v = b_logp[t] + lb + right[b_right[t]]
                            a = b_parent[t]
                            if v > cell[a]:
                                cell[a] = v
                                rule[i, j, a] = b_code[t]
                                split[i, j, a] = k
            for t in range(u_parent.shape[0]):
                v = u_logp[t] + cell[u_child[t]]
                a = u_parent[t]
                if v > cell[a]:
                    cell[a] = v
                    rule[i, j, a] = n_binary + t
                    split[i, j, a] = -1
    return best, rule, split


def viterbi_sentence(g: ChartGrammar, words: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Viterbi chart of one sentence.

    Returns
    -------
    best : ndarray of shape (n + 1, n + 1, n_symbols)
        Log probability (nats) of the best derivation of each symbol over each span (-inf: none).
    rule : ndarray of shape (n + 1, n + 1, n_symbols), int32
        Its top internal rule (binary ``t``, unary ``n_binary + t``, lexical ``n_binary + n_unary + t``, in the
        binarised grammar's own order), -1 where none.
    split : ndarray of shape (n + 1, n + 1, n_symbols), int32
        The split point of a binary rule (the left child covers ``i .. split``), -1 otherwise.
    """
    return _viterbi_chart(words, g.binary_start, g.binary_parent, g.binary_right, g.binary_logp, g.binary_code,
                          g.unary_parent, g.unary_child, g.unary_logp, g.lexical_start, g.lexical_parent,
                          g.lexical_logp, g.lexical_code, g.n_symbols, len(g.binary_parent))

"""Probabilistic context-free grammars: inside probabilities, Viterbi parses, EM from strings, counts from trees.

A :class:`PCFG` holds a grammar in NLTK's text format (:mod:`genlab.trees.grammar`) and one probability per rule.
``log_prob`` is the inside algorithm, ``viterbi`` / ``parse`` the most probable derivation, ``fit`` learns the rule
probabilities either by counting the rules of given trees (maximum likelihood, or MAP under a symmetric Dirichlet
prior per left-hand side) or from plain sentences by the inside-outside algorithm (Baker 1979; Lari & Young 1990),
which is EM on genlab's one driver (:func:`genlab.learn.em.fit_em`): the E-step's expected rule counts are additive
statistics, so streaming and distributed fits come for free.

The chart work runs in compiled kernels (:mod:`genlab.trees._pcfg_kernels`) on a binarised copy of the grammar;
everything the user sees (trees, counts, probabilities) is in terms of the rules as written.
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, NamedTuple

import numpy as np

from genlab.base import GenerativeModel, check_is_fitted
from genlab.errors import DataError, ParameterError
from genlab.statistics import Statistics, additive
from genlab.trees import _pcfg_kernels as kernels
from genlab.trees.grammar import BinarizedGrammar, Grammar, Rule, binarize, read_grammar, rule_key, unary_order
from genlab.trees.tree import Tree

__all__ = ["PCFG", "PCFGStatistics", "Parse", "check_saved_grammar"]

#: Sentences per E-step batch (bounds the memory of the batch's encoded tokens; the charts are per sentence).
_BATCH_SENTENCES = 1024


class Parse(NamedTuple):
    """A derivation and its log probability.

    Attributes
    ----------
    tree : Tree or None
        The derivation over the grammar's own symbols; None when the grammar cannot derive the sentence.
    log_prob : float
        Its log probability in nats (-inf when there is none).
    """

    tree: Tree | None
    log_prob: float


@dataclasses.dataclass(frozen=True)
class PCFGStatistics(Statistics):
    """Expected number of uses of each rule (in the grammar's order); shape (n_rules,)."""

    counts: np.ndarray = additive()


class _Sentences(NamedTuple):
    """Sentences encoded as word ids: all tokens concatenated, offsets (n + 1,), the index of the first sentence."""

    tokens: np.ndarray
    offsets: np.ndarray
    first: int


class _Compiled(NamedTuple):
    """The grammar of a fitted model in the forms the methods use (rebuilt when ``rules_`` change)."""

    key: tuple[str, tuple[str, ...]]
    grammar: Grammar
    binarized: BinarizedGrammar
    word_id: dict[str, int]
    rule_index: dict[Rule, int]


def _is_tree(item: Any) -> bool:
    return isinstance(item, Tree) or callable(getattr(item, "label", None))


class PCFG(GenerativeModel):
    """A probabilistic context-free grammar.

    Parameters
    ----------
    grammar : str, optional
        The grammar in NLTK's text format (``S -> NP VP [1.0]``, alternatives with ``|``, terminals quoted, ``#``
        comments, ``%start X``). Rules without ``[p]`` get uniform probabilities per left-hand side. With
        ``grammar=None`` only ``fit(trees)`` works: the rules are read off the trees.
    prior : float, default=1.0
        Concentration (>= 1) of a symmetric Dirichlet prior on each left-hand side's rule probabilities: the fit is
        the MAP estimate (``count + prior - 1``, normalised); 1 is maximum likelihood, above 1 smooths. A prior below
        1 is refused: its density is unbounded at the simplex's boundary, so no interior MAP exists.
    max_iter : int, default=100
        EM iterations per start (``fit`` on sentences).
    tol : float, default=1e-4
        EM stops when the objective (log-likelihood per token in nats, plus the log prior per token for MAP)
        changes by less than this.
    init : {"grammar", "random"}, default="grammar"
        Where EM's first start is: the grammar text's probabilities, or probabilities drawn from a flat Dirichlet per
        left-hand side with ``random_state`` (``from_string(text, randomize=True)`` sets this, so a ``clone`` starts
        from the same draw).
    n_init : int, default=1
        EM starts; the first as ``init`` says, the others from probabilities drawn from a flat Dirichlet per
        left-hand side. The best start is kept. Like every genlab estimator, ``fit`` starts afresh from the
        hyperparameters (the ``grammar`` text, ``init``); to continue from a fitted model's probabilities, fit
        ``PCFG.from_string(model.to_string())``.
    random_state : int, numpy Generator or None
        Seeds the random starts.
    unknown_word : str, optional
        A terminal of the grammar (e.g. ``"<unk>"``) that a word the grammar lacks is read as; without it such a
        word is a :class:`DataError`.
    verbose : int, default=0
        EM progress on stderr.

    Attributes
    ----------
    rules_ : list of str
        The rules as NLTK writes them (``"NP -> Det N"``, ``"N -> 'dog'"``), in the grammar's order.
    probabilities_ : ndarray of shape (n_rules,)
        Each rule's probability given its left-hand side.
    start_ : str
        The start symbol.
    monitor_, n_iter_, converged_, lower_bound_, lower_bounds_
        Of the last EM fit (``fit`` on sentences); ``lower_bound_`` is the final log-likelihood per token (nats).

    Examples
    --------
    >>> g = PCFG.from_string("S -> 'a' S [0.4] | 'b' [0.6]")
    >>> round(float(np.exp(g.log_prob(["a b"])[0])), 12)  # 0.4 * 0.6
    0.24
    """

    score_unit: ClassVar[str] = "token"
    data_kind: ClassVar[str] = "trees"

    def __init__(
        self,
        *,
        grammar: str | None = None,
        prior: float = 1.0,
        init: str = "grammar",
        max_iter: int = 100,
        tol: float = 1e-4,
        n_init: int = 1,
        random_state: Any = None,
        unknown_word: str | None = None,
        verbose: int = 0,
    ) -> None:
        self.grammar = grammar
        self.prior = prior
        self.init = init
        self.max_iter = max_iter
        self.tol = tol
        self.n_init = n_init
        self.random_state = random_state
        self.unknown_word = unknown_word
        self.verbose = verbose

    # -- construction ----------------------------------------------------------------------------------------------
    @classmethod
    def from_string(cls, text: str, *, randomize: bool = False, random_state: Any = None, **params: Any) -> PCFG:
        """A model with the grammar ``text``, usable at once (its probabilities are the text's).

        Parameters
        ----------
        text : str
            The grammar in NLTK's format.
        randomize : bool, default=False
            Draw each left-hand side's probabilities from a flat Dirichlet instead (an EM start): the model's
            ``init`` is then ``"random"``, and ``fit`` (or that of a ``clone``) starts EM from the same draw when
            ``random_state`` is an int.
        random_state : int, numpy Generator or None
            For ``randomize``; also stored as the model's ``random_state``.
        **params
            Other hyperparameters.

        Raises
        ------
        ParameterError
            Malformed text (with the line number), an undefined symbol, a unary cycle, an epsilon rule;
            ``randomize=True`` with ``init="grammar"``.
        """
        if randomize:
            if params.get("init", "random") != "random":
                raise ParameterError(
                    f"randomize=True is init='random'; it contradicts init={params['init']!r}: give one of them."
                )
            params["init"] = "random"
        model = cls(grammar=text, random_state=random_state, **params)
        model._check_params()
        grammar, probabilities = model._initial_grammar()
        model._set_grammar(grammar, probabilities, text)
        return model

    def _set_grammar(self, grammar: Grammar, probabilities: np.ndarray, text: str | None = None) -> None:
        """Make ``grammar`` with ``probabilities`` the fitted state; ``text`` is the grammar text it was read from
        (None: read off trees), so that a later fit with the same ``grammar`` text reuses the compiled form."""
        self.rules_ = [rule_key(r) for r in grammar.rules]
        self.start_ = grammar.start
        self.probabilities_ = np.asarray(probabilities, dtype=np.float64).copy()
        self._cache = _Compiled(
            (grammar.start, tuple(self.rules_)), grammar, binarize(grammar),
            {w: i for i, w in enumerate(grammar.terminals())}, {r: i for i, r in enumerate(grammar.rules)},
        )  # fmt: skip
        self._cache_text = text
        self._chart_cache: tuple[bytes, kernels.ChartGrammar] | None = None

    def _compiled(self) -> _Compiled:
        """The compiled grammar of ``rules_`` / ``start_`` (rebuilt after ``genlab.load`` or a change of rules)."""
        check_is_fitted(self, "probabilities_")
        key = (self.start_, tuple(self.rules_))
        cache = getattr(self, "_cache", None)
        if cache is None or cache.key != key:
            grammar = _read_rules(self.start_, self.rules_)  # the probabilities live in probabilities_
            self._cache = _Compiled(key, grammar, binarize(grammar), {w: i for i, w in enumerate(grammar.terminals())},
                                    {r: i for i, r in enumerate(grammar.rules)})
        return self._cache

    def _chart(self) -> kernels.ChartGrammar:
        """The kernels' arrays for the current probabilities (cached on their bytes)."""
        compiled = self._compiled()
        probabilities = np.asarray(self.probabilities_, dtype=np.float64)
        if probabilities.shape != (len(self.rules_),):
            raise ParameterError(
                f"probabilities_ has shape {probabilities.shape}; it needs one probability per rule "
                f"({len(self.rules_)},)."
            )
        key = probabilities.tobytes()
        cache = getattr(self, "_chart_cache", None)
        if cache is None or cache[0] != key:
            cache = (key, kernels.chart_grammar(compiled.binarized, probabilities))
            self._chart_cache = cache
        return cache[1]

    def _text_grammar(self) -> Grammar:
        """The grammar of the ``grammar`` text (the compiled one when the fitted state was read from this text)."""
        cache = getattr(self, "_cache", None)
        if cache is not None and getattr(self, "_cache_text", None) == self.grammar:
            return cache.grammar
        return read_grammar(self.grammar)  # type: ignore[arg-type]

    def _initial_grammar(self) -> tuple[Grammar, np.ndarray]:
        """The grammar of the ``grammar`` text and EM's first start (``init``: its probabilities or a draw)."""
        if self.grammar is None:
            raise ParameterError(
                "PCFG(grammar=None) can only learn from trees (the rules are read off them); to learn from "
                "sentences give a grammar: PCFG(grammar=text) or PCFG.from_string(text)."
            )
        grammar = self._text_grammar()
        if self.init == "random":
            return grammar, _dirichlet_probabilities(grammar, np.random.default_rng(self.random_state))
        return grammar, grammar.probabilities.copy()

    def _check_params(self) -> None:
        if self.grammar is not None and not isinstance(self.grammar, str):
            raise ParameterError(f"grammar must be the grammar's text (a str) or None; got {type(self.grammar)}.")
        if not isinstance(self.prior, numbers.Real) or isinstance(self.prior, bool) or not self.prior >= 1:
            raise ParameterError(
                f"prior must be a number >= 1 (1 is maximum likelihood, above 1 smooths); got {self.prior!r}. A "
                "Dirichlet prior below 1 has no MAP estimate inside the simplex (it would zero rules the data need)."
            )
        if self.init not in ("grammar", "random"):
            raise ParameterError(
                f"init must be 'grammar' or 'random' (EM's first start: the grammar text's probabilities or a flat "
                f"Dirichlet draw); got {self.init!r}."
            )
        for name, minimum in (("max_iter", 0), ("n_init", 1), ("verbose", 0)):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
                raise ParameterError(f"{name} must be an integer >= {minimum}; got {value!r}.")
        if not isinstance(self.tol, numbers.Real) or isinstance(self.tol, bool) or not self.tol >= 0:
            raise ParameterError(f"tol must be a number >= 0; got {self.tol!r}.")
        if self.unknown_word is not None and not isinstance(self.unknown_word, str):
            raise ParameterError(f"unknown_word must be a terminal of the grammar (a str) or None; got "
                                 f"{self.unknown_word!r}.")

    # -- reading sentences -----------------------------------------------------------------------------------------
    def _encode(self, X: Any, first: int = 0) -> _Sentences:
        """Word ids of the sentences ``X`` (a list of token lists or of strs split on whitespace)."""
        compiled = self._compiled()
        word_id = compiled.word_id
        unknown = None
        if self.unknown_word is not None:
            if self.unknown_word not in word_id:
                raise ParameterError(
                    f"unknown_word={self.unknown_word!r} is not a terminal of the grammar; add a rule such as "
                    f"\"N -> '{self.unknown_word}' [p]\" or set unknown_word=None."
                )
            unknown = word_id[self.unknown_word]
        sentences = _as_sentences(X)
        offsets = np.zeros(len(sentences) + 1, dtype=np.int64)
        tokens: list[int] = []
        for s, sentence in enumerate(sentences):
            if len(sentence) == 0:
                raise DataError(
                    f"sentence {first + s} is empty; a PCFG without epsilon rules derives no empty sentence: "
                    "drop it."
                )
            for word in sentence:
                wid = word_id.get(word) if isinstance(word, str) else None
                if wid is None:
                    if not isinstance(word, str):
                        raise DataError(
                            f"sentence {first + s} holds a {type(word).__name__} ({word!r}); words are str."
                        )
                    if unknown is None:
                        raise DataError(
                            f"sentence {first + s} has the word {word!r}, which the grammar lacks; add a rule for "
                            "it, or set unknown_word to a terminal of the grammar (e.g. '<unk>') to read unknown "
                            "words as it."
                        )
                    wid = unknown
                tokens.append(wid)
            offsets[s + 1] = len(tokens)
        return _Sentences(np.asarray(tokens, dtype=np.int64), offsets, first)

    # -- scoring ---------------------------------------------------------------------------------------------------
    def log_prob(self, X: Any) -> np.ndarray:
        """Log probability (nats) of each sentence: the inside probability of the start symbol, summed over every
        derivation.

        Parameters
        ----------
        X : list of (list of str or str)
            Sentences: token lists, or strs split on whitespace.

        Returns
        -------
        ndarray of shape (n_sentences,)
            -inf for a sentence the grammar cannot derive.

        Raises
        ------
        DataError
            A word the grammar lacks (named, with the sentence's index) unless ``unknown_word`` is set; an empty
            sentence.
        """
        check_is_fitted(self, "probabilities_")
        encoded = self._encode(X)
        return kernels.inside_batch(self._chart(), encoded.tokens, encoded.offsets)

    def n_units(self, X: Any) -> int:
        """The number of tokens in the sentences ``X`` (the unit of :meth:`score`).

        Parameters
        ----------
        X : list of (list of str or str)
            Sentences: each a list of tokens, or a ``str`` split on whitespace.

        Returns
        -------
        int
        """
        return sum(len(s) for s in _as_sentences(X))

    def tree_log_prob(self, trees: Iterable[Any]) -> np.ndarray:
        """Log probability (nats) of given derivations: the sum of their rules' log probabilities.

        Parameters
        ----------
        trees : iterable of Tree or nltk.Tree
            Derivations whose root is the start symbol.

        Returns
        -------
        ndarray of shape (n_trees,)

        Raises
        ------
        DataError
            A tree whose root is not the start symbol, or that uses a rule outside the grammar (named).
        """
        check_is_fitted(self, "probabilities_")
        compiled = self._compiled()
        with np.errstate(divide="ignore"):
            logp = np.log(np.asarray(self.probabilities_, dtype=np.float64))
        out = []
        for t, item in enumerate(trees):
            tree = Tree.convert(item)
            if tree.label != self.start_:
                raise DataError(f"tree {t}'s root is {tree.label!r}, not the start symbol {self.start_!r}.")
            out.append(float(np.sum(logp[_rule_indices(tree, compiled.rule_index, t)])))
        return np.asarray(out, dtype=np.float64)

    # -- parsing ---------------------------------------------------------------------------------------------------
    def viterbi(self, tokens: Sequence[str] | str) -> Parse:
        """The most probable derivation of one sentence.

        Parameters
        ----------
        tokens : list of str or str
            The sentence (a str is split on whitespace).

        Returns
        -------
        Parse
            ``(tree, log_prob)``; ``(None, -inf)`` if the grammar cannot derive the sentence.
        """
        return self.parse([tokens])[0]

    def parse(self, sentences: Any) -> list[Parse]:
        """:meth:`viterbi` of each sentence (one compiled grammar, one call per sentence into the kernel).

        Parameters
        ----------
        sentences : list of (list of str or str)
            Each a list of tokens, or a ``str`` split on whitespace.

        Returns
        -------
        list of Parse
            One ``(tree, log_prob)`` per sentence: the most probable derivation and its log probability in nats
            (``(None, -inf)`` where the grammar cannot derive the sentence).
        """
        check_is_fitted(self, "probabilities_")
        sentences = _as_sentences(sentences)
        encoded = self._encode(sentences)
        chart = self._chart()
        compiled = self._compiled()
        out = []
        for s in range(len(encoded.offsets) - 1):
            words = encoded.tokens[encoded.offsets[s]:encoded.offsets[s + 1]]
            best, rule, split = kernels.viterbi_sentence(chart, words)
            n = len(words)
            score = float(best[0, n, chart.start])
            if score == -np.inf:
                out.append(Parse(None, -np.inf))
                continue
            items = _build_tree(compiled.binarized, rule, split, chart.start, n, list(sentences[s]))
            out.append(Parse(items[0], score))  # type: ignore[arg-type]
        return out

    # -- fitting ---------------------------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None, **fit_params: Any) -> PCFG:
        """Learn the rule probabilities from trees (counting) or from sentences (inside-outside EM).

        Parameters
        ----------
        X : list of Tree / nltk.Tree, or list of (list of str or str)
            Trees: maximum likelihood (MAP with ``prior``) from the rules they use; with ``grammar=None`` the rules
            are read off them. Sentences: EM from the current probabilities (see ``n_init``).
        y : ignored
        **fit_params
            Passed to :func:`genlab.learn.em.fit_em` for sentences (``callback``, ``max_time``,
            ``checkpoint_path``, ``distributed``, ...).

        Returns
        -------
        self

        Raises
        ------
        DataError
            No data; a tree using a rule outside the grammar; a word the grammar lacks; a sentence the grammar
            cannot derive (named by its index); an empty sentence.
        """
        self._check_params()
        items = list(X) if not isinstance(X, (str, bytes)) else None
        if items is None:
            raise DataError("fit takes a list of sentences or of trees, not one str; wrap it: fit([text]).")
        if not items and not fit_params.get("distributed"):  # (a rank's shard of a distributed fit may be empty)
            raise DataError("there is no data to fit: give at least one sentence or tree.")
        if items and all(_is_tree(item) for item in items):
            return self._fit_trees(items)
        if any(_is_tree(item) for item in items):
            raise DataError("fit takes either trees or sentences, not a mixture of both.")
        from genlab.learn.em import fit_em, restore_on_failure

        with restore_on_failure(self):  # an unfitted model that fails here stays unfitted
            grammar, probabilities = self._initial_grammar()
            self._set_grammar(grammar, probabilities, self.grammar)  # fit starts afresh from the hyperparameters
            for name in ("monitor_", "n_iter_", "converged_", "lower_bound_", "lower_bounds_"):
                if hasattr(self, name):  # the last fit's, until fit_em sets this one's
                    delattr(self, name)
            fit_em(self, items, n_init=self.n_init, max_iter=self.max_iter, tol=self.tol,
                   random_state=self.random_state, verbose=self.verbose, **fit_params)
        return self

    def _fit_trees(self, items: list[Any]) -> PCFG:
        trees = [Tree.convert(t) for t in items]
        if self.grammar is None:  # every fit reads the rules off its own trees
            grammar = _grammar_from_trees(trees)
            previous = np.zeros(len(grammar.rules))
        else:
            grammar = self._text_grammar()
            previous = grammar.probabilities.copy()
        rule_index = {r: i for i, r in enumerate(grammar.rules)}
        counts = np.zeros(len(grammar.rules))
        for t, tree in enumerate(trees):
            if tree.label != grammar.start:
                raise DataError(
                    f"tree {t}'s root is {tree.label!r}, not the grammar's start symbol {grammar.start!r}."
                )
            np.add.at(counts, _rule_indices(tree, rule_index, t), 1.0)
        probabilities = _normalized(grammar, counts + (float(self.prior) - 1.0), previous)
        for name in ("monitor_", "n_iter_", "converged_", "lower_bound_", "lower_bounds_"):
            if hasattr(self, name):  # an earlier EM fit's bookkeeping does not describe this one
                delattr(self, name)
        self._set_grammar(grammar, probabilities, self.grammar)
        return self

    # -- the EM protocol -------------------------------------------------------------------------------------------
    def _em_source(self, X: Any, fit: Any, **data: Any) -> tuple[list[tuple[_Sentences, np.ndarray]], None]:
        if data:
            raise ParameterError(f"PCFG.fit takes no data arguments besides X; got {sorted(data)}.")
        sentences = _as_sentences(X)
        batches = []
        for first in range(0, len(sentences), _BATCH_SENTENCES):
            encoded = self._encode(sentences[first:first + _BATCH_SENTENCES], first)
            batches.append((encoded, np.ones(len(encoded.offsets) - 1)))
        return batches, None

    def _em_initialize(self, source: Any, fit: Any) -> None:
        if fit.restart == 0:
            return  # the first start is init's, set by fit (for "random" the same draw from random_state)
        rng = np.random.default_rng(fit.restart_random_state())
        self.probabilities_ = _dirichlet_probabilities(self._compiled().grammar, rng)

    def _em_e_step(self, X: _Sentences, sample_weight: np.ndarray) -> tuple[PCFGStatistics, float, float]:
        weights = np.asarray(sample_weight, dtype=np.float64)
        counts, log_z = kernels.expected_counts_batch(self._chart(), X.tokens, X.offsets, weights,
                                                      len(self.rules_))
        bad = np.flatnonzero(~np.isfinite(log_z))
        if bad.size:
            s = int(bad[0])
            words = [self._compiled().grammar.terminals()[w] for w in X.tokens[X.offsets[s]:X.offsets[s + 1]]]
            raise DataError(
                f"sentence {X.first + s} ({' '.join(words)!r}) cannot be derived by the grammar under its current "
                "probabilities; EM cannot learn from it: drop it, or extend the grammar."
            )
        lengths = np.diff(X.offsets).astype(np.float64)
        return PCFGStatistics(counts), float(np.dot(weights, log_z)), float(np.dot(weights, lengths))

    def _em_pass_term(self) -> float:
        if self.prior == 1.0:
            return 0.0
        # the Dirichlet log density up to its constant; rules at probability 0 are left out (a start with zeros
        # would otherwise have log prior -inf whatever the data)
        p = np.asarray(self.probabilities_)
        positive = p > 0
        return float((self.prior - 1.0) * np.sum(np.log(p[positive])))

    def _em_m_step(self, stats: PCFGStatistics) -> None:
        self.probabilities_ = _normalized(self._compiled().grammar, stats.counts + (float(self.prior) - 1.0),
                                          np.asarray(self.probabilities_))

    def _em_objective(self, log_likelihood: float, weight: float) -> float:
        return log_likelihood / weight

    def _em_get_parameters(self) -> np.ndarray:
        return np.array(self.probabilities_, dtype=np.float64)

    def _em_set_parameters(self, params: np.ndarray) -> None:
        self.probabilities_ = np.array(params, dtype=np.float64)

    def expected_counts(self, X: Any) -> PCFGStatistics:
        """The E-step's statistics of sentences ``X``: the expected number of uses of each rule (grammar order).

        Statistics of two parts of a data set sum to the whole's.

        Parameters
        ----------
        X : list of (list of str or str)
            Sentences: each a list of tokens, or a ``str`` split on whitespace.

        Returns
        -------
        PCFGStatistics
            ``counts`` of shape (n_rules,).
        """
        check_is_fitted(self, "probabilities_")
        encoded = self._encode(X)
        stats, _, _ = self._em_e_step(encoded, np.ones(len(encoded.offsets) - 1))
        return stats

    # -- results ---------------------------------------------------------------------------------------------------
    def rule_probabilities(self) -> dict[str, float]:
        """Each rule's probability, keyed ``"NP -> Det N"`` / ``"N -> 'dog'"``, in the grammar's order."""
        check_is_fitted(self, "probabilities_")
        return {rule: float(p) for rule, p in zip(self.rules_, self.probabilities_, strict=True)}

    def to_string(self) -> str:
        """The grammar with its current probabilities in NLTK's text format (``from_string`` reads it back
        exactly)."""
        check_is_fitted(self, "probabilities_")
        return self._compiled().grammar.to_string(np.asarray(self.probabilities_))

    # -- sampling --------------------------------------------------------------------------------------------------
    def sample(self, n_samples: int = 1, *, random_state: Any = None, strings: bool = True,
               max_nodes: int = 100_000) -> list[Any]:
        """Draw derivations top-down from the start symbol.

        Parameters
        ----------
        n_samples : int
        random_state : int, numpy Generator or None
        strings : bool, default=True
            Return token lists (the sentences); False returns the :class:`Tree` s.
        max_nodes : int, default=100000
            Nodes allowed in one derivation: a grammar whose expected derivation size is infinite (a recursive rule
            with too much probability) would otherwise never stop.

        Returns
        -------
        list of (list of str) or list of Tree

        Raises
        ------
        ParameterError
            A derivation exceeded ``max_nodes``.
        """
        check_is_fitted(self, "probabilities_")
        if not isinstance(n_samples, numbers.Integral) or n_samples < 0:
            raise ParameterError(f"n_samples must be an integer >= 0; got {n_samples!r}.")
        rng = np.random.default_rng(random_state)
        grammar = self._compiled().grammar
        p = np.asarray(self.probabilities_, dtype=np.float64)
        choices: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        lhs = grammar.lhs_index()
        for a, name in enumerate(grammar.nonterminals):
            members = np.flatnonzero(lhs == a)
            cumulative = np.cumsum(p[members])
            choices[name] = (members, cumulative)
        out = []
        for _ in range(n_samples):
            tree = _sample_tree(grammar, choices, rng, max_nodes)
            out.append(tree.leaves() if strings else tree)
        return out


# -- helpers -------------------------------------------------------------------------------------------------------
def _as_sentences(X: Any) -> list[Sequence[Any]]:
    """The sentences of ``X`` as token sequences (a str is split on whitespace)."""
    if isinstance(X, (str, bytes)) or X is None:
        raise DataError(
            "give a list of sentences (each a list of words or a str), e.g. [['the', 'dog', 'barks']] or "
            "['the dog barks']."
        )
    out: list[Sequence[Any]] = []
    for s, sentence in enumerate(X):
        if isinstance(sentence, str):
            out.append(sentence.split())
        elif isinstance(sentence, (list, tuple, np.ndarray)):
            out.append(list(sentence))
        else:
            raise DataError(
                f"sentence {s} is a {type(sentence).__name__}; a sentence is a list of words or a str."
            )
    return out


def check_saved_grammar(start: Any, rules: Any, probabilities: np.ndarray) -> str | None:
    """What is wrong with a model file's grammar (``start_``, ``rules_``, ``probabilities_``), or None.

    For the model-file rule (:mod:`genlab._model_rules`): the rules must read as a grammar (no undefined symbol, no
    unary cycle) and each left-hand side's probabilities must lie in [0, 1] and sum to 1.
    """
    if not isinstance(start, str) or not isinstance(rules, (list, tuple)) or not all(isinstance(r, str) for r in rules):
        return "start_ must be a str and rules_ a list of rules' text (\"NP -> Det N\")."
    if not rules:
        return "rules_ is empty."
    try:
        grammar = _read_rules(start, rules)
    except ParameterError as exc:
        return f"rules_ do not form a grammar: {exc}"
    p = np.asarray(probabilities, dtype=np.float64)
    if p.shape != (len(grammar.rules),) or not np.all((p >= 0) & (p <= 1)):
        return f"probabilities_ must hold {len(grammar.rules)} numbers in [0, 1], one per rule."
    totals = np.bincount(grammar.lhs_index(), weights=p, minlength=len(grammar.nonterminals))
    if not np.allclose(totals, 1.0, rtol=0, atol=1e-6):
        bad = grammar.nonterminals[int(np.argmax(np.abs(totals - 1.0)))]
        return f"probabilities_ of the rules of {bad} do not sum to 1."
    return None


def _read_rules(start: str, rules: Sequence[str]) -> Grammar:
    """The grammar of rule keys (``"NP -> Det N"``); the probabilities are placeholders."""
    by_lhs: dict[str, int] = {}
    for rule in rules:
        lhs = rule.split("->", 1)[0].strip()
        by_lhs[lhs] = by_lhs.get(lhs, 0) + 1
    lines = [f"%start {start}"]
    for rule in rules:
        lhs = rule.split("->", 1)[0].strip()
        # uniform placeholders: they sum to 1 closely enough for the reader's check
        lines.append(f"{rule} [{1.0 / by_lhs[lhs]!r}]")
    return read_grammar("\n".join(lines))


def _dirichlet_probabilities(grammar: Grammar, rng: np.random.Generator) -> np.ndarray:
    """Each left-hand side's rule probabilities drawn from a flat Dirichlet (rules in the grammar's order)."""
    lhs = grammar.lhs_index()
    p = np.empty(len(grammar.rules))
    for a in range(len(grammar.nonterminals)):
        members = np.flatnonzero(lhs == a)
        p[members] = rng.dirichlet(np.ones(len(members)))
    return p


def _normalized(grammar: Grammar, weights: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """Per left-hand side, ``weights`` clipped at 0 and normalised; a left-hand side with no weight keeps
    ``previous`` (a nonterminal the data never used: the documented rule, as no estimate exists)."""
    weights = np.maximum(np.asarray(weights, dtype=np.float64), 0.0)
    lhs = grammar.lhs_index()
    totals = np.bincount(lhs, weights=weights, minlength=len(grammar.nonterminals))
    out = np.empty_like(weights)
    empty = totals[lhs] <= 0
    out[~empty] = weights[~empty] / totals[lhs][~empty]
    out[empty] = previous[empty]
    # a left-hand side never seen in a grammar read off trees cannot occur: every lhs there has a count
    return out


def _rule_indices(tree: Tree, rule_index: dict[Rule, int], t: int) -> np.ndarray:
    """The index of the rule at each node of ``tree`` (pre-order); DataError naming a rule outside the grammar."""
    out = []
    for node in tree.subtrees():
        rule = _node_rule(node, t)
        index = rule_index.get(rule)
        if index is None:
            raise DataError(
                f"tree {t} uses the rule {rule_key(rule)}, which the grammar lacks; add it to the grammar, or fit "
                "with grammar=None to read the rules off the trees."
            )
        out.append(index)
    return np.asarray(out, dtype=np.int64)


def _node_rule(node: Tree, t: int) -> Rule:
    if not node.children:
        raise DataError(
            f"tree {t} has a node {node.label!r} with no children (an epsilon rule); PCFG does not support them."
        )
    return Rule(
        node.label,
        tuple(c if isinstance(c, str) else c.label for c in node.children),
        tuple(isinstance(c, str) for c in node.children),
    )


_BAD_LABEL_CHARS = frozenset("|[]'\"#")


def _grammar_from_trees(trees: list[Tree]) -> Grammar:
    """The rules of ``trees`` in order of first use; the start symbol is the first tree's root."""
    start = trees[0].label
    rules: dict[Rule, None] = {}
    nonterminals: dict[str, None] = {}
    for t, tree in enumerate(trees):
        for node in tree.subtrees():
            label = node.label
            if (not label or any(ch.isspace() or ch in _BAD_LABEL_CHARS for ch in label) or "->" in label
                    or label.startswith("%")):
                raise DataError(
                    f"tree {t} has the label {label!r}, which cannot be a grammar symbol (no spaces, quotes, "
                    "brackets, '|', '#', '->' or a leading '%'); rename it."
                )
            rules.setdefault(_node_rule(node, t), None)
            nonterminals.setdefault(label, None)
    grammar = Grammar(start, list(rules), np.zeros(len(rules)), list(nonterminals))
    try:
        unary_order(grammar)
    except ParameterError as exc:
        raise DataError(f"the trees' rules cannot form a PCFG: {exc}") from None
    return grammar


def _build_tree(b: BinarizedGrammar, rule: np.ndarray, split: np.ndarray, start: int, n: int,
                sentence: list[str]) -> list[Tree | str]:
    """The Viterbi derivation from the back-pointers, in terms of the original symbols (fresh chain symbols are
    spliced into their parent, fresh preterminals replaced by their word; the sentence's own words are the leaves,
    so an unknown word read as ``unknown_word`` shows as itself)."""
    n_binary, n_unary = len(b.binary_parent), len(b.unary_parent)
    # iterative post-order: frames of (symbol, i, j, children-so-far, pending child specs)
    root: list[Tree | str] = []
    stack: list[tuple[int, int, int, list[Tree | str], list[tuple[int, int, int]]]] = []

    def open_frame(a: int, i: int, j: int) -> tuple[int, int, int, list[Tree | str], list[tuple[int, int, int]]]:
        code = int(rule[i, j, a])
        if code < n_binary:
            k = int(split[i, j, a])
            pending = [(int(b.binary_right[code]), k, j), (int(b.binary_left[code]), i, k)]  # popped left first
        elif code < n_binary + n_unary:
            pending = [(int(b.unary_child[code - n_binary]), i, j)]
        else:
            pending = []
        return (a, i, j, [], pending)

    stack.append(open_frame(start, 0, n))
    while stack:
        a, i, j, kids, pending = stack[-1]
        if pending:
            child, ci, cj = pending.pop()
            stack.append(open_frame(child, ci, cj))
            continue
        stack.pop()
        code = int(rule[i, j, a])
        if code >= n_binary + n_unary:  # lexical: the word itself
            kids = [sentence[i]]
        if a in b.fresh_terminal:
            made: list[Tree | str] = [sentence[i]]
        elif a >= b.n_original:
            made = kids  # a chain symbol: its children belong to the parent
        else:
            made = [Tree(b.symbols[a], kids)]
        (stack[-1][3] if stack else root).extend(made)
    return root


def _sample_tree(grammar: Grammar, choices: dict[str, tuple[np.ndarray, np.ndarray]], rng: np.random.Generator,
                 max_nodes: int) -> Tree:
    """One derivation from the start symbol, expanded top-down (iteratively: deep trees must not recurse)."""
    rules = grammar.rules
    n_nodes = 0

    def expand(label: str) -> tuple[str, list[Tree | str], list[tuple[str, bool]]]:
        nonlocal n_nodes
        n_nodes += 1
        if n_nodes > max_nodes:
            raise ParameterError(
                f"a sampled derivation passed max_nodes={max_nodes} nodes: the grammar's derivations do not "
                "terminate in practice (its recursive rules have too much probability); lower them or raise "
                "max_nodes."
            )
        members, cumulative = choices[label]
        r = members[min(int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right")),
                        len(members) - 1)]
        rule = rules[r]
        return (label, [], list(zip(reversed(rule.rhs), reversed(rule.terminal), strict=True)))

    stack = [expand(grammar.start)]
    while True:
        label, kids, pending = stack[-1]
        if pending:
            symbol, terminal = pending.pop()
            if terminal:
                kids.append(symbol)
            else:
                stack.append(expand(symbol))
            continue
        stack.pop()
        node = Tree(label, kids)
        if not stack:
            return node
        stack[-1][1].append(node)

"""Grammars and tree models (issue 24): parsing against NLTK, inside-outside EM, bits per node on Python syntax trees.

Three parts (``--parts``, any subset):

* ``parse``: :class:`genlab.trees.pcfg.PCFG` against NLTK's parsers on the benchmark grammar of this module
  (:func:`benchmark_grammar`: 31 nonterminals, a few hundred rules with the lexicon, written in NLTK's text format;
  its ambiguity is English's: prepositional-phrase attachment, coordination of noun phrases, verb phrases,
  nominals and sentences, noun compounds, words of several parts of speech, ``that`` as determiner, complementiser
  and relative pronoun). Sentences are drawn from it by this module's own top-down sampler (not genlab's), with a
  fixed seed. Both sides read the same grammar text. Before anything is timed, every sentence's log-probabilities
  are compared: genlab's Viterbi log-probability against ``nltk.ViterbiParser``'s best tree, and on the short
  sentences genlab's inside log-probability (the sum over all parses) against the sum of the probabilities of every
  parse that ``nltk.InsideChartParser`` returns. Timed: sentences per second of genlab's Viterbi parse (one
  sentence at a time and the whole batch) against ``ViterbiParser``, and of genlab's ``log_prob`` against
  ``InsideChartParser`` (which enumerates every parse before returning the best one, so it runs on the short
  sentences only; see the notes for its cost on the long ones).
* ``em``: inside-outside EM (``PCFG.fit`` on token lists) from a random start (``from_string(randomize=True)``) on
  sentences drawn from the benchmark grammar and from the toy grammar of :mod:`genlab.trees.toy`: seconds per
  iteration, training and held-out log-likelihood per token by iteration (must never decrease on the training
  sentences), and the rule-probability error against the truth after fitting. NLTK has no inside-outside EM (nltk
  issue 1722), so there is no peer: the truth's own log-likelihood per token is the reference.
* ``ast``: bits per node on the standard library's syntax trees split by file (:func:`genlab.trees.python_ast.
  python_asts`), for every tree model and the sequence models on the linearised trees (see :func:`run_ast`).

Run: ``python -m bench trees`` (``--quick`` is a smoke run).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.harness import (
    BenchmarkReport,
    BenchmarkUnavailable,
    Comparison,
    Extra,
    Measurement,
    load_average_text,
    max_rss_mib,
)

NAME = "trees"
SUMMARY = ("grammars and tree models: PCFG parsing vs NLTK's ViterbiParser / InsideChartParser, inside-outside EM, "
           "bits per node of tree and sequence models on the standard library's syntax trees")
PARTS = ("parse", "em", "ast")

# --------------------------------------------------------------------------------------------------
# The benchmark grammar
#
# Phrase structure with hand-set probabilities (each left-hand side sums to 1). Part-of-speech tags are the
# preterminals; the lexicon below gives their words. Agreement and tense are not modelled: the strings need not be
# good English, only as ambiguous as English is for a chart parser.

#: (lhs, rhs, probability); rhs symbols are nonterminals (the lexicon's words come from LEXICON).
STRUCTURE: list[tuple[str, tuple[str, ...], float]] = [
    ("S", ("NP", "VP"), 0.77),
    ("S", ("S", "CC", "S"), 0.05),       # sentence coordination
    ("S", ("ADVP", "S"), 0.05),
    ("S", ("PP", "NP", "VP"), 0.05),     # a fronted prepositional phrase (a rule of three symbols)
    ("S", ("S", "SBARADV"), 0.05),       # "... because ..."
    ("S", ("VP",), 0.03),                # imperative (a unary rule between phrases)
    ("NP", ("DT", "NBAR"), 0.38),
    ("NP", ("NNP",), 0.10),
    ("NP", ("PRP",), 0.10),
    ("NP", ("NBAR",), 0.07),             # bare plurals and mass nouns
    ("NP", ("NP", "PP"), 0.14),          # noun attachment of a prepositional phrase
    ("NP", ("NP", "CC", "NP"), 0.05),    # noun-phrase coordination
    ("NP", ("DT", "NBAR", "RC"), 0.05),  # relative clause
    ("NP", ("PRPS", "NBAR"), 0.05),
    ("NP", ("NP", "POS", "NBAR"), 0.03),  # "the dog 's owner"
    ("NP", ("CD", "NBAR"), 0.03),
    ("NBAR", ("NN",), 0.51),
    ("NBAR", ("NNS",), 0.17),
    ("NBAR", ("JJ", "NBAR"), 0.15),
    ("NBAR", ("ADJP", "NBAR"), 0.05),
    ("NBAR", ("NBAR", "NBAR"), 0.08),    # noun compounds: every bracketing of a run of nouns
    ("NBAR", ("NBAR", "CC", "NBAR"), 0.04),  # "old men and women"
    ("ADJP", ("JJ",), 0.40),
    ("ADJP", ("RB", "JJ"), 0.35),
    ("ADJP", ("JJ", "CC", "JJ"), 0.15),
    ("ADJP", ("RB", "RB", "JJ"), 0.10),
    ("VP", ("VI",), 0.16),
    ("VP", ("VT", "NP"), 0.36),
    ("VP", ("VD", "NP", "NP"), 0.05),
    ("VP", ("VD", "NP", "PP"), 0.05),
    ("VP", ("VS", "SBAR"), 0.05),
    ("VP", ("VP", "PP"), 0.14),          # verb attachment of a prepositional phrase
    ("VP", ("VP", "CC", "VP"), 0.04),
    ("VP", ("VP", "ADVP"), 0.05),
    ("VP", ("MD", "VP"), 0.05),
    ("VP", ("VBE", "ADJP"), 0.05),
    ("PP", ("IN", "NP"), 0.92),
    ("PP", ("PP", "CC", "PP"), 0.04),
    ("PP", ("RB", "PP"), 0.04),
    ("SBAR", ("COMP", "S"), 0.70),
    ("SBAR", ("S",), 0.30),
    ("SBARADV", ("SUB", "S"), 1.0),
    ("RC", ("WDT", "VP"), 0.65),
    ("RC", ("WDT", "NP", "VT"), 0.35),
    ("ADVP", ("RB",), 0.85),
    ("ADVP", ("RB", "RB"), 0.15),
]

#: Words of each preterminal. Some words have several tags (``saw``, ``that``, ``watch``, ``fish``...), as in
#: English: the parser must weigh every reading.
LEXICON: dict[str, tuple[str, ...]] = {
    "DT": ("the", "a", "an", "this", "that", "every", "some", "no", "each", "another"),
    "NN": ("dog", "cat", "man", "woman", "child", "park", "telescope", "hill", "house", "garden", "book", "table",
           "river", "city", "car", "train", "station", "letter", "teacher", "student", "school", "window", "door",
           "tree", "bird", "fish", "duck", "saw", "watch", "film", "camera", "bank", "market", "street", "office",
           "computer", "program", "language", "report", "meeting", "plan", "price", "water", "food", "music",
           "morning", "night", "friend", "doctor", "lawyer", "court", "game", "team", "ball", "boat", "island",
           "road", "bridge", "company", "phone"),
    "NNS": ("dogs", "cats", "men", "women", "children", "parks", "books", "trees", "birds", "fish", "ducks",
            "cars", "trains", "letters", "students", "teachers", "reports", "plans", "prices", "friends", "games",
            "boats", "roads", "companies", "phones", "files", "words", "years", "days", "people"),
    "NNP": ("alice", "bob", "carol", "dave", "eve", "frank", "grace", "heidi", "ivan", "judy", "paris", "london",
            "berlin", "rome", "tokyo", "mary", "john", "sue", "kim", "lee"),
    "PRP": ("i", "you", "he", "she", "it", "we", "they", "him", "her", "them"),
    "PRPS": ("my", "your", "his", "her", "its", "our", "their"),
    "POS": ("'s",),
    "CD": ("two", "three", "four", "five", "six", "ten", "twenty", "many", "several", "few"),
    "JJ": ("big", "small", "old", "young", "red", "green", "blue", "happy", "sad", "tall", "short", "long", "new",
           "good", "bad", "quick", "slow", "bright", "dark", "quiet", "loud", "rich", "poor", "strong", "weak",
           "warm", "cold", "hot", "early", "late", "clever", "brave", "strange", "famous", "empty", "full",
           "heavy", "light", "clean", "fast"),
    "RB": ("very", "quite", "really", "too", "often", "never", "always", "quickly", "slowly", "here", "there",
           "today", "again", "also", "soon", "right", "just", "almost", "still", "fast"),
    "IN": ("with", "in", "on", "at", "near", "by", "from", "to", "under", "over", "behind", "after", "before",
           "about", "for"),
    "CC": ("and", "or", "but"),
    "VI": ("barks", "sleeps", "runs", "walks", "laughs", "arrives", "leaves", "waits", "smiles", "swims", "sings",
           "falls", "works", "talks", "cries", "dances", "jumps", "shouts", "rests", "returns"),
    "VT": ("saw", "sees", "likes", "finds", "watches", "reads", "writes", "takes", "gives", "buys", "sells",
           "eats", "drinks", "opens", "closes", "meets", "helps", "calls", "follows", "loves", "hates", "knows",
           "wants", "needs", "makes", "builds", "breaks", "fixes", "moves", "carries", "holds", "keeps", "leaves",
           "visits", "paints", "cleans", "catches", "chases", "hears", "fish"),
    "VD": ("gives", "sends", "shows", "tells", "offers", "brings", "hands", "lends"),
    "VS": ("thinks", "says", "knows", "believes", "hopes", "hears", "claims", "feels"),
    "VBE": ("is", "was", "seems", "looks"),
    "MD": ("will", "can", "must", "should", "may"),
    "COMP": ("that", "whether", "if"),
    "SUB": ("because", "when", "while", "although", "before", "after"),
    "WDT": ("which", "that", "who"),
}


@dataclass(frozen=True)
class BenchRule:
    """One rule of the benchmark grammar: ``lhs -> rhs`` with its probability; ``lexical`` rules have one word."""

    lhs: str
    rhs: tuple[str, ...]
    probability: float
    lexical: bool


def benchmark_rules(seed: int = 0) -> list[BenchRule]:
    """The rules of the benchmark grammar, structural rules first, then the lexicon.

    Word probabilities within a tag are a seeded Dirichlet(2) draw, so that no two readings of a sentence tie
    except where the rules themselves are symmetric (noun compounds of three nouns bracketed either way use the
    same rules). Probabilities are rounded to 12 decimals, as they are written into the grammar text (NLTK reads no
    exponents).

    Parameters
    ----------
    seed : int, default=0
        Seed of the word probabilities.

    Returns
    -------
    list of BenchRule
        Every rule; each left-hand side's probabilities sum to 1 (to about 1e-11).
    """
    rng = np.random.default_rng(seed)
    rules = [BenchRule(lhs, rhs, p, False) for lhs, rhs, p in STRUCTURE]
    for tag, words in LEXICON.items():
        weights = rng.dirichlet(np.full(len(words), 2.0))
        rules.extend(BenchRule(tag, (word,), round(float(w), 12), True) for word, w in zip(words, weights, strict=True))
    return rules


def grammar_text(rules: list[BenchRule]) -> str:
    """The rules in NLTK's PCFG text format (``A -> B C [p]``, words quoted), the start symbol first."""
    lines = ["# genlab benchmark grammar (bench/trees.py): English-like phrase structure with its ambiguities"]
    for rule in rules:
        # a word with an apostrophe ("'s") goes in double quotes (NLTK reads no backslash escapes)
        quote = '"' if "'" in rule.rhs[0] else "'"
        rhs = f"{quote}{rule.rhs[0]}{quote}" if rule.lexical else " ".join(rule.rhs)
        lines.append(f"{rule.lhs} -> {rhs} [{rule.probability:.12f}]")
    return "\n".join(lines) + "\n"


def benchmark_grammar(seed: int = 0) -> str:
    """The benchmark grammar in NLTK's text format (what both genlab and NLTK read)."""
    return grammar_text(benchmark_rules(seed))


def sample_sentences(rules: list[BenchRule], n: int, *, min_length: int, max_length: int,
                     seed: int) -> tuple[list[list[str]], list[str]]:
    """Draw ``n`` sentences of ``min_length``-``max_length`` words top-down from the grammar (rejection sampling).

    The sampler is this module's own, independent of genlab's ``PCFG.sample``. A derivation is abandoned as soon
    as it has more than ``max_length`` words, and one that ends shorter than ``min_length`` is dropped; the
    sentences kept are therefore draws from the grammar conditioned on their length lying in the range.

    Returns
    -------
    sentences : list of list of str
        The token lists.
    trees : list of str
        Their derivations in bracketed form ``(S (NP (DT the) (NN dog)) ...)``.
    """
    by_lhs: dict[str, list[BenchRule]] = {}
    for rule in rules:
        by_lhs.setdefault(rule.lhs, []).append(rule)
    tables = {lhs: (group, np.cumsum([r.probability for r in group])) for lhs, group in by_lhs.items()}
    rng = np.random.default_rng(seed)

    class _TooLong(Exception):
        pass

    def expand(symbol: str, words: list[str]) -> str:
        group, cumulative = tables[symbol]
        rule = group[min(int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right")),
                         len(group) - 1)]
        if rule.lexical:
            words.append(rule.rhs[0])
            if len(words) > max_length:
                raise _TooLong
            return f"({symbol} {rule.rhs[0]})"
        return f"({symbol} " + " ".join(expand(child, words) for child in rule.rhs) + ")"

    sentences: list[list[str]] = []
    trees: list[str] = []
    while len(sentences) < n:
        words: list[str] = []
        try:
            tree = expand("S", words)
        except (_TooLong, RecursionError):
            continue
        if len(words) >= min_length:
            sentences.append(words)
            trees.append(tree)
    return sentences, trees


# --------------------------------------------------------------------------------------------------
# Helpers


def _row(case: str, seconds: float, quality: float | None, extras: list[Extra], *,
         peer: Measurement | None = None, times: tuple[float, ...] | None = None) -> Comparison:
    """A comparison row from a timing measured here (not by bench.harness.measure)."""
    measurement = Measurement(name="genlab", median_s=seconds, min_s=min(times) if times else seconds,
                              peak_mib=max_rss_mib(), quality=quality, times_s=times or (seconds,))
    return Comparison(case=case, genlab=measurement, peer=peer, extras=extras)


def _timed(fn: Any, repeats: int) -> tuple[list[float], Any]:
    """Wall-clock seconds of ``repeats`` calls of ``fn`` (after one untimed call), and the last result."""
    fn()
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return times, result


def _nltk() -> Any:
    try:
        import nltk
    except ImportError:
        raise BenchmarkUnavailable("NLTK is not installed (pip install genlab[peers])") from None
    return nltk


def _pcfg_class() -> Any:
    try:
        from genlab.trees.pcfg import PCFG
    except ImportError as exc:
        raise BenchmarkUnavailable(f"genlab.trees.pcfg is not importable here ({exc})") from None
    return PCFG


def derivation_log_prob(tree: Any, probability: dict[tuple[str, tuple[str, ...]], float]) -> float:
    """Natural log-probability of a derivation (an ``nltk.Tree``) as the sum of its rules' log-probabilities."""
    total = 0.0
    for production in tree.productions():
        rhs = tuple(s if isinstance(s, str) else str(s) for s in production.rhs())
        total += math.log(probability[(str(production.lhs()), rhs)])
    return total


def _max_abs(a: Any, b: Any) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b))) if a.size else 0.0


# --------------------------------------------------------------------------------------------------
# Part 1: parsing against NLTK


def run_parse(args: argparse.Namespace) -> BenchmarkReport:
    """genlab's Viterbi parse and inside log-probability against NLTK's ``ViterbiParser`` and ``InsideChartParser``."""
    from bench.harness import measure

    nltk = _nltk()
    PCFG = _pcfg_class()
    from genlab.trees.tree import Tree

    load_at_start = load_average_text()
    rules = benchmark_rules(args.seed)
    text = grammar_text(rules)
    n = args.parse_sentences if not args.quick else min(args.parse_sentences, 30)
    sentences, derivations = sample_sentences(rules, n, min_length=args.min_length, max_length=args.max_length,
                                              seed=args.seed + 1)
    n_tokens = sum(len(s) for s in sentences)
    peer_repeats = min(args.repeats, args.peer_repeats)

    grammar = nltk.PCFG.fromstring(text)
    viterbi_parser = nltk.ViterbiParser(grammar)
    inside_parser = nltk.InsideChartParser(grammar)
    model = PCFG.from_string(text)
    probability = {(r.lhs, r.rhs): r.probability for r in rules}

    # --- agreement first, untimed --------------------------------------------------------------------
    nltk_best = [next(viterbi_parser.parse(s)) for s in sentences]
    nltk_viterbi = np.array([math.log(t.prob()) for t in nltk_best])
    nltk_all = [list(inside_parser.parse(s)) for s in sentences]
    nltk_sum = np.array([math.log(math.fsum(t.prob() for t in parses)) for parses in nltk_all])
    nltk_inside_best = np.array([math.log(parses[0].prob()) for parses in nltk_all])
    n_parses = np.array([len(parses) for parses in nltk_all])
    ours = [model.viterbi(s) for s in sentences]
    ours_viterbi = np.array([p.log_prob for p in ours])
    ours_inside = np.asarray(model.log_prob(sentences), dtype=np.float64)
    batch = _batch_viterbi(model, sentences)
    batch_viterbi = np.array([p.log_prob for p in batch]) if batch is not None else None
    same_tree = np.array([Tree.convert(t) == p.tree for t, p in zip(nltk_best, ours, strict=True)])
    # where the two best trees differ, both must be best: a tie of log-probabilities (e.g. the two bracketings of
    # three nouns use the same rules)
    rescored = np.array([derivation_log_prob(nltk.Tree.fromstring(str(p.tree)), probability) for p in ours])
    truth_trees = [nltk.Tree.fromstring(t) for t in derivations]
    truth_log_prob = np.array([derivation_log_prob(t, probability) for t in truth_trees])
    ours_tree_log_prob = np.asarray(model.tree_log_prob([Tree.fromstring(t) for t in derivations]), dtype=np.float64)

    checks = {
        "Viterbi: genlab vs ViterbiParser": _max_abs(ours_viterbi, nltk_viterbi),
        "Viterbi: genlab's tree rescored from the rules vs its log_prob": _max_abs(rescored, ours_viterbi),
        "inside: genlab log_prob vs log of the sum over InsideChartParser's parses": _max_abs(ours_inside, nltk_sum),
        "NLTK's two parsers' best parses": _max_abs(nltk_inside_best, nltk_viterbi),
        "tree_log_prob of the sampled derivations vs their rules": _max_abs(ours_tree_log_prob, truth_log_prob),
    }
    if batch_viterbi is not None:
        checks["Viterbi: genlab batch vs one at a time"] = _max_abs(batch_viterbi, ours_viterbi)
    flags = [f"{what}: max |difference| {value:.3g} nats" for what, value in checks.items() if not value < args.tol]
    if not np.all(ours_inside >= ours_viterbi - args.tol):
        flags.append("an inside log-probability below its Viterbi log-probability")

    # --- timing ---------------------------------------------------------------------------------------
    def per_second(m: Measurement) -> float:
        return len(sentences) / m.median_s

    peer_viterbi, _ = measure("nltk ViterbiParser", lambda: [next(viterbi_parser.parse(s)) for s in sentences],
                              repeats=peer_repeats)
    peer_inside, _ = measure("nltk InsideChartParser", lambda: [list(inside_parser.parse(s)) for s in sentences],
                             repeats=peer_repeats)
    one, _ = measure("genlab", lambda: [model.viterbi(s) for s in sentences], repeats=args.repeats)
    rows = [("Viterbi parse, one sentence per call", one, peer_viterbi, "ViterbiParser",
             checks["Viterbi: genlab vs ViterbiParser"])]
    if batch is not None:
        many, _ = measure("genlab", lambda: _batch_viterbi(model, sentences), repeats=args.repeats)
        rows.append(("Viterbi parse, all sentences in one call", many, peer_viterbi, "ViterbiParser",
                     checks["Viterbi: genlab batch vs one at a time"]))
    inside, _ = measure("genlab", lambda: model.log_prob(sentences), repeats=args.repeats)
    rows.append(("inside log_prob (sum over parses), one call", inside, peer_inside, "InsideChartParser",
                 checks["inside: genlab log_prob vs log of the sum over InsideChartParser's parses"]))

    comparisons = []
    for case, ours_m, peer_m, peer_name, difference in rows:
        comparison = Comparison(case=f"{case} vs {peer_name}", genlab=ours_m, peer=peer_m, extras=[
            Extra("genlab sentences/s", f"{per_second(ours_m):,.1f}"),
            Extra("NLTK sentences/s", f"{per_second(peer_m):,.2f}"),
            Extra("max |Δ log p| nats", f"{difference:.2e}", flagged=not difference < args.tol),
        ])
        if comparison.speed_ratio < ACCEPTANCE_SPEEDUP:
            comparison.flags.append(f"genlab {comparison.speed_ratio:.1f}x NLTK: below the issue's "
                                    f"{ACCEPTANCE_SPEEDUP:g}x")
        comparisons.append(comparison)
    comparisons[0].flags.extend(flags)

    n_nonterminals = len({r.lhs for r in rules})
    n_lexical = sum(r.lexical for r in rules)
    lengths = np.array([len(s) for s in sentences])
    notes = [
        f"grammar: benchmark_grammar(seed={args.seed}) of bench/trees.py: {len(rules)} rules ({len(rules) - n_lexical}"
        f" phrase-structure rules, {n_lexical} words), {n_nonterminals} nonterminals, read by both sides from the "
        "same NLTK-format text",
        f"sentences: {len(sentences)} drawn by bench/trees.py's own sampler (seed {args.seed + 1}), "
        f"{args.min_length}-{args.max_length} words (mean {lengths.mean():.1f}, {n_tokens} tokens); parses per "
        f"sentence (InsideChartParser): median {np.median(n_parses):g}, max {n_parses.max()}, "
        f"{int(np.sum(n_parses > 1))} of {len(sentences)} ambiguous",
        "agreement (before timing; max |difference| in nats): " + "; ".join(
            f"{what} {value:.2e}" for what, value in checks.items()),
        f"best trees identical to ViterbiParser's: {int(same_tree.sum())} of {len(sentences)}; where they differ, "
        f"genlab's tree rescored from the rules has ViterbiParser's log-probability (a tie: max |difference| "
        f"{_max_abs(rescored[~same_tree], nltk_viterbi[~same_tree]) if (~same_tree).any() else 0.0:.2e})",
        f"mean log-probability per sentence: Viterbi {nltk_viterbi.mean():.3f}, inside {ours_inside.mean():.3f} "
        f"nats; the best parse holds {np.mean(np.exp(ours_viterbi - ours_inside)):.1%} of a sentence's probability "
        "on average",
        f"timing: genlab {args.repeats} timed runs after a warm-up, NLTK {peer_repeats} (each pass is the whole "
        "set); InsideChartParser builds every parse before it returns the best, so it is timed against genlab's "
        "inside pass (the sum over parses), the quantity both compute",
        f"acceptance (issue 24): parsing at least {ACCEPTANCE_SPEEDUP:g}x NLTK's speed",
        f"load average at the end: {load_average_text()}",
    ]
    return BenchmarkReport(benchmark=f"{NAME} parse", title="PCFG parsing on the benchmark grammar: genlab vs NLTK",
                           genlab_label="genlab", peer_label="NLTK", quality_name="-",
                           parameters={"quick": str(bool(args.quick)), "seed": str(args.seed),
                                       "sentences": str(len(sentences)), "nltk": nltk.__version__,
                                       "load average at start": load_at_start},
                           comparisons=comparisons, notes=notes)


ACCEPTANCE_SPEEDUP = 10.0


def _batch_viterbi(model: Any, sentences: list[list[str]]) -> list[Any] | None:
    """genlab's batch Viterbi parse of every sentence in one call, or None where the model has none."""
    parse = getattr(model, "parse", None)
    if parse is None:
        return None
    return list(parse(sentences))



# --------------------------------------------------------------------------------------------------
# Part 2: inside-outside EM


def rules_of(text: str) -> list[BenchRule]:
    """A grammar text's rules for this module's sampler (read by genlab's reader; lexical rules have one word)."""
    from genlab.trees.grammar import read_grammar

    grammar = read_grammar(text)
    out = []
    for rule, p in zip(grammar.rules, grammar.probabilities, strict=True):
        lexical = all(rule.terminal)
        if (lexical and len(rule.rhs) != 1) or (not lexical and any(rule.terminal)):
            raise ValueError(f"the sampler takes one-word lexical rules and all-nonterminal rules: {rule}")
        out.append(BenchRule(rule.lhs, rule.rhs, float(p), lexical))
    return out


@dataclass
class EMRun:
    """One EM fit from a random start, with its per-iteration record."""

    start: int
    seconds: float            # the fit's wall-clock seconds, the held-out scoring in the callback taken out
    n_iter: int
    objective: np.ndarray     # training log-likelihood per token under each iteration's E-step parameters (nats)
    held_out: np.ndarray      # held-out log-likelihood per token after each iteration's M-step (nats), over the
    #                           held-out sentences the fitted grammar derives (maximum likelihood gives a word or rule
    #                           absent from the training sentences probability 0)
    underivable: int          # held-out sentences the final grammar cannot derive
    final_held_out: np.ndarray  # the final grammar's log-probability of each held-out sentence
    probabilities: np.ndarray  # the fitted rule probabilities, in the grammar's order
    n_decreases: int


def _fit_em(PCFG: Any, text: str, train: list[list[str]], held_out: list[list[str]], *, start: int, max_iter: int,
            tol: float) -> EMRun:
    import warnings

    lengths = np.array([len(s) for s in held_out])
    record: list[float] = []
    scoring = [0.0]

    def callback(progress: Any) -> bool:
        began = time.perf_counter()
        record.append(_per_token(progress.model.log_prob(held_out), lengths))
        scoring[0] += time.perf_counter() - began
        return False

    model = PCFG.from_string(text, randomize=True, random_state=start, max_iter=max_iter, tol=tol)
    began = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a ConvergenceWarning at max_iter is expected: the table shows the history
        model.fit(train, callback=callback)
    seconds = time.perf_counter() - began - scoring[0]
    objective = np.asarray(model.lower_bounds_, dtype=np.float64)
    # the driver's count of decreases, and our own: the objective may not go down by more than rounding
    ours = int(np.sum(np.diff(objective) < -1e-12 * np.maximum(1.0, np.abs(objective[1:]))))
    final = np.asarray(model.log_prob(held_out), dtype=np.float64)
    return EMRun(start, seconds, int(model.n_iter_), objective, np.asarray(record), int(np.sum(~np.isfinite(final))),
                 final, np.asarray(model.probabilities_), max(ours, int(getattr(model.monitor_, "n_decreases", 0))))


def _per_token(log_prob: np.ndarray, lengths: np.ndarray) -> float:
    """Log-likelihood per token (nats) over the sentences with a finite log-probability."""
    log_prob = np.asarray(log_prob, dtype=np.float64)
    finite = np.isfinite(log_prob)
    return float(log_prob[finite].sum() / lengths[finite].sum()) if finite.any() else -math.inf


def _history(values: np.ndarray) -> str:
    """Values at iterations 1, 2, 3, 5, 10, 20, 50, 100, ... and the last."""
    marks = [i for i in (1, 2, 3, 5, 10, 20, 50, 100, 200, 500) if i <= len(values)]
    if len(values) not in marks:
        marks.append(len(values))
    return ", ".join(f"{i}: {values[i - 1]:.4f}" for i in marks)


def run_em(args: argparse.Namespace) -> BenchmarkReport:
    """Inside-outside EM from random starts on the benchmark and toy grammars' sentences, against the truth."""
    PCFG = _pcfg_class()
    from genlab.trees.toy import TOY_GRAMMAR
    from genlab.trees.tree import Tree

    load_at_start = load_average_text()
    quick = bool(args.quick)
    starts = range(1 if quick else args.em_starts)
    comparisons, notes = [], []
    cases = [
        ("benchmark grammar", grammar_text(benchmark_rules(args.seed)), args.min_length, args.max_length,
         args.em_sentences, args.em_iter),
        ("toy grammar", TOY_GRAMMAR, 1, 40, args.em_toy_sentences, args.em_toy_iter),
    ]
    for name, text, low, high, n_train, max_iter in cases:
        if quick:
            n_train, max_iter = min(n_train, 200), min(max_iter, 5)
        rules = rules_of(text)
        train, train_trees = sample_sentences(rules, n_train, min_length=low, max_length=high, seed=args.seed + 2)
        held_out, _ = sample_sentences(rules, max(n_train // 5, 50), min_length=low, max_length=high,
                                       seed=args.seed + 3)
        n_tokens, n_held = sum(len(s) for s in train), sum(len(s) for s in held_out)
        truth = PCFG.from_string(text)
        true_p = np.asarray(truth.probabilities_, dtype=np.float64)
        lexical = np.array([r.lexical for r in rules])
        truth_train = float(np.sum(truth.log_prob(train))) / n_tokens
        truth_held_each = np.asarray(truth.log_prob(held_out), dtype=np.float64)
        held_lengths = np.array([len(s) for s in held_out])
        # the floor of the rule-probability error: maximum likelihood from the true derivations of the same sentences
        counted = PCFG.from_string(text).fit([Tree.fromstring(t) for t in train_trees])
        counted_error = np.abs(np.asarray(counted.probabilities_) - true_p)

        def error_text(error: np.ndarray, lexical: np.ndarray = lexical) -> str:
            parts = [f"mean {error.mean():.4f}, max {error.max():.3f}"]
            if lexical.any() and not lexical.all():
                parts.append(f"phrase rules mean {error[~lexical].mean():.4f} / words {error[lexical].mean():.4f}")
            return "; ".join(parts)

        runs = [_fit_em(PCFG, text, train, held_out, start=s, max_iter=max_iter, tol=args.em_tol) for s in starts]
        for r in runs:
            error = np.abs(r.probabilities - true_p)
            truth_same = _per_token(np.where(np.isfinite(r.final_held_out), truth_held_each, -np.inf), held_lengths)
            m = Measurement(name="genlab", median_s=r.seconds, min_s=r.seconds, peak_mib=max_rss_mib(),
                            quality=float(r.held_out[-1]), times_s=(r.seconds,))
            comparison = Comparison(case=f"{name}, random start {r.start}", genlab=m, peer=None, extras=[
                Extra("iterations", str(r.n_iter)),
                Extra("s / iteration", f"{r.seconds / max(r.n_iter, 1):.4f}"),
                Extra("train LL/token: EM / truth", f"{r.objective[-1]:.4f} / {truth_train:.4f}"),
                Extra("held-out LL/token: EM / truth", f"{r.held_out[-1]:.4f} / {truth_same:.4f}"),
                Extra("held-out sentences underivable", f"{r.underivable} / {len(held_out)}"),
                Extra("decreases", str(r.n_decreases), flagged=r.n_decreases > 0),
                Extra("|p - truth|: EM", error_text(error)),
                Extra("|p - truth|: counts of the true trees", error_text(counted_error)),
            ])
            if r.n_decreases:
                comparison.flags.append(f"the training log-likelihood decreased {r.n_decreases} time(s)")
            comparisons.append(comparison)
            notes.append(f"{name}, start {r.start}: training LL/token by iteration (E-step parameters) "
                         f"{_history(r.objective)}; held-out LL/token (after the M-step) {_history(r.held_out)}")
        notes.insert(len(notes) - len(runs),
                     f"{name}: {len(rules)} rules; {n_train} training sentences ({n_tokens} tokens), {len(held_out)} "
                     f"held-out ({n_held} tokens), {low}-{high} words, drawn by bench/trees.py's sampler (seeds "
                     f"{args.seed + 2} / {args.seed + 3}); EM from PCFG.from_string(randomize=True, random_state="
                     f"start), max_iter={max_iter}, tol={args.em_tol:g}")
    notes.append("no peer: NLTK has no inside-outside EM (nltk issue 1722); the reference is the true grammar's own "
                 "log-likelihood per token, and the rule-probability error of maximum likelihood from the true "
                 "derivations of the same training sentences (what supervised counting reaches on this sample)")
    notes.append("time: the fit's wall-clock seconds, without the held-out scoring done in the per-iteration "
                 "callback; quality: held-out log-likelihood per token (nats) after the last iteration, over the "
                 "held-out sentences the fitted grammar derives (maximum likelihood gives a word or rule that no "
                 "training sentence uses probability 0: those sentences are counted, and the truth is scored on the "
                 "same sentences)")
    notes.append(f"load average at the end: {load_average_text()}")
    return BenchmarkReport(benchmark=f"{NAME} em", title="inside-outside EM from random starts (genlab PCFG.fit)",
                           genlab_label="genlab", peer_label="-", quality_name="held-out LL/token",
                           parameters={"quick": str(quick), "seed": str(args.seed),
                                       "load average at start": load_at_start},
                           comparisons=comparisons, notes=notes)



# --------------------------------------------------------------------------------------------------
# Part 3: bits per node on the standard library's syntax trees

#: The issue's simple conditional baselines on its split (561 files split by file hash; bits per node type).
ISSUE_BASELINES = {"unigram": 3.94, "parent": 2.22, "parent + field": 1.65, "grandparent + parent + field": 1.56}


def type_baselines(train: list[Any], test: list[Any]) -> dict[str, float]:
    """The issue's baselines recomputed on this split: bits per node type of the held-out files' node types.

    Only the type decisions count (the node types, each predicted given that a node is there; not ``"<none>"`` /
    ``"<end>"`` or values). Contexts, longest last: none (unigram), the parent's type, the parent's type and the field
    (the slot), plus the grandparent's type and field. Each is interpolated Witten-Bell with the next shorter context,
    down to the uniform distribution over every node type of the grammar, so no held-out type has probability 0.

    Parameters
    ----------
    train, test : list of ast.Module

    Returns
    -------
    dict of str to float
        Bits per node type for each context, keyed as :data:`ISSUE_BASELINES`.
    """
    from collections import Counter

    from genlab.trees.python_ast import AST_GRAMMAR, KIND_TYPE, linearize

    def decisions(modules: list[Any]) -> list[tuple[str, str, str, str]]:
        out = []
        for module in modules:
            lin = linearize(module)
            for i in np.flatnonzero(lin.kinds == KIND_TYPE):
                slot = lin.slots[i]
                out.append((lin.tokens[i], slot.split(".")[0], slot, lin.parent_slots[i]))
        return out

    # context of each level: the (parent type, slot, parent slot) prefix it keeps, shortest first
    levels = {"unigram": (), "parent": (1,), "parent + field": (1, 2), "grandparent + parent + field": (1, 2, 3)}
    counts: dict[str, Counter[tuple[str, ...]]] = {name: Counter() for name in levels}
    totals: dict[str, Counter[tuple[str, ...]]] = {name: Counter() for name in levels}
    for d in decisions(train):
        for name, keep in levels.items():
            context = tuple(d[k] for k in keep)
            counts[name][(*context, d[0])] += 1
            totals[name][context] += 1
    kinds: dict[str, Counter[tuple[str, ...]]] = {name: Counter() for name in levels}
    for name in levels:
        for key in counts[name]:
            kinds[name][key[:-1]] += 1
    uniform = 1.0 / len(AST_GRAMMAR.node_type_tokens)
    held = decisions(test)
    out = {}
    for depth, name in enumerate(levels):
        bits = 0.0
        for d in held:
            p = uniform
            for shorter in list(levels)[:depth + 1]:  # shortest context first, each refining the last
                context = tuple(d[k] for k in levels[shorter])
                n, t = totals[shorter][context], kinds[shorter][context]
                if n:
                    p = (counts[shorter][(*context, d[0])] + t * p) / (n + t)
            bits -= math.log2(p)
        out[name] = bits / len(held)
    return out


def _check_programs(sources: list[str]) -> int:
    """How many of the sources parse, unparse and parse again to the same tree (the issue's sample check)."""
    import ast
    import warnings

    good = 0
    for source in sources:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # drawn code may compare with "is" to a literal: valid, and warned
                tree = ast.parse(source)
                again = ast.parse(ast.unparse(tree))
                compile(source, "<sample>", "exec")
        except (SyntaxError, ValueError):
            continue
        good += ast.dump(tree) == ast.dump(again)
    return good


#: Families of each kind in the ast part's table.
TREE_FAMILIES = ("pcfg", "tree")


def ast_specs(args: argparse.Namespace) -> list[str]:
    """The compare specs of the ast part, in table order (``genlab compare`` spec syntax)."""
    neural = f"tree:kind=neural,time={args.neural_seconds:g}"
    orders = [f"markov:order={k}" for k in args.markov_orders]
    return ["pcfg", "tree:context=parent", "tree:context=grandparent", "tree:context=sibling", neural, *orders,
            f"transformer:preset={args.transformer_preset}"]


def run_ast(args: argparse.Namespace) -> BenchmarkReport:
    """Every tree model and the sequence models of the linearised trees, through ``genlab compare``'s adapters."""
    try:
        from genlab.compare.adapters import make_adapters
        from genlab.compare.data import load_dataset
        from genlab.compare.scoring import bootstrap_bits, score_model
    except ImportError as exc:
        raise BenchmarkUnavailable(f"genlab.compare's syntax-tree adapters are not importable here ({exc})") from None
    import resource

    load_at_start = load_average_text()
    quick = bool(args.quick)
    data = "python-stdlib" if quick else args.ast_data
    began = time.perf_counter()
    dataset = load_dataset(data, split=0.9, random_state=args.seed)
    load_seconds = time.perf_counter() - began
    info = dataset.tree_info
    specs = args.ast_models or ast_specs(args)
    if quick:
        specs = [s.replace(f"time={args.neural_seconds:g}", "time=20") for s in specs]
        specs = [s if not s.startswith("transformer") else s + ",steps=20" for s in specs]
    adapters = make_adapters(",".join(specs), dataset, args.seed)
    baselines = type_baselines([c.module for c in dataset.train], [c.module for c in dataset.chunks])
    test_modules = [c.module for c in dataset.chunks]
    test_types = sum(c.n_nodes for c in dataset.chunks)

    comparisons, notes = [], []
    for adapter in adapters:
        family = adapter.family
        neural = family in ("transformer", "lstm", "gru", "rnn", "cnn") or adapter.params.get("kind") == "neural"
        budget = (args.neural_seconds if family == "tree" else args.transformer_seconds) if neural else 3600.0
        if quick and neural:
            budget = 20.0
        cpu = resource.getrusage(resource.RUSAGE_SELF)
        start = time.perf_counter()
        adapter.fit(dataset, budget, lambda message: None)
        fit_seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_SELF)
        fit_cpu = (after.ru_utime - cpu.ru_utime) + (after.ru_stime - cpu.ru_stime)
        start = time.perf_counter()
        score = score_model(adapter, dataset)
        score_seconds = time.perf_counter() - start
        low, high = bootstrap_bits(score.chunk_log_probs, dataset.chunk_units, random_state=args.seed)
        extras = [
            Extra("valid trees only", "yes" if family in TREE_FAMILIES else "no (token sequences)"),
            Extra("95% CI (files)", f"{low:.3f}-{high:.3f}"),
            Extra("fit CPU s", f"{fit_cpu:.0f}"),
            Extra("score s", f"{score_seconds:.1f}"),
            Extra("parameters", f"{adapter.n_parameters:,}" if adapter.n_parameters is not None else "-"),
        ]
        model = getattr(adapter, "model", None)
        parts = getattr(model, "log_prob_parts", None)
        if parts is not None:
            split = parts(test_modules)
            extras.append(Extra("bits per node: types + structure + values", " + ".join(
                f"{-float(np.sum(split[k])) / (test_types * math.log(2)):.3f}" for k in ("types", "structure",
                                                                                          "values"))))
        training = getattr(model, "training_", None)
        if isinstance(training, dict) and "steps" in training:
            extras.append(Extra("steps", f"{training['steps']:,} ({training.get('stop_reason', '-')})"))
        # samples: the comparison's own draws (their figures), and for the tree models five more checked here
        start = time.perf_counter()
        drawn = adapter.sample(dataset, args.seed)
        sample_seconds = time.perf_counter() - start
        figures = (adapter.extras(dataset) or {}).get("figures")
        if figures:
            extras.append(Extra("compare draws", figures.get("note", "")))
        if family == "tree":
            start = time.perf_counter()
            sources = model.sample(args.samples, random_state=args.seed)
            seconds = time.perf_counter() - start
            rejected = int(getattr(model, "last_sample_rejections_", 0))
            good = _check_programs(sources)
            lengths = [len(s.splitlines()) for s in sources]
            # shown: the shortest sample of at least three lines (an empty module is a valid draw, but says little)
            shown = min((s for s in sources if len(s.splitlines()) >= 3), key=len, default=max(sources, key=len))
            extras.append(Extra("samples: kept / rejected / re-parse", f"{len(sources)} / {rejected} / {good}",
                                flagged=good != len(sources)))
            notes.append(f"{adapter.spec}: {len(sources)} samples in {seconds:.1f} s ({rejected} draws rejected: too "
                         f"large or not valid Python), {lengths} lines; {good} of {len(sources)} parse, unparse and "
                         f"parse again to the same tree. The shortest of at least three lines:"
                         f"\n\n```python\n{shown[:800]}\n```")
        else:
            notes.append(f"{adapter.spec}: the comparison's draws took {sample_seconds:.1f} s"
                         + (f"; {figures['note']}" if figures else ""))
        del drawn
        measurement = Measurement(name="genlab", median_s=fit_seconds, min_s=fit_seconds, peak_mib=max_rss_mib(),
                                  quality=score.bits_per_unit, times_s=(fit_seconds,))
        comparison = Comparison(case=adapter.spec, genlab=measurement, peer=None, extras=extras)
        if adapter.notes:
            notes.append(f"{adapter.spec}: " + "; ".join(dict.fromkeys(adapter.notes)))
        # the issue's acceptance: the neural tree model beats the grandparent baseline (here: the grandparent count
        # model on the same decisions of the same split)
        if adapter.params.get("kind") == "neural" and not quick and score.bits_per_unit >= _grandparent_row(
                comparisons):
            comparison.flags.append("the neural tree model does not beat the grandparent count model")
        comparisons.append(comparison)
        # progress on stderr as each row finishes (the report is printed at the end)
        print(f"[bench trees ast] {adapter.spec}: {score.bits_per_unit:.4f} bits per node, fit {fit_seconds:.0f} s "
              f"({fit_cpu:.0f} CPU s)", file=sys.stderr, flush=True)

    notes.insert(0, (
        f"data: {data} (genlab.compare.data.load_dataset, split by a hash of each file's path, 10% held out; read and "
        f"linearised in {load_seconds:.0f} s): {info['train_files']:,} training / {info['test_files']:,} held-out "
        f"files ({info['skipped_files']} skipped), {info['train_nodes']:,} / {info['test_nodes']:,} nodes, "
        f"{info['train_decisions']:,} / {info['test_decisions']:,} decisions; value vocabulary "
        f"{info['value_vocabulary']:,} tokens (values seen at least {info['value_min_count']} times), "
        f"{info['n_tokens']:,} decision tokens in all"))
    notes.insert(1, (
        "quality: bits per node = -log2 p(whole held-out file) / its nodes, over every decision (types, <none> / "
        "<end>, values), summed over the held-out files; the same decisions for every row (genlab compare's "
        "scoring). 'valid trees only': the model is a distribution over the trees the grammar allows; the sequence "
        "models put part of their mass on token sequences that are no tree"))
    notes.insert(2, "node-type baselines of the issue (561 files, bits per node type) beside this split's "
                 "(type decisions only; Witten-Bell interpolation down to uniform over the node types): " + "; ".join(
                     f"{name} {ISSUE_BASELINES[name]:.2f} / {baselines[name]:.3f}" for name in ISSUE_BASELINES)
                 + ". The count and neural rows' 'types' share is the same quantity but joint with the choice of "
                 "'there is a node' (a list's <end> is priced in the structure share)")
    notes.append(f"time: the fit's wall-clock seconds; fit CPU s: this process's CPU seconds (user + system) over "
                 f"the fit. Budgets: neural tree model {args.neural_seconds:g} s, transformer "
                 f"{args.transformer_seconds:g} s of wall-clock training (max_time), on a machine shared with other "
                 "work (the load averages below)")
    notes.append(f"load average at the end: {load_average_text()}")
    return BenchmarkReport(benchmark=f"{NAME} ast", title="bits per node on the standard library's syntax trees",
                           genlab_label="genlab", peer_label="-", quality_name="bits per node",
                           parameters={"quick": str(quick), "seed": str(args.seed), "data": data,
                                       "load average at start": load_at_start},
                           comparisons=comparisons, notes=notes)


def _grandparent_row(comparisons: list[Comparison]) -> float:
    """Bits per node of the grandparent count model's row so far (inf when there is none)."""
    for c in comparisons:
        if c.case == "tree:context=grandparent":
            return float(c.genlab.quality)
    return math.inf


# --------------------------------------------------------------------------------------------------
# Command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS), help="which parts to run")
    parser.add_argument("--seed", type=int, default=0, help="seed of the grammar's word probabilities and of the "
                        "sentences (seed + 1: parse set, + 2: EM training set, + 3: EM held-out set)")
    parser.add_argument("--parse-sentences", type=int, default=200, metavar="N",
                        help="sentences parsed in the parse part (default 200; --quick: 30)")
    parser.add_argument("--min-length", type=int, default=10, help="shortest sentence in words (default 10)")
    parser.add_argument("--max-length", type=int, default=25, help="longest sentence in words (default 25)")
    parser.add_argument("--peer-repeats", type=int, default=2, metavar="N",
                        help="timed passes of NLTK's parsers (at most --repeats; default 2)")
    parser.add_argument("--tol", type=float, default=1e-8,
                        help="largest log-probability difference (nats) accepted between the sides (default 1e-8)")
    parser.add_argument("--em-sentences", type=int, default=5000, metavar="N",
                        help="EM training sentences from the benchmark grammar (default 5000; --quick: 200)")
    parser.add_argument("--em-iter", type=int, default=100, help="EM iterations on the benchmark grammar (default 100)")
    parser.add_argument("--em-toy-sentences", type=int, default=2000, metavar="N",
                        help="EM training sentences from the toy grammar (default 2000)")
    parser.add_argument("--em-toy-iter", type=int, default=200, help="EM iterations on the toy grammar (default 200)")
    parser.add_argument("--em-starts", type=int, default=3, help="random starts per grammar (default 3; --quick: 1)")
    parser.add_argument("--em-tol", type=float, default=1e-7,
                        help="EM stops when the log-likelihood per token changes less (default 1e-7)")
    parser.add_argument("--ast-data", default="python-stdlib-all",
                        help="syntax-tree data of the ast part, as genlab compare names it (default python-stdlib-all, "
                        "the whole standard library; --quick: python-stdlib, 120 files)")
    parser.add_argument("--neural-seconds", type=float, default=600.0,
                        help="training seconds of the neural tree model (default 600; --quick: 20)")
    parser.add_argument("--transformer-seconds", type=float, default=600.0,
                        help="training seconds of the transformer on the token sequences (default 600; --quick: 20)")
    parser.add_argument("--transformer-preset", default="tiny",
                        help="the transformer's preset (default tiny, genlab compare's default for trees: scoring the "
                        "whole library's held-out files with a larger one takes over 20 minutes on 2 busy cores)")
    parser.add_argument("--markov-orders", type=int, nargs="+", default=[3, 6],
                        help="orders of the Markov chains on the token sequences (default 3 6)")
    parser.add_argument("--ast-models", nargs="+", default=None, metavar="SPEC",
                        help="genlab compare specs of the ast part (default: pcfg, the count tree model with each "
                        "context, the neural tree model, the Markov chains and the transformer)")
    parser.add_argument("--samples", type=int, default=5, help="samples drawn and checked per tree model (default 5)")


def run(args: argparse.Namespace) -> list[BenchmarkReport]:
    """The parts named by ``--parts``, one report each."""
    reports = []
    if "parse" in args.parts:
        reports.append(run_parse(args))
    if "em" in args.parts:
        reports.append(run_em(args))
    if "ast" in args.parts:
        reports.append(run_ast(args))
    return reports

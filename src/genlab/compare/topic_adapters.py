"""``genlab compare`` adapter for topic models: LDA on word-unit text, each chunk a document, scored per word."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from genlab.compare.registry import Adapter, EMBudget, Progress, _positive_int, register_adapter

__all__ = ["LDAAdapter"]


# -- topic models ---------------------------------------------------------------------------------------------------
@register_adapter
class LDAAdapter(Adapter):
    """``lda:topics=K,iter=M,particles=R``: :class:`genlab.topics.LDA` on word-unit text, scored per word.

    **Documents.** The training words cut into pieces of the held-out chunk length (64 words): each piece is one
    document, so the model learns topic proportions at the scale at which it is scored (each held-out chunk is one
    document too). Fitted by batch variational Bayes (``iter`` iterations at most, or until the budget ends: the
    learning curve is the evidence lower bound per word, in bits, after every iteration).

    **Words.** The terms are the distinct training words (case and punctuation kept, exactly the units the Markov
    chain scores) plus one ``<unk>`` term with no training count: variational Bayes gives it the topic-word prior's
    mass, so an unseen held-out word costs ``-log p(<unk>)``, the rule of the other text models.

    **Score: the left-to-right estimate** (Wallach, Murray, Salakhutdinov & Mimno 2009, "Evaluation methods for
    topic models", algorithm 3). LDA ignores word order, but the probability of a chunk is the product of the
    sequential predictions ``p(w_i | w_<i)`` of its words, and these are what a sequence model is judged on: with
    ``R`` particles, before predicting word i each particle resamples the topic of every earlier word of the chunk
    (one Gibbs sweep over the prefix, given the fitted topics and ``alpha``), so the chunk's topic proportions are
    re-estimated from the words before each position; ``p(w_i | w_<i)`` is the particles' mean of
    ``sum_k p(w_i | k) (n_k + alpha_k) / (i - 1 + sum alpha)``. log p(chunk) is the sum of the logs. It is a
    stochastic estimate (seeded: the same seed gives the same figure), which approaches the exact value as R grows;
    the cost is O(R K n^2) per chunk of n words.
    """

    families = ("lda",)
    units = ("word",)
    options: ClassVar[dict[str, tuple[Any, Callable[[Any], Any], str]]] = {
        "topics": (10, _positive_int, "the number of topics, an integer >= 1"),
        "iter": (50, _positive_int, "the most variational EM iterations, an integer >= 1"),
        "particles": (10, _positive_int, "particles of the left-to-right estimate, an integer >= 1"),
    }
    min_seconds = 0.1
    history_x = "seconds"

    def fit(self, dataset: Any, budget: float, progress: Progress) -> None:
        """Fit LDA by batch variational Bayes on the training documents (a word-count matrix), within the budget."""
        import scipy.sparse as sp

        from genlab.topics import LDA

        docs = dataset.train_chunks()
        self.symbols_ = sorted({w for doc in docs for w in doc})
        self._ids = {w: i for i, w in enumerate(self.symbols_)}
        rows = np.repeat(np.arange(len(docs)), [len(d) for d in docs])
        cols = np.array([self._ids[w] for doc in docs for w in doc], dtype=np.int64)
        counts = sp.csr_matrix((np.ones(cols.size), (rows, cols)), shape=(len(docs), len(self.symbols_) + 1))
        counts.sum_duplicates()
        progress(f"variational Bayes on {len(docs)} documents")
        model = LDA(self.params["topics"], max_iter=self.params["iter"], random_state=self.random_state)
        # the objective is the evidence lower bound per word already: one unit
        model.fit(counts, callback=EMBudget(self, budget, 1, "word", progress, self.params["iter"], model.tol))
        self.model = model

    def _words(self, chunks: list[Any]) -> tuple[np.ndarray, np.ndarray]:
        unk = len(self.symbols_)
        words = np.array([self._ids.get(w, unk) for chunk in chunks for w in chunk], dtype=np.int64)
        token_ptr = np.concatenate([[0], np.cumsum([len(c) for c in chunks])]).astype(np.int64)
        return token_ptr, words

    def chunk_log_probs(self, chunks: list[Any]) -> np.ndarray:
        """Log-probability of each held-out document in nats by the left-to-right estimate (Wallach et al. 2009,
        ``particles`` particles).
        """
        from genlab.topics.gibbs import left_to_right

        token_ptr, words = self._words(chunks)
        return left_to_right(token_ptr, words, self.model.topic_word_, self.model.doc_topic_prior_,
                             self.params["particles"], self.random_state)

    @property
    def n_parameters(self) -> int:
        # each topic's word distribution (V - 1 free values over V terms with <unk>); alpha and eta are fixed
        """Each topic's word distribution: ``n_topics * (V - 1)`` values (the priors are fixed)."""
        k, v = self.model.components_.shape
        return k * (v - 1)

    def _symbol(self, i: int) -> Any:
        return self.symbols_[i] if i < len(self.symbols_) else None

    def sample(self, dataset: Any, random_state: int) -> dict[str, Any]:
        drawn = self.model.sample(1, doc_length=64, random_state=random_state)
        units = [self._symbol(int(i)) for i in drawn.documents[0]]
        return {"text": dataset.render(units), "units": len(units)}

    def latent_summary(self, dataset: Any) -> list[dict[str, Any]]:
        """Per topic: its share of the training words (expected counts) and its eight most probable words."""
        topic_word = self.model.topic_word_
        counts = np.maximum(self.model.components_ - self.model.topic_word_prior_, 0.0).sum(axis=1)
        share = counts / counts.sum() if counts.sum() > 0 else np.full(len(counts), 1.0 / len(counts))
        summary = []
        for k in np.argsort(-share, kind="stable"):
            top = np.argsort(-topic_word[k], kind="stable")[:8]
            summary.append({
                "state": int(k),
                "occupancy": float(share[k]),
                "top": [(dataset.render([self._symbol(int(i))]), float(topic_word[k, i])) for i in top],
            })
        return summary

    def save(self, stem: str) -> list[str]:
        paths = super().save(stem)
        vocab = stem + ".vocabulary.json"  # term j of the model is symbols[j]; the last term is <unk>
        with open(vocab, "w", encoding="utf-8") as handle:
            json.dump({"unit": "word", "symbols": self.symbols_, "unk_id": len(self.symbols_)}, handle,
                      ensure_ascii=False)
        return [*paths, vocab]

"""``TextHMM``: a categorical HMM of text that keeps its vocabulary, so its model file scores and samples text.

A :class:`~genlab.hmm.CategoricalHMM` sees integer symbols; text needs the map from characters (or words) to those
symbols, and a model file without it cannot score text (issue 17: the demo's text HMM kept it in a side file).
:class:`TextHMM` holds both: the units seen in training (``symbols_``, sorted) with one more symbol, ``<unk>``, for
every unit not seen in training, and the fitted HMM over those ids (``hmm_``). It is a model of the ``"text"`` data
kind, like :class:`~genlab.sequence.MarkovChain`: ``genlab score`` reads a text file with it, ``genlab sample``
continues a prompt through the one decoding pipeline (:class:`~genlab.decoding.Autoregressive`).

Unknown units: EM runs with a Dirichlet prior of ``1 + pseudocount`` on every emission row, so each state gives
``<unk>`` (and every unit) a probability of at least about ``pseudocount`` over its expected counts, and an unseen
unit costs ``-log p(<unk>)``: the rule of the n-gram models and the neural char tokenizer; each call that meets
unseen units gives one :class:`~genlab.sequence.vocabulary.UnknownTokenWarning`. ``<unk>`` is never
generated (it stands for no particular unit).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from genlab._model_schema import FileCheck, rule
from genlab.base import GenerativeModel, check_is_fitted
from genlab.decoding import Autoregressive, Decoder
from genlab.errors import DataError, ModelFileError, ParameterError
from genlab.hmm.categorical import CategoricalHMM
from genlab.sequence.vocabulary import note_unknown_tokens, one_unknown_token_notice

__all__ = ["TextHMM"]

_UNITS = ("char", "word")


class _Context:
    """Each row's predictive distribution of the next hidden state, filtered over the prompt and the output."""

    def __init__(self, model: TextHMM, prompt: Sequence[int], rows: int) -> None:
        hmm = model.hmm_
        self.transmat = np.asarray(hmm.transmat_, dtype=np.float64)
        self.emission = np.asarray(hmm.emissionprob_, dtype=np.float64)  # (K, M)
        state = np.asarray(hmm.startprob_, dtype=np.float64)  # p(z_1): nothing observed yet
        for token in prompt:
            state = self._advance(state[None, :], np.array([token]))[0]
        self.next_state = np.repeat(state[None, :], rows, axis=0)  # (rows, K): p(z_{t+1} | x_1..t)

    def _advance(self, next_state: np.ndarray, tokens: np.ndarray) -> np.ndarray:
        belief = next_state * self.emission[:, tokens].T  # p(z_t, x_t | x_<t), (rows, K)
        belief /= np.maximum(belief.sum(axis=1, keepdims=True), np.finfo(np.float64).tiny)
        return belief @ self.transmat

    def next_scores(self) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(self.next_state @ self.emission)  # (rows, M): log p(x_{t+1} | x_1..t)

    def append(self, tokens: np.ndarray) -> None:
        self.next_state = self._advance(self.next_state, np.asarray(tokens, dtype=np.int64))

    def reorder(self, index: np.ndarray) -> None:
        self.next_state = self.next_state[index]


class _Detokenizer:
    """Ids to characters joined into a ``str`` (``unit="char"``) or to a list of words."""

    def __init__(self, symbols: Sequence[str], text: bool) -> None:
        self.symbols = list(symbols)
        self.text = text

    def decode(self, ids: Sequence[int]) -> Any:
        units = [self.symbols[i] for i in ids]
        return "".join(units) if self.text else units

    def stream_decoder(self) -> _Detokenizer:
        return self

    def push(self, token: int) -> Any:
        unit = self.symbols[int(token)]
        return unit if self.text else [unit]


class TextHMM(Autoregressive, GenerativeModel):
    """A hidden Markov model of text with categorical emissions over characters or words, vocabulary included.

    Parameters
    ----------
    n_states : int, default=16
        Number of hidden states K.
    unit : {"char", "word"}, default="char"
        What one emitted symbol is: a character (``fit`` takes a string or a list of strings), or a word (``fit``
        takes a list of sentences, each a list of words).
    pseudocount : float, default=0.01
        Added to every emission count (the Dirichlet prior ``1 + pseudocount`` of the emission rows), so that
        no unit, ``<unk>`` included, has probability zero.
    n_iter : int, default=100
        Most EM iterations.
    tol : float, default=1e-2
        EM stops when the training log-likelihood changes by less (nats, in total).
    random_state : None, int or numpy Generator
        Seeds the initial emissions.
    implementation : {"scaling", "log"}, default="scaling"
        Forward-backward with scaling (faster) or in log space (:class:`~genlab.hmm.CategoricalHMM`).

    Attributes
    ----------
    symbols_ : list of str
        The units seen in training, sorted; unit ``symbols_[i]`` is symbol ``i`` of ``hmm_``, and symbol
        ``len(symbols_)`` is ``<unk>``.
    hmm_ : CategoricalHMM
        The fitted HMM over symbol ids.
    text_ : bool
        Whether the units are characters (a text model: samples are strings).
    models_end_ : bool
        Always False: a sequence's end is not modelled (``score`` counts its units only).
    """

    score_unit: ClassVar[str] = "character"
    data_kind: ClassVar[str] = "text"

    def __init__(
        self,
        n_states: int = 16,
        *,
        unit: str = "char",
        pseudocount: float = 0.01,
        n_iter: int = 100,
        tol: float = 1e-2,
        random_state: Any = None,
        implementation: str = "scaling",
    ) -> None:
        self.n_states = n_states
        self.unit = unit
        self.pseudocount = pseudocount
        self.n_iter = n_iter
        self.tol = tol
        self.random_state = random_state
        self.implementation = implementation

    # -- data ------------------------------------------------------------------------------------------------------
    def _sequences(self, X: Any) -> list[Sequence[str]]:
        """``X`` as a list of unit sequences: a string or strings (characters), or sentences of words."""
        if self.unit not in _UNITS:
            raise ParameterError(f"unit must be one of {_UNITS}; got {self.unit!r}.")
        if self.unit == "char":
            if isinstance(X, str):
                return [X]
            if isinstance(X, Sequence) and all(isinstance(text, str) for text in X):
                return list(X)
            raise DataError("a TextHMM of characters takes a string or a list of strings.")
        if isinstance(X, str) or not isinstance(X, Sequence) or not all(
            isinstance(words, Sequence) and not isinstance(words, str) and all(isinstance(w, str) for w in words)
            for words in X
        ):
            raise DataError("a TextHMM of words takes a list of sentences, each a list of words (strings).")
        return list(X)

    def _encode(self, X: Any, symbols: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Symbol ids (n_units, 1) and the lengths of the non-empty sequences; units not in ``symbols`` (default:
        ``symbols_``) are ``<unk>``."""
        symbols = self.symbols_ if symbols is None else symbols
        sequences = [seq for seq in self._sequences(X) if len(seq)]
        if not sequences:
            raise DataError("there is no text to model: every sequence is empty.")
        ids = {unit: i for i, unit in enumerate(symbols)}
        unknown = len(symbols)
        flat = [ids.get(unit, unknown) for seq in sequences for unit in seq]
        # the notice every family with a vocabulary gives, once per public call (genlab.sequence.vocabulary)
        note_unknown_tokens((unit for seq in sequences for unit in seq if unit not in ids), text=self.unit == "char")
        return np.asarray(flat, dtype=np.int64)[:, None], np.array([len(seq) for seq in sequences], dtype=np.int64)

    # -- fitting ---------------------------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None, *, callback: Any = None) -> TextHMM:
        """Learn the vocabulary of ``X`` and fit the HMM over it by Baum-Welch EM.

        Parameters
        ----------
        X : str, list of str, or list of lists of str
            Text (``unit="char"``) or sentences of words (``unit="word"``).
        y : ignored
        callback : callable, optional
            Called after every EM iteration with a :class:`genlab.learn.EMProgress`; returning ``True`` stops.

        Returns
        -------
        self
        """
        if not isinstance(self.pseudocount, numbers.Real) or not self.pseudocount > 0:
            raise ParameterError(f"pseudocount must be a number > 0; got {self.pseudocount!r}.")
        sequences = self._sequences(X)
        symbols = sorted({unit for seq in sequences for unit in seq})
        X_ids, lengths = self._encode(sequences, symbols)
        hmm = CategoricalHMM(
            self.n_states, n_features=len(symbols) + 1, emissionprob_prior=1.0 + float(self.pseudocount),
            n_iter=self.n_iter, tol=self.tol, random_state=self.random_state, implementation=self.implementation,
        )  # fmt: skip
        hmm.fit(X_ids, lengths=lengths, callback=callback)
        # set only once everything succeeded: a failed fit leaves a fitted model as it was
        self.symbols_ = symbols
        self.hmm_ = hmm
        self.text_ = self.unit == "char"
        self.models_end_ = False
        return self

    @classmethod
    def from_categorical_hmm(cls, hmm: CategoricalHMM, symbols: Sequence[str], *, unit: str = "char") -> TextHMM:
        """A TextHMM of a fitted :class:`CategoricalHMM` over the ids of ``symbols`` (``<unk>``: the last id).

        For an HMM fitted on ids directly (``genlab compare``'s text HMM): its model file then carries the
        vocabulary and scores and samples text.
        """
        check_is_fitted(hmm, ["emissionprob_"])
        n_symbols = int(np.shape(hmm.emissionprob_)[1])
        if n_symbols != len(symbols) + 1:
            raise ParameterError(
                f"the HMM emits {n_symbols} symbols but {len(symbols)} units were given; it needs one more symbol, "
                "the last, for <unk>."
            )
        model = cls(hmm.n_states, unit=unit, n_iter=hmm.n_iter, tol=hmm.tol, random_state=hmm.random_state,
                    implementation=hmm.implementation)  # fmt: skip
        prior = np.asarray(hmm.emissionprob_prior, dtype=np.float64)
        if prior.ndim == 0 and float(prior) > 1.0:
            model.pseudocount = float(prior) - 1.0
        model.symbols_ = [str(unit_) for unit_ in symbols]
        model.hmm_ = hmm
        model.text_ = unit == "char"
        model.models_end_ = False
        return model

    # -- scoring ---------------------------------------------------------------------------------------------------
    @one_unknown_token_notice
    def log_prob(self, X: Any) -> np.ndarray:
        """Log-probability in nats of each non-empty sequence of ``X``; shape (n_sequences,)."""
        check_is_fitted(self, "hmm_")
        X_ids, lengths = self._encode(X)
        return self.hmm_.log_prob(X_ids, lengths)

    def n_units(self, X: Any) -> int:
        """The units (characters or words) in ``X``: what one unit of :meth:`score` is."""
        return int(sum(len(seq) for seq in self._sequences(X)))

    @one_unknown_token_notice
    def score(self, X: Any, y: Any = None) -> float:
        """Mean log-probability per character (word) in nats (higher is better)."""
        return float(np.sum(self.log_prob(X)) / self.n_units(X))

    # -- generation ------------------------------------------------------------------------------------------------
    def _decoder(self, prompt: Any, use_cache: bool) -> Decoder:
        """The pipeline's view: next-unit log-probabilities from the state distribution filtered over the context."""
        check_is_fitted(self, "hmm_")
        units = list(prompt) if isinstance(prompt, str) else list(prompt or [])
        ids = {unit: i for i, unit in enumerate(self.symbols_)}
        prompt_ids = [ids.get(unit, len(self.symbols_)) for unit in units]
        note_unknown_tokens((unit for unit in units if unit not in ids), text=bool(self.text_))
        return Decoder(
            prompt=prompt_ids,
            start=lambda rows: _Context(self, prompt_ids, rows),
            detokenizer=_Detokenizer([*self.symbols_, ""], bool(self.text_)),
            banned=(len(self.symbols_),),  # <unk> stands for no unit
        )

    # -- persistence -----------------------------------------------------------------------------------------------
    def _get_state(self) -> dict[str, Any]:
        return {
            "params": self.get_params(deep=False),
            "fitted": {
                "symbols_": list(self.symbols_),
                "text_": bool(self.text_),
                "models_end_": False,
                "hmm_": {"class": "CategoricalHMM", "params": self.hmm_.get_params(deep=False),
                         "fitted": self.hmm_._get_state()["fitted"]},
            },
        }

    def _set_state(self, fitted: dict[str, Any]) -> None:
        record = fitted.get("hmm_")
        if not isinstance(record, dict) or record.get("class") != "CategoricalHMM":
            raise ModelFileError("the file's TextHMM holds no CategoricalHMM record (hmm_).")
        try:
            hmm = CategoricalHMM(**record["params"])
            hmm._set_state(record["fitted"])
        except (KeyError, TypeError) as exc:
            raise ModelFileError(f"the file's TextHMM cannot rebuild its HMM: {exc}.") from None
        symbols = fitted.get("symbols_")
        if not isinstance(symbols, list) or not all(isinstance(unit, str) for unit in symbols):
            raise ModelFileError("the file's TextHMM vocabulary (symbols_) is not a list of strings.")
        if np.shape(hmm.emissionprob_)[1] != len(symbols) + 1:
            raise ModelFileError("the file's TextHMM vocabulary does not match its HMM's number of symbols.")
        self.hmm_ = hmm
        self.symbols_ = symbols
        self.text_ = bool(fitted.get("text_", True))
        self.models_end_ = False


@rule("TextHMM")
def _file_rule(model: TextHMM, check: FileCheck) -> None:
    """What a TextHMM file must hold before it is built (:mod:`genlab._model_schema`): a vocabulary of distinct
    strings and a CategoricalHMM record, checked whole, emitting one symbol more than the vocabulary (``<unk>``)."""
    symbols = check.strings("symbols_")  # distinct strings
    check.scalar("text_", "bool")
    record = check.fitted.get("hmm_")
    check.model("hmm_", record)
    if record["class"] != "CategoricalHMM":
        check.fail("hmm_", f"must be a CategoricalHMM record; got {record['class']!r:.40}.")
    emission = record["fitted"].get("emissionprob_")
    if np.ndim(emission) != 2 or np.shape(emission)[1] != len(symbols) + 1:
        check.fail("hmm_.emissionprob_", f"must have one column per unit of symbols_ and one for <unk> "
                   f"({len(symbols) + 1}).")

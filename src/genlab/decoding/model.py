"""``Autoregressive``: the one ``generate`` / ``sample`` interface of genlab's autoregressive models.

A model that predicts the next token from the ones before it (an n-gram :class:`~genlab.sequence.MarkovChain`, a
neural :class:`~genlab.neural.LanguageModel`, the decoders to come) inherits this mixin and implements one hook,
``_decoder(prompt, use_cache) -> Decoder`` (:mod:`genlab.decoding.search`): its prompt as ids, a batch of decoding
contexts that hand over next-token scores, and a detokenizer. The mixin supplies the public methods, so every such
model takes the same decoding options and ``genlab sample`` passes them on alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from genlab.base import check_is_fitted
from genlab.decoding.options import DecodingOptions
from genlab.decoding.search import Decoder
from genlab.decoding.search import generate as run_generation
from genlab.errors import ParameterError
from genlab.utils.validation import check_positive_int

__all__ = ["Autoregressive"]


class Autoregressive:
    """Mixin: :meth:`generate` and :meth:`sample` through the one decoding pipeline (:mod:`genlab.decoding`)."""

    def _decoder(self, prompt: Any, use_cache: bool) -> Decoder:  # pragma: no cover - implemented by each model
        raise NotImplementedError

    def generate(
        self,
        prompt: Any = "",
        max_new_tokens: int = 100,
        *,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        min_p: float | None = None,
        repetition_penalty: float = 1.0,
        stop: Any = None,
        num_return_sequences: int = 1,
        num_beams: int = 1,
        length_penalty: float = 1.0,
        use_cache: bool = True,
        stream: bool = False,
        random_state: Any = None,
        min_new_tokens: int = 0,
        no_repeat_ngram_size: int = 0,
        length_normalization: str = "power",
    ) -> Any:
        """Continue ``prompt``; returns the new part only (without the prompt).

        Parameters
        ----------
        prompt : str or sequence of tokens, default=""
            What to continue (text for text models; unknown tokens are ``<unk>``).
        max_new_tokens : int, default=100
            The most tokens to generate; a model with an end token (n-gram ``</s>``) may stop earlier.
        temperature : float, default=1.0
            Scores are divided by it (below 1 sharper, above 1 flatter); 0 is greedy decoding.
        top_k, top_p, min_p : optional
            Truncation before sampling: the ``top_k`` likeliest tokens; the smallest set of likeliest tokens
            whose probability reaches ``top_p`` in (0, 1]; tokens at least ``min_p`` times as likely as the most
            likely one.
        repetition_penalty : float, default=1.0
            CTRL's penalty on tokens already in the prompt or the output (> 1: fewer repeats).
        stop : str, token, or list of them, optional
            Text models: stop strings; token models: stop tokens. The output ends before the first occurrence.
        num_return_sequences : int, default=1
            Independent samples (or the best beams with ``num_beams > 1``).
        num_beams : int, default=1
            Beam search when > 1 (length-normalised with ``length_penalty``); sampling options are ignored.
        length_penalty : float, default=1.0
            The exponent of beam search's length normalisation (0: rank by log-probability).
        use_cache : bool, default=True
            Reuse the model's state over the context (neural backbones: KV cache, recurrent state); False
            recomputes it every step. Models without a state (n-grams) ignore it.
        stream : bool, default=False
            Return an iterator of output pieces as they are generated (one sequence, no beam search).
        random_state : None, int or numpy Generator
            The same seed gives the same output.
        min_new_tokens : int, default=0
            A model with an end token cannot end before this many tokens (stop strings still apply).
        no_repeat_ngram_size : int, default=0
            When > 0, no n-gram of this size occurs twice in the prompt and output together.
        length_normalization : {"power", "gnmt"}, default="power"
            Beam search's ranking: ``log p / length ** length_penalty`` or GNMT's
            ``log p / ((5 + |Y|) / 6) ** length_penalty`` (end token not counted).

        Returns
        -------
        str or list of tokens; a list of them (``num_return_sequences > 1``); or an iterator of pieces (``stream``)

        Notes
        -----
        The scores pass through the logits processors in one order (:mod:`genlab.decoding.processors`): banned
        tokens, repetition penalty, temperature, top-k, top-p, min-p; then a token is drawn (or the argmax taken).
        """
        check_is_fitted(self)
        options = DecodingOptions(
            max_new_tokens=max_new_tokens, temperature=temperature, top_k=top_k, top_p=top_p, min_p=min_p,
            repetition_penalty=repetition_penalty, stop=stop, num_return_sequences=num_return_sequences,
            num_beams=num_beams, length_penalty=length_penalty, use_cache=use_cache, min_new_tokens=min_new_tokens,
            no_repeat_ngram_size=no_repeat_ngram_size, length_normalization=length_normalization,
        )
        if stream and (num_beams > 1 or num_return_sequences > 1):
            raise ParameterError("streaming produces one sequence: use num_beams=1 and num_return_sequences=1.")
        decoder = self._decoder("" if prompt is None else prompt, use_cache)
        outputs = run_generation(decoder, options, random_state, stream=stream)
        if stream or num_return_sequences > 1:
            return outputs
        return outputs[0]

    def sample(
        self,
        n_samples: int = 1,
        *,
        n_tokens: int = 100,
        prompt: Any = None,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        min_p: float | None = None,
        repetition_penalty: float = 1.0,
        stop: Any = None,
        stream: bool = False,
        random_state: Any = None,
    ) -> list[Any] | Iterator[Any]:
        """Draw ``n_samples`` sequences of at most ``n_tokens`` tokens after ``prompt``, in the form ``fit`` takes.

        A list of sequences - texts (``str``) for a text model, token lists otherwise - each the new part only;
        :meth:`generate` with ``num_return_sequences=n_samples`` and the same options and seed gives the same
        sequences. With ``stream=True`` (``n_samples=1`` only), an iterator of the one sequence's pieces.

        Parameters
        ----------
        n_samples : int, default=1
            Number of sequences.
        n_tokens : int, default=100
            The most new tokens per sequence (:meth:`generate`'s ``max_new_tokens``).
        prompt : str or sequence of tokens, optional
            What to continue (default: nothing).
        temperature : float, default=1.0
            Scores are divided by it (below 1 sharper, above 1 flatter); 0 is greedy decoding.
        top_k : int, optional
            Sample only from the ``top_k`` likeliest tokens.
        top_p : float, optional
            Sample only from the smallest set of likeliest tokens whose probability reaches ``top_p`` in (0, 1].
        min_p : float, optional
            Sample only from tokens at least ``min_p`` times as likely as the most likely one.
        repetition_penalty : float, default=1.0
            CTRL's penalty on tokens already in the prompt or the output (> 1: fewer repeats).
        stop : str, token, or list of them, optional
            Text models: stop strings; token models: stop tokens. The output ends before the first occurrence.
        stream : bool, default=False
            Return an iterator of output pieces as they are generated (needs ``n_samples=1``).
        random_state : None, int or numpy.random.Generator, optional
            The same seed gives the same output.

        Returns
        -------
        list or iterator
            A list of ``n_samples`` sequences (``str`` for a text model, token lists otherwise), or with
            ``stream=True`` an iterator of the one sequence's pieces.

        Raises
        ------
        ParameterError
            ``stream=True`` with ``n_samples`` other than 1.
        """
        n_samples = check_positive_int(n_samples, "n_samples")
        n_tokens = check_positive_int(n_tokens, "n_tokens", minimum=0)
        if stream and n_samples != 1:
            raise ParameterError("streaming produces one sequence: use n_samples=1.")
        drawn = self.generate(prompt, n_tokens, temperature=temperature, top_k=top_k, top_p=top_p, min_p=min_p,
                              repetition_penalty=repetition_penalty, stop=stop, num_return_sequences=n_samples,
                              stream=stream, random_state=random_state)
        if stream:
            return drawn
        return drawn if n_samples > 1 else [drawn]


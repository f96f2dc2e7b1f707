"""``genlab compare`` adapters for captioned images: captioners against models of the captions alone.

A captions data set (:mod:`genlab.compare.data`) holds training and held-out ``(image, caption)`` pairs; every
model scores each held-out *caption* in nats, and the comparison divides by the held-out caption characters: bits
per caption character, ``-sum log p(caption | image) / (ln 2 * characters)`` for a captioner and the same without
the image for a model of the captions alone - the definition of every genlab text model
(:func:`genlab.neural.language_model.text_bits_per_character`). Two kinds of model take part, the image twin of
the pairs kind (:mod:`genlab.compare.pair_adapters`):

* **conditional**: :class:`genlab.Captioner` (``captioner``; ``mode=attention`` or ``pooled``, ``encoder=resnet``
  or ``vgg``), which also writes a caption for every held-out image (scored against the references with BLEU-4,
  CIDEr and, for captions of the scene grammar, attribute exact match);
* **unconditional** models of the captions: the Markov chain (``markov``) and the neural language models
  (``transformer``, ``lstm``, ``gru``, ``rnn``, ``cnn``) of the pairs kind, which never see an image.

Each pays for where its caption ends: the captioner for its end-of-sequence token, the Markov chain for its
``</s>``, the language model for a newline after the caption (:data:`~genlab.compare.pair_adapters.END_OF_TARGET`).
The difference between the best conditional and the best unconditional model's bits per caption character is then
the information the image gives about its caption, as far as the models capture it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np

from genlab.compare.pair_adapters import (
    LanguageModelPairsAdapter,
    MarkovPairsAdapter,
    _fit_in_budget,
    _needs_torch,
)
from genlab.compare.registry import (
    NEURAL_OPTIONS,
    Adapter,
    Progress,
    _choice,
    neural_schedule,
    register_adapter,
)
from genlab.errors import DataError, GenlabError

__all__ = ["CaptionerAdapter", "LanguageModelCaptionsAdapter", "MarkovCaptionsAdapter", "caption_row_metrics"]


def _images(pairs: Sequence[tuple[np.ndarray, str]]) -> np.ndarray:
    """The images of ``(image, caption)`` pairs as one uint8 array (N, C, H, W)."""
    return np.stack([image for image, _ in pairs])


# -- conditional: the captioner -------------------------------------------------------------------------------------
@register_adapter
class CaptionerAdapter(Adapter):
    """``captioner:encoder=E,mode=M,preset=P,steps=N,lr=x,batch=B``: :class:`genlab.Captioner`.

    Trained on the training images and captions for its share of the budget (or ``steps`` optimizer steps),
    without label smoothing (the comparison is in likelihood, as for the language models). A held-out caption's
    log-probability is ``Captioner.log_prob`` (its tokens and the end given the image, exact), so the row's bits per
    caption character equal ``Captioner.bits_per_character`` on the held-out images and captions. Its caption of
    each held-out image is greedy; with ``mode=attention`` the report also shows where the decoder looked while
    writing the first captions (:meth:`attention_examples`). The decoder's positions cover the longest caption of
    the whole data set in UTF-8 bytes (a bound on its tokens), so that no held-out caption is refused for its length.
    """

    families = ("captioner",)
    kinds = ("captions",)
    conditional = True
    options: ClassVar[dict[str, tuple[Any, Callable[[Any], Any], str]]] = {
        **NEURAL_OPTIONS,
        "encoder": ("resnet", _choice("resnet", "vgg"), "one of resnet, vgg"),
        "mode": ("attention", _choice("attention", "pooled"), "one of attention, pooled"),
    }
    min_seconds = 1.0

    def fit(self, dataset: Any, budget: float, progress: Progress) -> None:
        """Train the captioner on the training (image, caption) pairs for its share of the budget or ``steps`` steps."""
        _needs_torch(self.spec)
        from genlab.vision.captioner import Captioner

        # bytes bound the tokens of every tokenizer (a BPE token holds at least one byte)
        longest = max(len(caption.encode("utf-8")) for _, caption in [*dataset.train, *dataset.chunks])
        steps = self.params["steps"]
        model = Captioner(encoder=self.params["encoder"], mode=self.params["mode"], preset=self.params["preset"],
                          max_caption_length=longest + 1, label_smoothing=0.0, device="cpu",
                          random_state=self.random_state, max_steps=steps, max_time=budget,
                          batch_size=self.params["batch"], learning_rate=self.params["lr"], **neural_schedule(steps))
        _fit_in_budget(self, model, lambda callback: model.fit(
            _images(dataset.train), [caption for _, caption in dataset.train], callback=callback), budget, progress,
            steps)

    def chunk_log_probs(self, chunks: list[Any]) -> np.ndarray:
        """``log p(caption | image)`` of each held-out pair in nats; unseen characters are scored as ``<unk>``."""
        from genlab.neural import UnknownTokenWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnknownTokenWarning)  # unseen characters are scored as <unk>: the rule
            return np.asarray(self.model.log_prob(_images(chunks), [caption for _, caption in chunks]),
                              dtype=np.float64)

    def predict(self, images: Sequence[np.ndarray]) -> list[str]:
        """The greedy caption of each image (C, H, W)."""
        return list(self.model.generate(np.stack(list(images))))

    def attention_examples(self, images: Sequence[np.ndarray], captions: Sequence[str] | None) -> dict[str, Any]:
        """Where the last decoder layer looked while writing each caption of ``images`` (mode ``attention``):
        the given ``captions``, or (None) the captioner's greedy captions, read from the ids it wrote.

        Returns
        -------
        dict
            ``{"attention": [{"tokens": list of str, "maps": nested list (n_tokens + 1, h, w)}, ...]}``, one per
            image (:class:`genlab.vision.captioner.AttentionMap`; the last map is the end of the caption); empty for
            a pooled captioner, whose decoder sees no grid.
        """
        if self.params["mode"] != "attention" or not len(images):
            return {}
        try:
            maps = self.model.attention_maps(np.stack(list(images)), None if captions is None else list(captions))
        except DataError as exc:
            # a generated caption whose text re-encodes to more tokens than the decoder has positions: the report
            # goes without the panel rather than the comparison failing after every fit
            self.notes.append(f"no attention maps: {' '.join(str(exc).split())}")
            return {}
        return {"attention": [{"tokens": list(m.tokens), "maps": np.round(m.maps, 5).tolist()} for m in maps]}

    @property
    def n_parameters(self) -> int:
        """The network's number of trainable weights."""
        return int(self.model.n_parameters_)


def caption_row_metrics(outputs: list[str], references: list[str], scene_grammar: bool,
                        notes: list[str]) -> dict[str, float] | None:
    """BLEU-4 and CIDEr of generated captions, and attribute exact match for scene captions, on the scales of
    :func:`genlab.vision.metrics.caption_metrics` (BLEU-4 and exact match in [0, 1], CIDEr-D up to 10).

    Parameters
    ----------
    outputs, references : list of str, length N
        Each held-out image's generated caption and its reference.
    scene_grammar : bool
        The references follow the scene grammar (:mod:`genlab.data.scenes`): add ``"exact_match"``.
    notes : list of str
        Gets a note (and the result is None) when the scorers are missing (``pycocoevalcap``).
    """
    try:
        from genlab.vision.metrics import caption_metrics

        metrics = {key: float(value) for key, value in caption_metrics(outputs, references).items()}
    except (ImportError, GenlabError) as exc:
        notes.append(f"no BLEU-4 / CIDEr: {' '.join(str(exc).split())}")
        return None
    if scene_grammar:
        from genlab.data.scenes import attribute_exact_match

        metrics["exact_match"] = float(attribute_exact_match(outputs, references))
    return metrics


# -- unconditional models of the captions ---------------------------------------------------------------------------
@register_adapter
class MarkovCaptionsAdapter(MarkovPairsAdapter):
    """``markov:order=N,smoothing=S``: :class:`genlab.MarkovChain` of the caption characters, images unseen.

    The pairs kind's chain (:class:`~genlab.compare.pair_adapters.MarkovPairsAdapter`) on the captions: fitted on
    the training captions, one sequence each; a held-out caption's log-probability includes the chain's ``</s>``.
    """

    families = ("markov",)
    kinds = ("captions",)


@register_adapter
class LanguageModelCaptionsAdapter(LanguageModelPairsAdapter):
    """``transformer|lstm|gru|rnn|cnn:preset=P,steps=N,lr=x,batch=B``: :class:`genlab.LanguageModel` of the
    captions, images unseen.

    The pairs kind's language model (:class:`~genlab.compare.pair_adapters.LanguageModelPairsAdapter`) on the
    captions: character tokens, each training caption followed by the end-of-caption newline, a held-out caption
    scored with its newline (its characters and its end).
    """

    families = ("transformer", "lstm", "gru", "rnn", "cnn")
    kinds = ("captions",)


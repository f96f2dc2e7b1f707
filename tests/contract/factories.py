"""One tiny-data factory per registered model class, for the contract suite (``test_contract.py``).

A :class:`Case` says how to build an unfitted model, what to fit it on, what data to score, how sampled data is
scored, and which bad inputs must raise which :mod:`genlab.errors` class. The data are tiny so that the whole
suite runs in seconds; what is checked is the contract (DESIGN.md section 1), not the quality of the fit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from genlab.errors import DataError, GenlabError

#: Classes that only load with optional dependencies (torch): their cases import them on use.
NEURAL = {"LanguageModel", "Seq2Seq", "Captioner", "SequenceDetector", "VAE", "ConditionalVAE", "Autoencoder",
          "PixelCNN", "ConditionalPixelCNN", "WaveNet", "NeuralAutoRegressive", "MaskedLanguageModel", "VQVAE",
          "NeuralTreeModel"}


@dataclasses.dataclass
class Call:
    """Positional and keyword arguments of one call."""

    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Case:
    """How the contract suite exercises one model class.

    Attributes
    ----------
    make : callable
        Returns a fresh, unfitted, configured model.
    fit : Call
        Arguments of ``fit``.
    data : Call
        Data for ``log_prob`` / ``score`` / ``n_units`` (the same arguments for all three).
    n_sample : int
        First argument of ``sample``.
    latent : bool
        Whether ``sample`` returns a :class:`genlab.base.Sample` ``(data, latent)``.
    sample_data : callable
        Turns what ``sample`` drew (its ``data`` for a latent-variable model) into a :class:`Call` of ``log_prob``.
    bad : list of (Call, error class, message pattern or None)
        Bad inputs to ``fit`` and the error each must raise (with a message matching the pattern).
    no_likelihood : bool
        The model has no likelihood (an autoencoder): ``log_prob`` raises instead.
    sample_kwargs : dict
        The condition a conditional model's ``sample`` needs (``sources=`` of an encoder-decoder); without it such
        a model's ``sample`` must raise :class:`~genlab.errors.ParameterError` saying it is conditional.
    """

    make: Callable[[], Any]
    fit: Call
    data: Call
    n_sample: int = 5
    latent: bool = False
    sample_data: Callable[[Any], Call] = lambda drawn: Call((drawn,))
    bad: list[tuple[Call, type[GenlabError], str | None]] = dataclasses.field(default_factory=list)
    no_likelihood: bool = False
    sample_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)


def _blobs(n: int = 60, d: int = 2, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.vstack([rng.normal(size=(n // 2, d)), 4.0 + rng.normal(size=(n - n // 2, d))])


def _two_state_sequence(n: int = 80, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    states = (np.arange(n) // 10) % 2
    return (3.0 * states + rng.normal(size=n))[:, None]


def _symbols(n: int = 80, n_symbols: int = 3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, n_symbols, size=(n, 1))


def _counts(n: int = 60, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.poisson([2.0, 5.0], size=(n, 2))


def _trials(n: int = 60, n_trials: int = 6, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_trials, [0.2, 0.3, 0.5], size=n)


def _ar2_series(n: int, seed: int) -> np.ndarray:
    """A stationary AR(2) series, x_t = 0.5 x_{t-1} - 0.3 x_{t-2} + e_t (roots well inside the unit circle)."""
    noise = np.random.default_rng(seed).normal(size=n + 50)
    x = np.zeros(n + 50)
    for t in range(2, n + 50):
        x[t] = 0.5 * x[t - 1] - 0.3 * x[t - 2] + noise[t]
    return x[50:, None]


def _with_nan(X: np.ndarray) -> np.ndarray:
    X = np.array(X, dtype=np.float64)
    X[3, 0] = np.nan
    return X


def _python_docs(n_characters: int = 6000) -> str:
    """Real English text every Python ships (the reference documentation behind ``help()``)."""
    from pydoc_data.topics import topics

    return "".join(topics[name] for name in sorted(topics))[:n_characters]


_TEXT = _python_docs()
#: Pairs of a toy conditional task: each target is its source reversed.
_PAIR_SOURCES = ["abc", "bca", "cab", "aab", "bbc", "cca", "abca", "cab"]
_PAIR_TARGETS = [s[::-1] for s in _PAIR_SOURCES]
_DOCUMENTS = [
    "apple banana fruit sweet fruit apple", "banana fruit apple sweet juice fruit",
    "engine wheel car road engine drive", "car road wheel engine fast drive",
    "fruit apple juice sweet banana", "road car drive engine wheel fast",
] * 3  # fmt: skip
_SERIES = _two_state_sequence()


def _bad_vectors(n_features: int = 2) -> list[tuple[Call, type[GenlabError], str | None]]:
    return [
        (Call((_with_nan(_blobs(d=n_features)),)), DataError, "NaN"),
        (Call((np.zeros((0, n_features)),)), DataError, None),
    ]


def _bad_series(X: np.ndarray) -> list[tuple[Call, type[GenlabError], str | None]]:
    return [
        (Call((X,), {"lengths": [len(X) + 1]}), DataError, "lengths"),
        (Call((np.zeros((0, X.shape[1])),)), DataError, None),
    ]


def _hmm(cls_name: str, X: np.ndarray, **params: Any) -> Case:
    import genlab

    cls = getattr(genlab, cls_name)
    return Case(
        make=lambda: cls(**params),
        fit=Call((X,), {"lengths": [len(X) // 2, len(X) - len(X) // 2]}),
        data=Call((X,), {"lengths": [len(X) // 2, len(X) - len(X) // 2]}),
        n_sample=30,
        latent=True,
        bad=_bad_series(X),
    )


#: Small Python programs: the syntax trees of the tree models' cases.
_PROGRAMS = [
    "import os\n\ndef size(path):\n    return os.path.getsize(path)\n",
    "total = 0\nfor i in range(10):\n    total += i\nprint(total)\n",
    "class Point:\n    def __init__(self, x, y):\n        self.x = x\n        self.y = y\n",
    "def f(a, b=2):\n    if a > b:\n        return a\n    return b\n",
    "names = [n.upper() for n in ['a', 'b'] if n]\n",
]


def _bad_programs() -> list[tuple[Call, type[GenlabError], str | None]]:
    return [(Call(([],)), DataError, "no syntax trees given"),
            (Call((["def f(:\n"],)), DataError, "item 0 is not parsable Python source"),
            (Call(([_PROGRAMS[0], 42],)), DataError, "item 1 is a int")]


def _cases() -> dict[str, Case]:
    import pandas as pd

    import genlab
    from genlab.trees.toy import TOY_GRAMMAR, toy_pcfg

    sentences = toy_pcfg().sample(40, random_state=0)

    X = _blobs()
    hmm_params = {"random_state": 0, "n_iter": 200, "tol": 1e-3}
    table = pd.DataFrame(
        {
            "rain": ["yes", "no", "no", "yes", "no", "no", "yes", "no"] * 4,
            "wet": ["yes", "no", "yes", "yes", "no", "no", "yes", "no"] * 4,
        }
    )
    labels = np.repeat([0, 1], 30)
    cases = {
        "GaussianMixture": Case(
            make=lambda: genlab.GaussianMixture(2, random_state=0), fit=Call((X,)), data=Call((X,)), latent=True,
            bad=_bad_vectors(),
        ),
        "BayesianGaussianMixture": Case(
            make=lambda: genlab.BayesianGaussianMixture(n_components=2, random_state=0, max_iter=200),
            fit=Call((X,)), data=Call((X,)), latent=True, bad=_bad_vectors(),
        ),
        "NaiveBayes": Case(
            make=lambda: genlab.NaiveBayes(), fit=Call((X, labels)), data=Call((X,)), latent=True,
            bad=[(Call((_with_nan(X), labels)), DataError, "NaN")],
        ),
        "GenerativeClassifier": Case(
            make=lambda: genlab.GenerativeClassifier(genlab.GaussianMixture(1)), fit=Call((X, labels)),
            data=Call((X,)), latent=True, bad=[(Call((_with_nan(X), labels)), DataError, "NaN")],
        ),
        "ClutterModel": Case(
            make=lambda: genlab.ClutterModel(), fit=Call((np.random.default_rng(0).normal(2.0, 1.0, (40, 1)),)),
            data=Call((np.linspace(-3, 5, 9)[:, None],)), latent=True,
            bad=[(Call((np.array([[np.nan], [1.0]]),)), DataError, None)],
        ),
        "GaussianHMM": _hmm("GaussianHMM", _SERIES, n_states=2, **hmm_params),
        "GMMHMM": _hmm("GMMHMM", _SERIES, n_states=2, n_mix=2, **hmm_params),
        "HiddenMarkovModel": _hmm("HiddenMarkovModel", _SERIES, n_states=2, **hmm_params),
        "VariationalGaussianHMM": _hmm("VariationalGaussianHMM", _SERIES, n_states=2, **hmm_params),
        "CategoricalHMM": _hmm("CategoricalHMM", _symbols(), n_states=2, **hmm_params),
        "VariationalCategoricalHMM": _hmm("VariationalCategoricalHMM", _symbols(), n_states=2, **hmm_params),
        "PoissonHMM": _hmm("PoissonHMM", _counts(), n_states=2, **hmm_params),
        "MultinomialHMM": _hmm("MultinomialHMM", _trials(), n_states=2, n_trials=6, **hmm_params),
        "HiddenSemiMarkovModel": Case(
            make=lambda: genlab.HiddenSemiMarkovModel(n_states=2, max_duration=12, n_iter=200, random_state=0),
            fit=Call((_SERIES,)), data=Call((_SERIES,)), n_sample=30, latent=True, bad=_bad_series(_SERIES),
        ),
        "LinearAutoRegressive": Case(
            make=lambda: genlab.LinearAutoRegressive(order=2),
            fit=Call((_ar2_series(120, seed=1),)),
            data=Call((_ar2_series(40, seed=2),)),
            n_sample=30,
            bad=[(Call((_with_nan(np.random.default_rng(1).normal(size=(30, 1))),)), DataError, None)],
        ),
        "MarkovChain": Case(
            make=lambda: genlab.MarkovChain(order=2), fit=Call((_TEXT,)), data=Call((["the cat sat on the log."],)),
            n_sample=40, sample_data=lambda drawn: Call(([drawn] if isinstance(drawn, str) else drawn,)),
            bad=[(Call(([],)), DataError, None)],
        ),
        "TextHMM": Case(
            make=lambda: genlab.hmm.TextHMM(n_states=2, n_iter=200, tol=0.1, random_state=0), fit=Call((_TEXT,)),
            data=Call((["the cat sat on the log."],)), n_sample=2, bad=[(Call(([],)), DataError, None)],
        ),
        "LDA": Case(
            make=lambda: genlab.LDA(n_topics=2, random_state=0, max_iter=20), fit=Call((_DOCUMENTS,)),
            data=Call((_DOCUMENTS[:4],)), n_sample=3, latent=True, bad=[(Call(([],)), DataError, None)],
        ),
        "LabeledLDA": Case(
            make=lambda: genlab.LabeledLDA(random_state=0, max_iter=20),
            fit=Call((_DOCUMENTS, [["fruit"], ["fruit"], ["car"], ["car"], ["fruit"], ["car"]] * 3)),
            data=Call((_DOCUMENTS[:4],)), n_sample=3, latent=True, bad=[(Call(([], []),), DataError, None)],
        ),
        "BayesianNetwork": Case(
            make=lambda: genlab.BayesianNetwork([("rain", "wet")]), fit=Call((table,)), data=Call((table.head(6),)),
            n_sample=20, bad=[(Call((table.drop(columns="wet"),)), DataError, "wet")],
        ),
        "PCFG": Case(
            make=lambda: genlab.PCFG(grammar=TOY_GRAMMAR, max_iter=5), fit=Call((sentences,)),
            data=Call((sentences[:5],)),
            bad=[(Call(([],)), DataError, "no data to fit"),
                 (Call(([["the", "unicorn", "saw"]],)), DataError, "the word 'unicorn', which the grammar lacks"),
                 (Call(([["dog", "the"]],)), DataError, "cannot be derived by the grammar")],
        ),
        "CountTreeModel": Case(
            make=lambda: genlab.trees.CountTreeModel(value_min_count=1), fit=Call((_PROGRAMS,)),
            data=Call((_PROGRAMS[:2],)), n_sample=3, bad=_bad_programs(),
        ),
        "TreeModel": Case(
            make=lambda: genlab.TreeModel(kind="count", value_min_count=1), fit=Call((_PROGRAMS,)),
            data=Call((_PROGRAMS[:2],)), n_sample=3, bad=_bad_programs(),
        ),
    }
    return cases


def _neural_cases() -> dict[str, Case]:
    import genlab
    from genlab.trees.tree_neural import NeuralTreeModel

    digits = (np.random.default_rng(0).random((40, 1, 4, 4)) < 0.4).astype(np.int64)
    digit_labels = np.repeat([0, 1], 20)
    train = {"max_steps": 3, "batch_size": 8}  # training settings are hyperparameters
    # four 60-sample tones at 8 kHz, two pitches (labels low / high)
    tones = [(0.5 * np.sin(2 * np.pi * f * np.arange(60) / 8000)).astype(np.float32) for f in (300, 900, 300, 900)]
    image_bad = [(Call((np.full((4, 1, 4, 4), np.nan),)), DataError, None)]
    vae = {"latent_dim": 2, "hidden": (8,), "random_state": 0, "device": "cpu", **train}
    # 8 x 8 colour squares captioned by their colour
    colours = {"red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255), "white": (255, 255, 255)}
    caption_images = np.repeat(np.array(list(colours.values()), dtype=np.uint8)[:, :, None, None], 8, axis=2)
    caption_images = np.tile(np.repeat(caption_images, 8, axis=3), (3, 1, 1, 1))  # (12, 3, 8, 8)
    captions = [f"a {name} square" for name in colours] * 3
    scenes = genlab.datasets.shapes_scenes(8, size=16, max_objects=2, seed=0)  # 16 x 16 scenes with their boxes
    pixelcnn = {"n_filters": 4, "n_layers": 1, "n_hidden": 8, "random_state": 0, "device": "cpu", **train}
    return {
        "LanguageModel": Case(
            make=lambda: genlab.LanguageModel(backbone="lstm", preset=None, n_layer=1, n_hidden=8, n_embd=8,
                                              block_size=16, random_state=0, device="cpu", max_steps=3, batch_size=4,
                                              warmup_steps=1),
            fit=Call((_TEXT,)),
            data=Call((["the cat sat."],)), n_sample=20,
            sample_data=lambda drawn: Call(([drawn] if isinstance(drawn, str) else drawn,)),
            bad=[(Call(([""],)), DataError, None)],
        ),
        "MaskedLanguageModel": Case(
            make=lambda: genlab.MaskedLanguageModel(preset=None, n_layer=1, n_head=2, n_embd=8, block_size=16,
                                                    random_state=0, device="cpu", max_steps=3, batch_size=4,
                                                    warmup_steps=1),
            fit=Call((_TEXT,)),
            data=Call((["the cat sat.", "a mat"],)), n_sample=3,
            bad=[(Call(([""],)), DataError, "empty"), (Call((["ab"],)), DataError, "shorter than one training window")],
        ),
        "Seq2Seq": Case(
            make=lambda: genlab.Seq2Seq(preset=None, n_layer=1, n_head=2, n_embd=8, max_source_length=16,
                                        max_target_length=12, random_state=0, device="cpu", max_steps=3,
                                        batch_size=4, warmup_steps=1),
            fit=Call((_PAIR_SOURCES, _PAIR_TARGETS)),
            data=Call((_PAIR_SOURCES[:3], _PAIR_TARGETS[:3])), n_sample=4,
            sample_kwargs={"sources": "abc"},
            sample_data=lambda drawn: Call((["abc"] * len(drawn), drawn)),
            bad=[(Call((["ab", "ba"], ["ab"]),), DataError, "sources has 2 items and targets 1"),
                 (Call((["ab", "ba"], ["ab", ""]),), DataError, r"targets\[1\] is empty"),
                 (Call(([],),), DataError, "no pairs")],
        ),
        "Captioner": Case(
            # tokenizer="char": a 3-step model samples stray bytes under byte-level BPE, and invalid UTF-8 decodes to
            # U+FFFD, which re-encodes longer than max_caption_length; characters re-encode one to one
            make=lambda: genlab.Captioner(preset="tiny", tokenizer="char", max_caption_length=16, random_state=0,
                                          device="cpu", max_steps=3, batch_size=4, warmup_steps=1),
            fit=Call((caption_images, captions)),
            data=Call((caption_images[:3], captions[:3])), n_sample=4,
            sample_kwargs={"images": caption_images[0]},
            sample_data=lambda drawn: Call((np.repeat(caption_images[:1], len(drawn), axis=0), drawn)),
            bad=[(Call((caption_images[:2], captions[:1])), DataError, "2 images and captions holds 1 captions"),
                 (Call((caption_images[:2], [captions[0], ""])), DataError, r"captions\[1\] is empty"),
                 (Call((np.full((2, 3, 8, 8), np.nan), captions[:2])), DataError, "NaN")],
        ),
        "SequenceDetector": Case(
            make=lambda: genlab.SequenceDetector(preset="tiny", max_objects=2, random_state=0, device="cpu",
                                                 max_steps=3, batch_size=4, warmup_steps=1),
            fit=Call((scenes.images, scenes.boxes, scenes.labels), {"classes": scenes.classes}),
            data=Call((scenes.images[:3], scenes.boxes[:3], scenes.labels[:3])), n_sample=3,
            sample_kwargs={"images": scenes.images[0]},
            sample_data=lambda drawn: Call((np.repeat(scenes.images[:1], len(drawn), axis=0),
                                            [d["boxes"] for d in drawn], [d["labels"] for d in drawn])),
            bad=[(Call((scenes.images[:1], [np.array([[2.0, 2.0, 40.0, 9.0]])], [np.array([0])])), DataError,
                  "outside"),
                 (Call((scenes.images[:1], [np.array([[5.0, 2.0, 5.0, 9.0]])], [np.array([0])])), DataError, None),
                 (Call((scenes.images[:1], [np.array([[2.0, 2.0, 6.0, 9.0]])], [np.array([0, 1])])), DataError,
                  None)],
        ),
        "WaveNet": Case(
            make=lambda: genlab.WaveNet(n_layers=3, n_cycles=1, residual_channels=4, dilation_channels=4,
                                        skip_channels=8, n_codes=16, sample_rate=8000, chunk_length=32,
                                        random_state=0, device="cpu", max_steps=3, batch_size=4, warmup_steps=1),
            fit=Call((tones, ["low", "high", "low", "high"])),
            data=Call((tones[:3], ["low", "high", "low"])), n_sample=50,
            sample_data=lambda drawn: Call(([drawn],)),
            bad=[(Call((tones[:2], ["low"])), DataError, "labels has 1 entries for 2 recordings"),
                 (Call(([np.zeros(0, dtype=np.float32)],)), DataError, r"X\[0\] is empty"),
                 (Call(([np.full(40, np.nan, dtype=np.float32)],)), DataError, "NaN"),
                 (Call(([np.zeros((40, 2), dtype=np.float32)],)), DataError, "1-D")],
        ),
        "NeuralAutoRegressive": Case(
            make=lambda: genlab.NeuralAutoRegressive(context_length=4, hidden_size=4, n_layers=1, random_state=0,
                                                     device="cpu", max_steps=3, batch_size=4),
            fit=Call((_ar2_series(60, seed=1),), {"lengths": [30, 30]}),
            data=Call((_ar2_series(24, seed=2),), {"lengths": [12, 12]}), n_sample=30,
            bad=[(Call((_ar2_series(20, seed=1),), {"lengths": [3, 17]}), DataError, "context_length=4"),
                 (Call((np.full((20, 1), np.inf),)), DataError, "row 0 holds an infinite value"),
                 (Call((np.zeros((0, 1)),)), DataError, "empty"),
                 (Call((np.c_[_ar2_series(20, seed=1), _with_nan(_ar2_series(20, seed=3))],)), DataError,
                  "row 3 has NaN in some variables but not all")],
        ),
        "VAE": Case(make=lambda: genlab.VAE(**vae), fit=Call((digits,)), data=Call((digits[:5],)), latent=True,
                    bad=image_bad),
        "ConditionalVAE": Case(
            make=lambda: genlab.ConditionalVAE(**vae), fit=Call((digits, digit_labels)),
            data=Call((digits[:5],)), latent=True, bad=image_bad,
        ),
        "Autoencoder": Case(
            make=lambda: genlab.Autoencoder(latent_dim=2, hidden=(8,), n_mixture_components=1, random_state=0,
                                            device="cpu", **train),
            fit=Call((digits,)), data=Call((digits[:5],)), latent=True, bad=image_bad, no_likelihood=True,
        ),
        "PixelCNN": Case(make=lambda: genlab.PixelCNN(**pixelcnn), fit=Call((digits,)),
                         data=Call((digits[:5],)), n_sample=2, bad=image_bad),
        "ConditionalPixelCNN": Case(
            make=lambda: genlab.ConditionalPixelCNN(**pixelcnn), fit=Call((digits, digit_labels)),
            data=Call((digits[:5],)), n_sample=2, latent=True, bad=image_bad,
        ),
        "NeuralTreeModel": Case(
            make=lambda: NeuralTreeModel(
                value_min_count=1, n_hidden=8, n_embd=8, block_size=32, random_state=0, device="cpu",
                validation_fraction=0.0, max_steps=3, batch_size=4, warmup_steps=1),
            fit=Call((_PROGRAMS,)), data=Call((_PROGRAMS[:2],)), n_sample=3, bad=_bad_programs(),
        ),
        "VQVAE": Case(
            make=lambda: genlab.VQVAE(n_codes=4, code_dim=2, hidden=4, n_residual=0, random_state=0, device="cpu",
                                      prior_params={"n_filters": 4, "n_layers": 1, "n_hidden": 4, "max_steps": 2,
                                                    "batch_size": 4, "warmup_steps": 1}, **train),
            fit=Call((digits,)), data=Call((digits[:5],)), n_sample=2, latent=True, bad=image_bad,
        ),
    }


def case_for(name: str) -> Case:
    """The :class:`Case` of the registered model class ``name``."""
    cases = _neural_cases() if name in NEURAL else _cases()
    return cases[name]


def all_case_names() -> list[str]:
    """Every class the factories cover (the suite checks this equals the registry)."""
    return sorted([*_cases(), *NEURAL])

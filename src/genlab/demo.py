"""The main job on built-in data: compare classical and neural generative models in one honest unit.

Two comparisons with :func:`genlab.compare.compare`, each scored by the one routine on held-out data:

* **text**: the Python reference documentation that ships with CPython (``pydoc_data.topics``, about 465,000
  characters; the last 10% held out): a Markov chain, an HMM, an LSTM and a Transformer, in bits per character;
* **images**: scikit-learn's bundled 8x8 digits (17 grey levels; a fifth held out): Gaussian mixtures (K chosen by
  BIC), a kernel-density baseline, a VAE and a PixelCNN, in bits per dimension of the discrete grey levels
  (the continuous densities scored on uniformly dequantised pixels, the VAE by its importance-weighted bound, the
  PixelCNN exactly).

The neural models train for a fixed number of steps (so the same seed gives the same table) with the time budget as
a cap (if a loaded machine hits it, the table notes it and that row then depends on the machine's speed). The full
run takes about 2.5 minutes on 2 idle CPU cores (156 s measured; the fits stop at 260 s for the text and 240 s
for the images, which only a slow or busy machine reaches), ``quick=True`` about 10 seconds (the first
40,000 characters, tiny fits; most of it is starting PyTorch, scoring, sampling the neural models and drawing the
report). It prints both tables and writes one ``report.html`` (plots embedded, also as PNG files), ``results.json``
and every fitted model (``models/``) into ``out_dir``; the text HMM is saved with its vocabulary (a
:class:`~genlab.hmm.TextHMM`), so every saved model works with ``genlab score`` and ``genlab sample`` on its own.

Run it with ``genlab demo`` or ``make demo``.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from genlab.errors import ParameterError

__all__ = ["DEMO_MODELS", "run_demo"]

#: (models, fitting budget in seconds) per part, full and quick. Steps / iterations are fixed so that the same
#: seed gives the same table; the budgets only cap a machine much slower than 2 cores of a 2020s laptop.
DEMO_MODELS = {
    "text": ("markov:order=5,hmm:states=32,iter=30,lstm:preset=tiny,steps=600,transformer:preset=tiny,steps=1000",
             260.0),
    "images": ("gmm:components=auto,kde,vae:steps=2000,k=1000,pixelcnn:steps=1000", 240.0),
    "text-quick": ("markov:order=3,hmm:states=8,iter=5,lstm:preset=tiny,steps=15,transformer:preset=tiny,steps=15",
                   60.0),
    "images-quick": ("gmm:components=2,kde:bandwidth=1.5,vae:steps=20,k=20,pixelcnn:filters=8,layers=2,steps=10",
                     30.0),
}
_QUICK_CHARS = 40_000


def _text_hmm_with_vocabulary(comparison: Any) -> None:
    """Make the saved text HMM one file that scores and samples text (``genlab score models/hmm_... text.txt``).

    ``genlab compare`` saves its HMM over unit ids with the id -> unit map in a side file (``.vocabulary.json``);
    the demo rewrites the pair as one :class:`~genlab.hmm.TextHMM` file, so that every model the demo writes works
    with ``genlab score`` / ``genlab sample`` on its own.
    """
    from genlab.hmm import CategoricalHMM, TextHMM
    from genlab.io import load

    for row in comparison.rows:
        side_files = [path for path in row.files if path.endswith(".vocabulary.json")]
        model_files = [path for path in row.files if path.endswith(".genlab")]
        if not side_files or len(model_files) != 1:
            continue
        with open(side_files[0], encoding="utf-8") as handle:
            vocabulary = json.load(handle)
        hmm = load(model_files[0])
        if not isinstance(hmm, CategoricalHMM) or vocabulary.get("unit") not in ("char", "word"):
            continue  # a BPE / byte HMM's ids mean the data set's tokenizer: kept as compare saved it
        TextHMM.from_categorical_hmm(hmm, vocabulary["symbols"], unit=vocabulary["unit"]).save(model_files[0])
        os.remove(side_files[0])
        row.files = model_files


def run_demo(
    out_dir: str | os.PathLike[str] = "demo_output",
    *,
    quick: bool = False,
    random_state: int = 0,
    console: Any = None,
) -> dict[str, Any]:
    """Compare a Markov chain, an HMM, an LSTM and a Transformer on pydoc text, and density models on digits.

    Parameters
    ----------
    out_dir : str or path-like, default="demo_output"
        Folder for ``report.html``, its PNG plots, ``results.json`` and ``models/`` (created if missing).
    quick : bool, default=False
        A smoke run of about 10 seconds (module notes).
    random_state : int, default=0
        Seed of the splits, fits, bootstrap intervals and samples.
    console : rich.console.Console, optional
        Where the introduction, the two tables and the report's path go; a new console on stdout by default. The
        live progress of the fits goes to stderr, and only when stderr is a terminal
        (:class:`genlab.utils.progress.ProgressDisplay`).

    Returns
    -------
    dict
        ``comparisons``: the two :class:`~genlab.compare.Comparison` results (text, images); ``report``: the path
        of ``report.html``; ``results``: the path of ``results.json``; ``seconds``: total run time.
    """
    from rich.console import Console

    from genlab.cli.compare import print_comparison
    from genlab.compare import compare, load_dataset, parse_specs, save_results
    from genlab.compare.report import write_report

    if not isinstance(random_state, int) or isinstance(random_state, bool):
        raise ParameterError(f"random_state must be an int; got {random_state!r}.")
    console = console if console is not None else Console(highlight=False)
    started = time.perf_counter()
    out_dir = os.fspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    suffix = "-quick" if quick else ""

    text_models, text_budget = DEMO_MODELS["text" + suffix]
    text = load_dataset("pydoc", split=0.9, random_state=random_state, max_chars=_QUICK_CHARS if quick else None)
    console.print(
        f"genlab demo: {len(parse_specs(text_models))} models on the Python reference "
        f"documentation (pydoc_data.topics: {text.n_train_units:,} characters to train, {text.n_heldout_units:,} "
        f"held out), then density models on scikit-learn's 8x8 digits.",
        highlight=False, markup=False,
    )
    comparisons = [compare(text, text_models, budget=text_budget, out_dir=out_dir, random_state=random_state,
                           console=console)]
    _text_hmm_with_vocabulary(comparisons[0])
    print_comparison(comparisons[0], console)

    image_models, image_budget = DEMO_MODELS["images" + suffix]
    comparisons.append(compare("digits", image_models, budget=image_budget, split=0.8, out_dir=out_dir,
                               random_state=random_state, console=console))
    print_comparison(comparisons[1], console)

    results = save_results(out_dir, comparisons)
    report = write_report(out_dir, comparisons, title="genlab demo: text and images")
    seconds = time.perf_counter() - started
    console.print(f"report: {report} ({seconds:.0f} s in all)", highlight=False, markup=False)
    return {"comparisons": comparisons, "report": report, "results": results, "seconds": seconds}

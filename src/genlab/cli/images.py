"""``genlab fit vae | vqvae | autoencoder | pixelcnn``: neural image models of ``digits`` or a folder of images.

DATA is ``digits`` (scikit-learn's bundled 8x8 digits, 17 grey levels, labels 0-9) or a folder of PNG / JPEG images
(labels from its subfolder names; ``--size HxW`` resizes, ``--levels`` requantises the 8-bit values). The last
``--val-fraction`` of the images (a seeded shuffle) is held out and scored after training, in bits per dimension of
the discrete pixel values - the unit ``genlab score`` and ``genlab compare`` use for every image model. The VAEs'
figure is an importance-weighted bound and the VQ-VAE's its own-codes bound ``log p(x | c(x)) + log p(c(x))``: both
bound log p(x) from below, so their bits per dimension are upper bounds, and every line that shows one says which.

``genlab sample MODEL -n 64 --grid samples.png [--label 3]`` and ``genlab score MODEL DATA`` are the shared
commands (:mod:`genlab.cli.commands` hands image models to :func:`sample_images` and :func:`score_images`).
"""

from __future__ import annotations

import enum
import math
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from genlab.cli._app import _naming, _print_fields, _warn_lines, fit_app
from genlab.errors import DataError, ParameterError

DIGITS = "digits"


class Likelihood(str, enum.Enum):
    """``genlab fit vae --likelihood``: the decoder's pixel distribution."""

    categorical = "categorical"
    logistic = "logistic"
    gaussian = "gaussian"
    bernoulli = "bernoulli"


class Architecture(str, enum.Enum):
    """``genlab fit vae --architecture``: MLP or convolutional encoder and decoder."""

    mlp = "mlp"
    conv = "conv"


class Decoder(str, enum.Enum):
    """``genlab fit vae --decoder``: independent pixels given z, or an autoregressive PixelCNN conditioned on z."""

    independent = "independent"
    pixelcnn = "pixelcnn"


class ColourMode(str, enum.Enum):
    """``--mode`` of the image commands reading folders: grey (PIL mode ``L``) or colour (``RGB``)."""

    grey = "L"
    colour = "RGB"


def _parse_size(size: str | None) -> tuple[int, int] | None:
    if size is None:
        return None
    parts = size.lower().replace(" ", "").split("x")
    try:
        height, width = (int(p) for p in parts)
    except ValueError:
        raise ParameterError(f"--size must be HxW in pixels, e.g. 28x28; got {size!r}.") from None
    if height < 1 or width < 1:
        raise ParameterError(f"--size must be positive, e.g. 28x28; got {size!r}.")
    return height, width


def load_images(data: str, size: str | None = None, mode: str = "L",
                levels: int | None = None) -> tuple[np.ndarray, np.ndarray | None, int]:
    """Images, labels and pixel levels of DATA.

    Returns
    -------
    X : ndarray of int64, shape (N, C, H, W)
    labels : ndarray of shape (N,) or None
        What conditional models are fitted on: the digit (int) for ``digits``, the subfolder name (str) for a
        folder with class subfolders, None for a flat folder.
    n_levels : int
        17 for digits (or ``levels``); 256 for folders (or ``levels``).
    """
    from genlab.images.data import load_digits_images, load_image_folder, requantize

    if data == DIGITS:
        if size is not None:
            raise ParameterError("--size applies to image folders; the digits are 8x8.")
        X, y, n_levels = load_digits_images()
        if levels is not None and levels != n_levels:
            X, n_levels = requantize(X, n_levels, levels), levels
        return X, y, n_levels
    path = Path(data)
    if not path.exists():
        raise DataError(f"{data} does not exist; give a folder of PNG / JPEG images or 'digits'.")
    if not path.is_dir():
        raise DataError(f"{data} is not a folder; image models read a folder of PNG / JPEG images (or 'digits').")
    n_levels = 256 if levels is None else levels
    X, codes, names = load_image_folder(path, size=_parse_size(size), mode=mode, n_levels=n_levels)
    labels = None if codes is None else np.asarray(names, dtype=object)[codes].astype(str)
    return X, labels, n_levels


def _split(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng([seed, 7]).permutation(n)
    n_val = round(val_fraction * n)
    if n_val and n - n_val < 1:
        raise DataError(f"{n} images leave none to train on after holding out --val-fraction {val_fraction}.")
    return order[n_val:], order[:n_val]


def _is_conditional(model: Any) -> bool:
    return hasattr(model, "classes_")


#: What a VQ-VAE's ``log_prob`` is (genlab.images.vqvae): its bits per dimension bound the true ones from above.
VQ_ESTIMATE = "upper bound: own-codes bound, log p(x|c(x)) + log p(c(x))"


def _is_vqvae(model: Any) -> bool:
    return hasattr(model, "log_prob_parts") and hasattr(model, "n_codes")


def _log_prob_options(model: Any) -> dict[str, Any]:
    """Keyword arguments of the ``log_prob`` the command line reports: a VAE's number of importance samples
    (:data:`genlab.images.vae.SCORING_SAMPLES` of its decoder)."""
    if not hasattr(model, "elbo"):
        return {}
    from genlab.images.vae import SCORING_SAMPLES  # a fitted VAE: torch is imported already

    return {"k": SCORING_SAMPLES.get(getattr(model, "decoder", "independent"), 1000)}


def _estimate(model: Any) -> str:
    """What the figure the command line reports is: the VQ-VAE's own-codes bound, the VAEs' importance-weighted
    bound (with its k) or PixelCNN's exact value."""
    if _is_vqvae(model):
        return VQ_ESTIMATE
    options = _log_prob_options(model)
    return f"IWAE bound, k = {options['k']}" if options else "exact"


def _run_text(info: dict[str, Any]) -> str:
    return f"{info['steps']:,} steps in {info['elapsed']:.1f} s (stopped by {info['stop_reason']})"


def _share(value: float | None) -> str:
    return "none (no epoch completed)" if value is None else f"{value:.1%}"


def info_rows(model: Any) -> list[tuple[str, str]]:
    """What ``genlab fit`` and ``genlab info`` show about a fitted image model beyond its class and size.

    A VQ-VAE: its codes and code grid, codebook usage and code perplexity (over the training images with the final
    codebook, and over the last training epoch), dead-code restarts, the autoencoder's and the prior's training and
    the prior's nats per code beside ``log K`` (a uniform prior's). A VAE: its decoder and the KL of the latent per
    image in all and per dimension, and the active units, which say whether the code is used. Others: nothing.
    """
    rows: list[tuple[str, str]] = []
    if _is_vqvae(model) and hasattr(model, "prior_"):
        config = model.config_
        n_codes = int(config["n_codes"])
        height, width = model.code_shape_
        rows += [
            ("codes", f"{n_codes} codes of length {config['code_dim']}; a {height} x {width} grid of codes per image "
                      f"({config['n_downsample']} stride-2 downsampling)"),
            ("codebook usage", f"{model.codebook_usage_:.1%} of the {n_codes} codes over the training images; "
                               f"last epoch: {_share(model.epoch_usage_)}"),
            ("code perplexity", f"{model.code_perplexity_:.1f} of {n_codes} over the training images; last epoch: "
                                + ("none" if model.epoch_perplexity_ is None else f"{model.epoch_perplexity_:.1f}")),
            ("dead-code restarts", f"{model.restarted_codes_:,}"),
            ("autoencoder training", _run_text(model.training_)),
        ]
        prior = model.prior_
        # prior_nats_per_code_ is over the code grids of the VQ-VAE's validation images when it had any (then the
        # autoencoder has a validation loss), else over those the prior held out of the training grids (none held
        # out: the training grids themselves)
        if model.training_.get("best_val_loss") is not None:
            where = "the validation images' code grids"
        elif getattr(prior, "validation_fraction", 0) > 0:
            where = "the code grids the prior held out"
        else:
            where = "the training images' code grids"
        rows += [
            ("prior", f"PixelCNN over the code grids ({prior.n_parameters_:,} parameters, {prior.n_layers} layers of "
                      f"{prior.n_filters} filters); {_run_text(model.prior_training_)}"),
            ("prior nats per code", f"{model.prior_nats_per_code_:.3f} on {where} (log K = {math.log(n_codes):.3f}, a "
                                    "uniform prior)"),
        ]
    elif getattr(model, "kl_per_dimension_", None) is not None:
        decoder = getattr(model, "decoder", "independent")
        rows.append(("decoder", f"pixelcnn: a gated PixelCNN of {model.decoder_layers} layers of "
                                f"{model.decoder_filters} filters conditioned on z (pixels drawn in raster order)"
                     if decoder == "pixelcnn" else f"independent pixels ({model.likelihood})"))
        kl = np.asarray(model.kl_per_dimension_, dtype=np.float64)
        rows += [
            ("latent KL", f"{kl.sum():.3f} nats per image over {kl.size} dimensions (per dimension: max "
                          f"{kl.max():.3f}, median {np.median(kl):.3f}, min {kl.min():.3f})"),
            ("active units", f"{model.active_units_} of {kl.size} (posterior mean varies across the training "
                             "images, variance > 0.01)"),
        ]
    return rows


def _save_reconstructions(model: Any, images: np.ndarray, path: Path) -> int:
    """Up to 32 images, 8 a row, each row of originals above the row of their reconstructions; the number shown."""
    from genlab.images.plots import save_image_grid

    per_row = min(8, images.shape[0])
    shown = images[: min(32, images.shape[0]) // per_row * per_row]
    rebuilt = model.reconstruct(shown)
    rows = []
    for start in range(0, shown.shape[0], per_row):
        rows += [shown[start:start + per_row].astype(np.float64), rebuilt[start:start + per_row]]
    save_image_grid(np.concatenate(rows), path, model.n_levels_, ncol=per_row)
    return int(shown.shape[0])


def _images(drawn: Any) -> np.ndarray:
    """The images of what ``sample`` returned (latent-variable models return ``Sample(images, latent)``)."""
    from genlab.base import Sample

    return drawn.data if isinstance(drawn, Sample) else np.asarray(drawn)


def _fit_and_save(model: Any, data: str, out: Path, *, size: str | None, mode: ColourMode, levels: int | None,
                  val_fraction: float, seed: int, grid: Path | None, conditional: bool, max_time: str | None,
                  max_steps: int | None, epochs: float | None, batch_size: int, learning_rate: float,
                  progress: bool, reconstructions: Path | None = None,
                  check_images: Callable[[np.ndarray], None] | None = None) -> None:
    """Load DATA, hold out ``val_fraction`` of it, fit ``model`` on the rest, score the held-out images, save the
    model to ``out`` and print what was fitted (:func:`info_rows`), the held-out bits per dimension labelled with
    what they are, and the files written (``grid``: 64 samples; ``reconstructions``: held-out images above their
    reconstructions, for models with ``reconstruct``). ``check_images(X)`` refuses options that do not fit the
    loaded images, in the command's own words, before anything is trained."""
    from genlab.images.likelihood import nats_to_bits_per_dimension
    from genlab.neural import parse_duration

    X, labels, n_levels = load_images(data, size, mode.value, levels)
    if check_images is not None:
        check_images(X)
    # the training settings are hyperparameters; the images held out here are scored after training
    model.set_params(n_levels=n_levels, max_time=None if max_time is None else parse_duration(max_time),
                     max_steps=max_steps, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                     verbose=int(progress))
    if conditional and labels is None:
        raise DataError(f"a conditional model needs class labels: {data} has no class subfolders.")
    train_rows, held_rows = _split(X.shape[0], val_fraction, seed)
    y_train = labels[train_rows] if conditional else None
    with warnings.catch_warnings(record=True) as caught, _naming(Path(data)):
        warnings.simplefilter("always")
        if conditional:
            model.fit(X[train_rows], y_train)
        else:
            model.fit(X[train_rows])
        held_bits = None
        parts = None
        if held_rows.size:  # the autoencoder, which has no likelihood, holds nothing out
            held = X[held_rows]
            if _is_vqvae(model):  # its log_prob is the sum of these two terms; both are shown
                parts = model.log_prob_parts(held)
                log_probs = parts[0] + parts[1]
            else:
                options = _log_prob_options(model)
                log_probs = (model.log_prob(held, labels[held_rows], **options) if conditional
                             else model.log_prob(held, **options))
            held_bits = nats_to_bits_per_dimension(log_probs, int(np.prod(held.shape[1:])))
    _warn_lines(caught)
    model.save(out)
    rows = [
        ("model", f"{type(model).__name__} ({model.n_parameters_:,} parameters)"),
        ("data", f"{data} ({train_rows.size:,} training images of {tuple(X.shape[1:])} (C, H, W), "
                 f"{model.n_levels_} levels; {held_rows.size:,} held out)"),
    ]
    if not _is_vqvae(model):  # a VQ-VAE's two training stages are among its info rows
        rows.append(("training", _run_text(model.training_)))
    rows += info_rows(model)
    if _is_vqvae(model) and held_rows.size:
        n_codes = model.config_["n_codes"]
        n_positions = int(np.prod(model.code_shape_))
        rows += [
            ("held-out codebook usage", f"{model.codebook_usage(X[held_rows]):.1%} of the {n_codes} codes"),
            ("held-out prior nats/code", f"{-float(np.mean(parts[1])) / n_positions:.3f} (log K = "
                                         f"{math.log(n_codes):.3f})"),
        ]
    if held_bits is not None:
        nats = held_bits * math.log(2) * X[0].size
        split = ("" if parts is None else f" = pixels {-float(np.mean(parts[0])):.2f} + codes "
                                          f"{-float(np.mean(parts[1])):.2f}")
        rows.append(("held-out bits/dim", f"{held_bits:.4f} ({nats:.2f} nats per image{split}; "
                                          f"{_estimate(model)})"))
    if grid is not None:
        from genlab.images.plots import save_image_grid

        save_image_grid(_images(model.sample(64, random_state=seed)), grid, model.n_levels_)
        rows.append(("samples", str(grid)))
    if reconstructions is not None:
        # held-out images when there are any: a reconstruction of a training image flatters the model
        shown_rows, which = (held_rows, "held-out") if held_rows.size else (train_rows, "training")
        count = _save_reconstructions(model, X[shown_rows], reconstructions)
        rows.append(("reconstructions", f"{reconstructions} ({count} {which} images, each row above its "
                                        "reconstructions)"))
    rows.append(("saved to", str(out)))
    _print_fields(rows)


_DATA_HELP = "'digits' (scikit-learn's 8x8 digits) or a folder of PNG / JPEG images (subfolders = classes)."
_Data = Annotated[str, typer.Argument(metavar="DATA", help=_DATA_HELP)]
_Out = Annotated[Path, typer.Option("--out", "-o", help="Where to save the fitted model, e.g. vae.genlab.")]
_MaxTime = Annotated[str | None, typer.Option("--max-time", help="Time budget: seconds or a duration (90s, 3m).")]
_MaxSteps = Annotated[int | None, typer.Option("--max-steps", min=1, help="Optimizer steps.")]
_Epochs = Annotated[float | None, typer.Option("--epochs", min=0.0, help="Passes over the training images.")]
_BatchSize = Annotated[int, typer.Option("--batch-size", min=1, help="Images per step.")]
_LearningRate = Annotated[float, typer.Option("--learning-rate", min=0.0, help="Peak learning rate.")]
_Size = Annotated[str | None, typer.Option("--size", help="Folders: resize every image to HxW, e.g. 28x28.")]
_Mode = Annotated[ColourMode, typer.Option("--mode", help="Folders: L (grey) or RGB.")]
_Levels = Annotated[int | None, typer.Option("--levels", min=2, help="Requantise pixels to this many levels.")]
_ValFraction = Annotated[float, typer.Option("--val-fraction", min=0.0, max=0.5, help="Images held out and scored.")]
_Seed = Annotated[int, typer.Option("--seed", min=0, help="Random seed.")]
_Grid = Annotated[Path | None, typer.Option("--grid", help="Also write a PNG grid of 64 samples here.")]
_Progress = Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")]
_Device = Annotated[str, typer.Option("--device", help="auto (CUDA when present), cpu or cuda.")]


@fit_app.command("vae")
def fit_vae(
    data: _Data,
    out: _Out,
    latent: Annotated[int, typer.Option("--latent", min=1, help="Latent dimensions.")] = 16,
    conditional: Annotated[bool, typer.Option("--conditional", help="Class-conditional (labels needed).")] = False,
    likelihood: Annotated[Likelihood, typer.Option("--likelihood", help="The decoder's pixel distribution.")] = (
        Likelihood.categorical
    ),
    architecture: Annotated[Architecture, typer.Option("--architecture", help="mlp or conv.")] = Architecture.mlp,
    decoder: Annotated[Decoder, typer.Option(
        "--decoder", help="independent (pixels independent given z) or pixelcnn (PixelVAE: a few masked-convolution "
                          "layers conditioned on z; --likelihood categorical only).")] = Decoder.independent,
    decoder_layers: Annotated[int, typer.Option(
        "--decoder-layers", min=1, help="--decoder pixelcnn: gated layers (each sees one more row up).")] = 3,
    decoder_filters: Annotated[int, typer.Option(
        "--decoder-filters", min=1, help="--decoder pixelcnn: feature maps per stack.")] = 32,
    free_bits: Annotated[float, typer.Option(
        "--free-bits", min=0.0, help="Nats of KL per latent dimension left unpenalised (against posterior "
                                     "collapse).")] = 0.0,
    kl_warmup_steps: Annotated[int, typer.Option(
        "--kl-warmup-steps", min=0, help="Steps over which the KL weight rises from 0 to 1.")] = 1000,
    max_time: _MaxTime = None,
    max_steps: _MaxSteps = None,
    epochs: _Epochs = None,
    batch_size: _BatchSize = 128,
    learning_rate: _LearningRate = 2e-3,
    size: _Size = None,
    mode: _Mode = ColourMode.grey,
    levels: _Levels = None,
    val_fraction: _ValFraction = 0.1,
    seed: _Seed = 0,
    grid: _Grid = None,
    progress: _Progress = True,
    device: _Device = "auto",
) -> None:
    """Train a variational autoencoder (or --conditional VAE) on images and save it.

    After training it prints the KL of the latent (in all and per dimension) and the active units: near zero, the
    decoder ignores the code (posterior collapse, the risk of --decoder pixelcnn; --free-bits and --kl-warmup-steps
    work against it).

    Example: genlab fit vae digits --latent 16 --max-time 3m --out vae.genlab --grid samples.png
    """
    from genlab.images.vae import VAE, ConditionalVAE

    if decoder is Decoder.pixelcnn and likelihood is not Likelihood.categorical:
        raise ParameterError(f"--decoder pixelcnn draws every pixel level from a softmax over the levels; --likelihood "
                             f"{likelihood.value} applies to --decoder independent only (leave --likelihood out).")
    cls = ConditionalVAE if conditional else VAE
    model = cls(latent_dim=latent, likelihood=likelihood.value, architecture=architecture.value,
                decoder=decoder.value, decoder_layers=decoder_layers, decoder_filters=decoder_filters,
                free_bits=free_bits, kl_warmup_steps=kl_warmup_steps, device=device, random_state=seed)
    _fit_and_save(model, data, out, size=size, mode=mode, levels=levels, val_fraction=val_fraction, seed=seed,
                  grid=grid, conditional=conditional, max_time=max_time, max_steps=max_steps, epochs=epochs,
                  batch_size=batch_size, learning_rate=learning_rate, progress=progress)


@fit_app.command("vqvae")
def fit_vqvae(
    data: _Data,
    out: _Out,
    codes: Annotated[int, typer.Option("--codes", min=2, help="Codebook entries K (the levels of every code).")] = 64,
    code_dim: Annotated[int, typer.Option("--code-dim", min=1, help="Length of every codebook entry.")] = 16,
    hidden: Annotated[int, typer.Option("--hidden", min=1, help="Channels of the encoder and decoder.")] = 64,
    downsample: Annotated[int, typer.Option(
        "--downsample", min=0, help="Stride-2 convolutions: the code grid is the image halved this many times.")] = 1,
    beta: Annotated[float, typer.Option("--beta", min=0.0, help="Weight of the commitment loss.")] = 0.25,
    ema_decay: Annotated[float, typer.Option(
        "--ema-decay", min=0.0, help="Decay of the codebook's moving averages, below 1 (0: learn the codebook by "
                                     "gradient).")] = 0.99,
    no_restart: Annotated[bool, typer.Option(
        "--no-restart", help="Keep codes no image chose in an epoch where they are (default: move them onto "
                             "encoder outputs).")] = False,
    prior_layers: Annotated[int, typer.Option("--prior-layers", min=1, help="Gated layers of the PixelCNN prior.")] = 6,
    prior_filters: Annotated[int, typer.Option(
        "--prior-filters", min=1, help="Feature maps per stack of the PixelCNN prior.")] = 32,
    prior_steps: Annotated[int | None, typer.Option(
        "--prior-steps", min=1, help="Optimizer steps of the prior (default: the rest of --max-time, or PixelCNN's "
                                     "default).")] = None,
    prior_share: Annotated[float, typer.Option(
        "--prior-share", help="With --max-time: the share of it the prior trains for, in (0, 1).")] = 0.5,
    max_time: _MaxTime = None,
    max_steps: Annotated[int | None, typer.Option("--max-steps", min=1, help="Optimizer steps of the autoencoder "
                                                                             "(the prior: --prior-steps).")] = None,
    epochs: _Epochs = None,
    batch_size: _BatchSize = 128,
    learning_rate: _LearningRate = 2e-3,
    size: _Size = None,
    mode: _Mode = ColourMode.grey,
    levels: _Levels = None,
    val_fraction: _ValFraction = 0.1,
    seed: _Seed = 0,
    grid: _Grid = None,
    reconstructions: Annotated[Path | None, typer.Option(
        "--reconstructions", help="Also write a PNG of held-out images, each row above its reconstructions.")] = None,
    progress: _Progress = True,
    device: _Device = "auto",
) -> None:
    """Train a VQ-VAE (discrete codes, then a PixelCNN prior over the code grids) on images and save it.

    It prints the codebook usage and code perplexity, the prior's nats per code beside log K, and held-out bits per
    dimension from the own-codes bound log p(x|c(x)) + log p(c(x)), an upper bound on the true figure.

    Example: genlab fit vqvae digits --codes 64 --max-time 10m --out vq.genlab --grid vq.png
    """
    from genlab.images.vqvae import VQVAE

    if not 0.0 < prior_share < 1.0:
        raise ParameterError(f"--prior-share is the share of --max-time the prior trains for, in (0, 1); got "
                             f"{prior_share}.")
    if ema_decay >= 1.0:
        raise ParameterError(f"--ema-decay must be below 1 (1 would never move the codebook); got {ema_decay}.")
    prior_params: dict[str, Any] = {"n_layers": prior_layers, "n_filters": prior_filters}
    if prior_steps is not None:
        prior_params["max_steps"] = prior_steps

    def check_downsample(X: np.ndarray) -> None:
        height, width = X.shape[2:]
        if min(height, width) >> downsample < 1:  # each stride-2 convolution halves a side, rounding down
            raise ParameterError(f"--downsample {downsample} halves {height} x {width} images to nothing; use at most "
                                 f"{int(math.log2(min(height, width)))}.")

    model = VQVAE(n_codes=codes, code_dim=code_dim, hidden=hidden, n_downsample=downsample, beta=beta,
                  ema_decay=ema_decay, restart_dead_codes=not no_restart, prior_params=prior_params,
                  prior_share=prior_share)
    model.set_params(device=device, random_state=seed)
    _fit_and_save(model, data, out, size=size, mode=mode, levels=levels, val_fraction=val_fraction, seed=seed,
                  grid=grid, conditional=False, max_time=max_time, max_steps=max_steps, epochs=epochs,
                  batch_size=batch_size, learning_rate=learning_rate, progress=progress,
                  reconstructions=reconstructions, check_images=check_downsample)


@fit_app.command("autoencoder")
def fit_autoencoder(
    data: _Data,
    out: _Out,
    latent: Annotated[int, typer.Option("--latent", min=1, help="Latent dimensions.")] = 16,
    max_time: _MaxTime = None,
    max_steps: _MaxSteps = None,
    epochs: _Epochs = None,
    batch_size: _BatchSize = 128,
    learning_rate: _LearningRate = 2e-3,
    size: _Size = None,
    mode: _Mode = ColourMode.grey,
    levels: _Levels = None,
    seed: _Seed = 0,
    grid: _Grid = None,
    progress: _Progress = True,
    device: _Device = "auto",
) -> None:
    """Train a deterministic autoencoder (samples: a Gaussian mixture on its codes, decoded) and save it.

    It has no likelihood, so nothing is held out or scored. Example: genlab fit autoencoder digits --out ae.genlab
    """
    from genlab.images.autoencoder import Autoencoder

    model = Autoencoder(latent_dim=latent, device=device, random_state=seed)
    _fit_and_save(model, data, out, size=size, mode=mode, levels=levels, val_fraction=0.0, seed=seed, grid=grid,
                  conditional=False, max_time=max_time, max_steps=max_steps, epochs=epochs, batch_size=batch_size,
                  learning_rate=learning_rate, progress=progress)


@fit_app.command("pixelcnn")
def fit_pixelcnn(
    data: _Data,
    out: _Out,
    conditional: Annotated[bool, typer.Option("--conditional", help="Class-conditional (labels needed).")] = False,
    filters: Annotated[int, typer.Option("--filters", min=1, help="Feature maps per stack.")] = 32,
    layers: Annotated[int, typer.Option("--layers", min=1, help="Gated layers.")] = 6,
    max_time: _MaxTime = None,
    max_steps: _MaxSteps = None,
    epochs: _Epochs = None,
    batch_size: _BatchSize = 64,
    learning_rate: _LearningRate = 2e-3,
    size: _Size = None,
    mode: _Mode = ColourMode.grey,
    levels: _Levels = None,
    val_fraction: _ValFraction = 0.1,
    seed: _Seed = 0,
    grid: _Grid = None,
    progress: _Progress = True,
    device: _Device = "auto",
) -> None:
    """Train a gated PixelCNN (exact likelihood; --conditional on the class labels) and save it.

    Example: genlab fit pixelcnn digits --max-time 3m --out pixelcnn.genlab --grid samples.png
    """
    from genlab.images.pixelcnn import ConditionalPixelCNN, PixelCNN

    cls = ConditionalPixelCNN if conditional else PixelCNN
    model = cls(n_filters=filters, n_layers=layers, device=device, random_state=seed)
    _fit_and_save(model, data, out, size=size, mode=mode, levels=levels, val_fraction=val_fraction, seed=seed,
                  grid=grid, conditional=conditional, max_time=max_time, max_steps=max_steps, epochs=epochs,
                  batch_size=batch_size, learning_rate=learning_rate, progress=progress)


# -- the shared commands' image branches ---------------------------------------------------------------------------
def _label_value(model: Any, label: str) -> Any:
    """The trained class whose text is ``label`` (digits: 3; folders: the subfolder name)."""
    classes = list(np.asarray(model.classes_).tolist())
    for value in classes:
        if str(value) == label:
            return value
    raise DataError(f"label {label!r} is not one of the trained classes: {', '.join(map(str, classes))}.")


def sample_images(model: Any, model_path: Path, n_samples: int, seed: int | None, grid: Path | None,
                  label: str | None, out: Path | None) -> None:
    """``genlab sample`` for image models: a PNG grid (``--grid``) and/or the pixel levels as CSV / .npy."""
    from genlab.data.tabular import save_table, write_csv

    kwargs: dict[str, Any] = {"random_state": seed}
    if label is not None:
        if not _is_conditional(model):
            raise ParameterError(f"--label needs a class-conditional model; {model_path} holds an unconditional "
                                 f"{type(model).__name__}.")
        kwargs["y"] = _label_value(model, label)
    images = _images(model.sample(n_samples, **kwargs))
    if grid is not None:
        from genlab.images.plots import save_image_grid

        save_image_grid(images, grid, model.n_levels_)
        typer.echo(f"wrote a grid of {n_samples} images to {grid}")
    flat = images.reshape(images.shape[0], -1)  # one row of C*H*W pixel levels per image
    if out is not None:
        save_table(out, flat)
        typer.echo(f"wrote {n_samples} images ({images.shape[1:]} as rows of {flat.shape[1]} levels) to {out}")
    elif grid is None:
        write_csv(sys.stdout, flat)


def score_images(model: Any, data: Path) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """``genlab score`` for image models: bits per dimension of the discrete pixel values of DATA."""
    from genlab.images.likelihood import nats_to_bits_per_dimension

    channels, height, width = (int(s) for s in model.image_shape_)
    size = None if str(data) == DIGITS else f"{height}x{width}"
    mode = "RGB" if channels == 3 else "L"
    # conditional models are scored by their marginal log p(x), comparable with every other model; an autoencoder
    # raises its NoLikelihoodError (a genlab error: one line, exit 2)
    X, _, _ = load_images(str(data), size, mode, None if str(data) == DIGITS else model.n_levels_)
    log_probs = np.asarray(model.log_prob(X, **_log_prob_options(model)))
    n_dims = channels * height * width
    nats = float(-log_probs.mean())
    bits = nats_to_bits_per_dimension(log_probs, n_dims)
    estimate = _estimate(model)
    report = {"n_images": int(X.shape[0]), "n_dimensions": n_dims, "nats_per_image": nats,
              "bits_per_dimension": bits, "estimate": estimate}
    lines = [("data", f"{data} ({X.shape[0]:,} images, {n_dims} pixel values each)"),
             ("negative log-likelihood", f"{nats:.4f} nats per image ({estimate})"),
             ("bits per dimension", f"{bits:.6f}")]
    return report, lines

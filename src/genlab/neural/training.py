"""The one training loop of genlab's neural models (DESIGN.md section 3, layer 5).

:func:`train` drives any module with ``forward(x, y) -> (output, loss)`` over a data source with
``batch(step, micro_step) -> (x, y)``: AdamW with weight decay on matrix weights only (biases, norms and other
vectors are not decayed), linear warm-up then cosine decay to ``min_lr``, gradient clipping, gradient
accumulation, bf16 autocast and optional ``torch.compile`` on CUDA, periodic evaluation on fixed validation
batches, early stopping, a time budget (``max_time``) besides ``max_steps``, the shared progress display on stderr
(:class:`genlab.utils.progress.ProgressDisplay`), and atomic checkpoints with exact resume. Estimators drive it
through :class:`genlab.neural.estimator.NeuralEstimator`.

Exact resume: a checkpoint holds the parameters, the optimizer's moments, the torch random states (dropout), the
step, the early-stopping state and the history. The batches of step ``s`` are a pure function of ``(seed, s)``
(:class:`WindowSampler`), so the data position is the step itself. A run killed at any moment and resumed from its
last checkpoint therefore ends with exactly the weights of an uninterrupted run (on the same machine and thread
count; with ``max_time`` the stopping point itself depends on the clock). Checkpoints are safetensors files (no
pickle) written to a temporary file and renamed, so a kill during a write leaves the previous one intact.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from genlab.errors import ModelFileError, ParameterError
from genlab.learn.checkpoint import fingerprint_differences
from genlab.utils.files import atomic_write
from genlab.utils.progress import ProgressDisplay

__all__ = ["TrainResult", "TrainingConfig", "WindowSampler", "load_checkpoint", "resolve_device", "train"]

CHECKPOINT_FORMAT = "genlab-checkpoint"
CHECKPOINT_VERSION = 1
_EVAL_STREAM = 2**31 - 1  # seed-sequence word that separates validation batches from training batches


@dataclass
class TrainingConfig:
    """Settings of :func:`train` (defaults after nanoGPT's small-data settings)."""

    max_steps: int | None = None  # optimizer steps; None: until max_time
    # seconds of training in this run (evaluation included; on resume the earlier runs' time is not counted);
    # None: until max_steps
    max_time: float | None = None
    batch_size: int = 32  # sequences per micro-batch
    grad_accum_steps: int = 1  # micro-batches per optimizer step
    learning_rate: float = 1e-3
    min_lr: float | None = None  # end of the cosine decay; default learning_rate / 10
    warmup_steps: int = 100  # linear warm-up from 0
    lr_decay_steps: int | None = None  # length of warm-up + cosine; default max_steps (or max_time)
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.99  # 0.99 rather than 0.999: small batches, few tokens per step (nanoGPT)
    grad_clip: float | None = 1.0  # maximum global gradient norm; None: no clipping
    eval_interval: int = 250  # steps between validation evaluations
    eval_batches: int = 20  # validation batches per evaluation (the same batches every time)
    patience: int | None = None  # stop after this many evaluations without improvement; keeps the best weights
    checkpoint_path: str | None = None
    checkpoint_interval: int | None = None  # steps between checkpoints; default eval_interval
    resume: bool = False  # continue from checkpoint_path when it exists
    device: str = "auto"  # "auto": CUDA when present, else CPU
    compile: bool = False  # torch.compile the module (CUDA only; ignored on CPU)
    seed: int = 0
    # CPU threads of PyTorch and the BLAS libraries during training; None: chosen from the cores available and the
    # load of other processes, unless set already (OMP_NUM_THREADS, torch.set_num_threads): genlab.utils.threads
    n_threads: int | None = None
    verbose: int = 0  # the progress display on stderr (genlab.utils.progress): 0 silent, 1 a live bar, 2 lines too
    name: str = "training"  # what the progress display calls the run
    # DistributedDataParallel across the processes of a torchrun job: ``batch_size`` is per process; the training
    # data must then yield the global batch (batch_size x world size) for each step, of which each rank takes its rows
    distributed: bool = False

    def validate(self) -> None:
        """Raise :class:`~genlab.errors.ParameterError` on a setting :func:`train` cannot run with."""
        if self.max_steps is None and self.max_time is None:
            raise ParameterError("give max_steps or max_time (or both): training needs an end.")
        for name in ("max_steps", "batch_size", "grad_accum_steps", "eval_interval", "eval_batches",
                     "checkpoint_interval", "patience", "lr_decay_steps", "n_threads"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer))
                                      or value < 1):
                raise ParameterError(f"{name} must be an integer >= 1; got {value!r}.")
        if isinstance(self.warmup_steps, bool) or not isinstance(self.warmup_steps, int) or self.warmup_steps < 0:
            raise ParameterError(f"warmup_steps must be an integer >= 0; got {self.warmup_steps!r}.")
        if self.max_time is not None and not (isinstance(self.max_time, (int, float)) and self.max_time > 0):
            raise ParameterError(f"max_time must be a number of seconds > 0; got {self.max_time!r}.")
        if not (self.learning_rate > 0 and math.isfinite(self.learning_rate)):
            raise ParameterError(f"learning_rate must be > 0; got {self.learning_rate!r}.")
        if self.min_lr is not None and not 0 <= self.min_lr <= self.learning_rate:
            raise ParameterError(f"min_lr must be in [0, learning_rate]; got {self.min_lr!r}.")
        if self.weight_decay < 0:
            raise ParameterError(f"weight_decay must be >= 0; got {self.weight_decay!r}.")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ParameterError(f"grad_clip must be > 0 or None; got {self.grad_clip!r}.")
        if self.resume and self.checkpoint_path is None:
            raise ParameterError("resume=True needs a checkpoint_path.")

    def learning_rate_at(self, step: int, elapsed: float, time_horizon: float | None = None) -> float:
        """Warm-up then cosine decay; progress is in steps, or in time when only ``max_time`` ends the run.

        ``time_horizon`` is when the decay ends in seconds of training (default ``max_time``; a resumed run ends
        it with its own budget: the earlier runs' seconds plus ``max_time``).
        """
        if step < self.warmup_steps:
            return self.learning_rate * (step + 1) / (self.warmup_steps + 1)
        min_lr = self.learning_rate / 10 if self.min_lr is None else self.min_lr
        horizon = self.lr_decay_steps or self.max_steps
        if horizon is not None:
            span = max(horizon - self.warmup_steps, 1)
            progress = (step - self.warmup_steps) / span
        else:
            horizon_seconds = float(self.max_time if time_horizon is None else time_horizon)  # type: ignore[arg-type]
            progress = elapsed / horizon_seconds
        progress = min(max(progress, 0.0), 1.0)
        return min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (self.learning_rate - min_lr)


class WindowSampler:
    """Random windows of a token stream: step ``s``'s batch depends only on ``(seed, s, micro_step)``.

    Parameters
    ----------
    tokens : ndarray of int, shape (N,)
        The stream (texts joined, each preceded by the ``<bos>`` id ``ignore_id``).
    block_size : int
        Window length T; inputs are ``tokens[i : i + T]``, targets ``tokens[i + 1 : i + T + 1]``.
    batch_size : int
    seed : int
    ignore_id : int or None
        A target equal to this id (``<bos>``, input only) becomes -1: not scored.
    """

    def __init__(self, tokens: np.ndarray, block_size: int, batch_size: int, seed: int,
                 ignore_id: int | None = None) -> None:
        self.tokens = torch.from_numpy(np.ascontiguousarray(tokens, dtype=np.int64))
        if self.tokens.numel() < block_size + 1:
            raise ValueError("the stream is shorter than one window")
        self.block_size = block_size
        self.batch_size = batch_size
        self.seed = seed
        self.ignore_id = ignore_id
        self._offsets = torch.arange(block_size + 1)

    @property
    def n_examples(self) -> int:
        """Windows in one pass over the stream (what an epoch counts)."""
        return max(1, (self.tokens.numel() - 1) // self.block_size)

    def batch(self, step: int, micro_step: int = 0, stream: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """Inputs and targets, each (batch_size, block_size)."""
        rng = np.random.default_rng([self.seed, stream, step, micro_step])
        starts = torch.from_numpy(rng.integers(0, self.tokens.numel() - self.block_size, size=self.batch_size))
        windows = self.tokens[starts[:, None] + self._offsets]  # (B, T + 1)
        x, y = windows[:, :-1], windows[:, 1:].clone()
        if self.ignore_id is not None:
            y[y == self.ignore_id] = -1
        return x, y

    def eval_batch(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Validation batch number ``index``: windows from a seed stream of their own, the same at every evaluation."""
        return self.batch(index, 0, stream=_EVAL_STREAM)

    def digest(self) -> str:
        """SHA-256 of the token stream: a checkpoint records it and refuses to resume on other data."""
        return hashlib.sha256(self.tokens.numpy().tobytes()).hexdigest()


@dataclass
class TrainResult:
    """What a training run did: steps, tokens, seconds, why it stopped, and the evaluation history."""

    steps: int = 0
    tokens: int = 0
    elapsed: float = 0.0
    stop_reason: str = ""
    best_val_loss: float = math.inf
    bad_evals: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    resumed_from: int | None = None
    last_loss: float = math.nan  # the last step's training loss and learning rate (an evaluation records them)
    last_lr: float = math.nan
    threads: str = ""  # the CPU threads of the last run and why (genlab.utils.threads.ThreadChoice.describe)
    # steps whose gradient was not finite and that changed no weight (modules with skip_nonfinite_steps only)
    skipped_steps: int = 0

    @property
    def tokens_per_second(self) -> float:
        """Training tokens per second of this run's wall-clock time (NaN before any time has passed)."""
        return self.tokens / self.elapsed if self.elapsed > 0 else math.nan


def resolve_device(device: str) -> torch.device:
    """The torch device that ``device`` names: ``"auto"`` is CUDA when available, else the CPU.

    Raises
    ------
    ParameterError
        A name torch does not know, or ``"cuda"`` on a machine without CUDA.
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise ParameterError(f"device must be 'auto', 'cpu' or 'cuda[:n]'; got {device!r}.") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ParameterError("device='cuda' was asked for but no CUDA device is available; use device='auto'.")
    return resolved


def make_optimizer(module: torch.nn.Module, config: TrainingConfig, device: torch.device) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices (dim >= 2: linear and embedding weights) only, except a matrix marked
    ``no_weight_decay`` (a VQ-VAE's codebook: decay would pull every code to the origin)."""
    params = [p for p in module.parameters() if p.requires_grad]
    decayed = [p for p in params if p.dim() >= 2 and not getattr(p, "no_weight_decay", False)]
    groups = [
        {"params": decayed, "weight_decay": config.weight_decay},
        {"params": [p for p in params if not any(p is q for q in decayed)], "weight_decay": 0.0},
    ]
    # the fused kernel is the fastest on CPU and CUDA alike; it needs float parameters on one device type
    return torch.optim.AdamW(groups, lr=config.learning_rate, betas=(config.beta1, config.beta2), fused=True)


# -- checkpoints ---------------------------------------------------------------------------------------------------
def _state_tensors(module: torch.nn.Module, prefix: str) -> dict[str, torch.Tensor]:
    return {f"{prefix}/{k}": v.detach().to("cpu").contiguous().clone() for k, v in module.state_dict().items()}


def save_checkpoint(path: str, module: torch.nn.Module, optimizer: torch.optim.Optimizer, result: TrainResult,
                    fingerprint: dict[str, Any], best: dict[str, torch.Tensor] | None,
                    rng: tuple[torch.Tensor, list[torch.Tensor]] | None = None) -> None:
    """Write a checkpoint atomically; ``rng``: the random states to store (default: the current ones), e.g. those
    at the start of a step that an interrupt cut short."""
    from safetensors.torch import save

    tensors = _state_tensors(module, "model")
    if best is not None:
        tensors.update({f"best/{k}": v for k, v in best.items()})
    params = [p for group in optimizer.param_groups for p in group["params"]]
    for i, p in enumerate(params):
        for key, value in optimizer.state.get(p, {}).items():
            tensors[f"optimizer/{i}/{key}"] = torch.as_tensor(value).detach().to("cpu").contiguous().clone()
    cpu_state, cuda_states = _rng_states() if rng is None else rng
    tensors["rng/torch"] = cpu_state
    for i, state in enumerate(cuda_states):
        tensors[f"rng/cuda/{i}"] = state
    meta = {
        "fingerprint": fingerprint,
        "result": dataclasses.asdict(result),
    }
    payload = save(tensors, metadata={"format": CHECKPOINT_FORMAT, "version": str(CHECKPOINT_VERSION),
                                      "state": json.dumps(meta)})
    with atomic_write(path, "wb") as handle:
        handle.write(payload)


def _rng_states() -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The torch random states (CPU, and every CUDA device) as tensors."""
    return torch.get_rng_state(), list(torch.cuda.get_rng_state_all()) if torch.cuda.is_available() else []


def checkpoint_progress(path: str) -> dict[str, Any] | None:
    """The ``result`` of the checkpoint at ``path`` (``steps``, ``elapsed``, ...); None when there is no file.

    Raises
    ------
    ModelFileError
        A file that is not a readable genlab training checkpoint.
    """
    if not os.path.exists(path):
        return None
    meta, _ = load_checkpoint(path)
    return dict(meta.get("result") or {})


def load_checkpoint(path: str) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Metadata (``fingerprint``, ``result``) and tensors of a checkpoint; :class:`ModelFileError` if unreadable."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    try:
        with open(path, "rb") as handle:
            payload = handle.read()
        tensors = load(payload)
        header_size = int.from_bytes(payload[:8], "little")
        metadata = json.loads(payload[8 : 8 + header_size]).get("__metadata__") or {}
    except (OSError, SafetensorError, ValueError) as exc:
        raise ModelFileError(f"cannot read the checkpoint {path!r}: {exc}.") from None
    if metadata.get("format") != CHECKPOINT_FORMAT:
        raise ModelFileError(f"{path!r} is not a genlab training checkpoint.")
    return json.loads(metadata["state"]), tensors


def _restore(path: str, module: torch.nn.Module, optimizer: torch.optim.Optimizer, fingerprint: dict[str, Any],
             device: torch.device) -> tuple[TrainResult, dict[str, torch.Tensor] | None]:
    meta, tensors = load_checkpoint(path)
    diffs = fingerprint_differences(meta.get("fingerprint"), json.loads(json.dumps(fingerprint)), show_values=True)
    if diffs:
        shown = "; ".join(diffs[:4]) + (f"; and {len(diffs) - 4} more" if len(diffs) > 4 else "")
        raise ParameterError(
            f"the checkpoint {path!r} was written by a different configuration ({shown}); resume with the settings "
            "and data it was written with, or start afresh without resume (delete or move the checkpoint)."
        )
    module.load_state_dict({k[len("model/"):]: v for k, v in tensors.items() if k.startswith("model/")})
    params = [p for group in optimizer.param_groups for p in group["params"]]
    for i, p in enumerate(params):
        state = {k.split("/")[2]: v for k, v in tensors.items() if k.startswith(f"optimizer/{i}/")}
        if state:
            optimizer.state[p] = {k: v.to(device) for k, v in state.items()}
    torch.set_rng_state(tensors["rng/torch"])
    cuda_states = [tensors[f"rng/cuda/{i}"] for i in range(torch.cuda.device_count()) if f"rng/cuda/{i}" in tensors]
    if cuda_states:
        torch.cuda.set_rng_state_all(cuda_states)
    best = {k[len("best/"):]: v for k, v in tensors.items() if k.startswith("best/")} or None
    result = TrainResult(**meta["result"])
    result.resumed_from = result.steps
    return result, best


# -- the loop ------------------------------------------------------------------------------------------------------
def _evaluate(model: Callable, data: Any, n_batches: int, device: torch.device, autocast: Any) -> float:
    losses = []
    with torch.no_grad():
        for i in range(n_batches):
            x, y = data.eval_batch(i)
            with autocast():
                _, loss = model(x.to(device, non_blocking=True), y.to(device, non_blocking=True))
            losses.append(float(loss))
    return float(np.mean(losses))


def _sync_ranks(module: torch.nn.Module, on: bool) -> None:
    """Mark the parts that keep statistics of the batches they see (a VQ-VAE's quantiser: ``sync_ranks``) to sum them
    over the ranks of this distributed fit, or no longer: a process group that exists for other work is not joined."""
    for part in module.modules():
        if hasattr(part, "sync_ranks"):
            part.sync_ranks = on


def train(
    module: torch.nn.Module,
    train_data: Any,
    val_data: Any,
    config: TrainingConfig,
    *,
    fingerprint: dict[str, Any] | None = None,
    callback: Callable[[int, float], None] | None = None,
) -> TrainResult:
    """Train ``module`` in place; return what happened.

    Parameters
    ----------
    module : torch.nn.Module
        ``module(x, y) -> (output, loss)`` with a scalar mean loss.
    train_data : object with ``batch(step, micro_step) -> (x, y)``
        E.g. :class:`WindowSampler`; must be a pure function of its arguments for exact resume.
    val_data : object with ``eval_batch(i) -> (x, y)``, or None
    config : TrainingConfig
    fingerprint : dict, optional
        JSON-able description of the model, data and settings stored in checkpoints; resuming from a checkpoint
        whose fingerprint differs raises :class:`~genlab.errors.ParameterError` naming the differences.
    callback : callable, optional
        ``callback(step, loss)`` after every optimizer step (``loss`` of its last micro-batch, nats).

    Returns
    -------
    TrainResult

    Raises
    ------
    genlab.learn.FitInterrupted
        Ctrl-C (a :class:`KeyboardInterrupt`): with a ``checkpoint_path``, a checkpoint of the last completed step
        is written first (also before the first ``checkpoint_interval``), from which ``resume`` continues exactly.
    """
    from genlab.utils.threads import training_threads

    config.validate()
    # PyTorch's default (one thread per core) stalls when another process keeps a core busy: genlab.utils.threads
    with training_threads(config.n_threads) as threads:
        return _train(module, train_data, val_data, config, fingerprint, callback, threads.describe())


def _train(module: torch.nn.Module, train_data: Any, val_data: Any, config: TrainingConfig,
           fingerprint: dict[str, Any] | None, callback: Callable[[int, float], None] | None,
           threads: str) -> TrainResult:
    from genlab.learn.state import FitInterrupted, defer_interrupts

    device = resolve_device(config.device)
    process_group = None
    if config.distributed:
        from genlab.distributed import get_process_group

        process_group = get_process_group(backend="nccl" if device.type == "cuda" else "gloo")
        if device.type == "cuda":  # one GPU per process, by the local rank torchrun sets
            local_rank = int(os.environ.get("LOCAL_RANK", process_group.rank))
            device = torch.device("cuda", local_rank % torch.cuda.device_count())
    writer = process_group is None or process_group.rank == 0  # only rank 0 writes checkpoints and shows progress
    fingerprint = dict(fingerprint or {})
    fingerprint["training"] = {k: getattr(config, k) for k in (
        "batch_size", "grad_accum_steps", "learning_rate", "min_lr", "warmup_steps", "lr_decay_steps",
        "weight_decay", "beta1", "beta2", "grad_clip", "seed", "eval_batches")}
    # max_time counts from here: the first optimizer a process builds imports torch._dynamo (seconds), which is
    # part of this fit's time as the user (or a comparison's budget) sees it
    setup_started = time.perf_counter()
    module.to(device)
    optimizer = make_optimizer(module, config, device)
    result, best = TrainResult(), None
    path = config.checkpoint_path
    if config.resume and path is not None and os.path.exists(path):
        result, best = _restore(path, module, optimizer, fingerprint, device)
    else:
        torch.manual_seed(config.seed)
    if config.resume and writer and config.verbose >= 1:  # the one line that says what --resume does
        if result.resumed_from is None:
            line = f"no checkpoint at {path} yet: training from step 0"
        else:
            line = (f"resuming from step {result.steps:,} of the checkpoint {path} ({result.elapsed:.1f} s trained "
                    "before; max_time counts this run only)")
        print(line, file=sys.stderr, flush=True)
    result.threads = threads
    model: Callable = module
    if process_group is not None:
        # DDP broadcasts rank 0's parameters and buffers at construction and averages the gradients of every
        # backward pass across the ranks: with equal per-rank batches that is the gradient of the global batch
        model = torch.nn.parallel.DistributedDataParallel(module)
        _sync_ranks(module, True)
    if config.compile and device.type == "cuda":
        model = torch.compile(model)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True

        def autocast() -> Any:
            return torch.autocast("cuda", dtype=torch.bfloat16)
    else:
        autocast = contextlib.nullcontext
    interval = config.checkpoint_interval or config.eval_interval
    progress = ProgressDisplay(config.name, config.verbose if writer else 0, interval=100)
    by_steps = config.max_steps is not None
    progress.start((f"from step {result.steps}" if result.steps else "training") + f" on {threads}",
                   config.max_steps if by_steps else config.max_time)
    module.train()
    skip_nonfinite = bool(getattr(module, "skip_nonfinite_steps", False))
    # max_time is this run's budget: the earlier runs' seconds (result.elapsed on resume) are not counted
    earlier = result.elapsed
    run_started = setup_started
    time_horizon = None if config.max_time is None else earlier + config.max_time

    def total_elapsed() -> float:
        return earlier + time.perf_counter() - run_started

    def after_step(step: int) -> bool:
        """Evaluate when due, record it; whether early stopping ends training here."""
        nonlocal best
        last = config.max_steps is not None and step >= config.max_steps
        if val_data is None or not (step % config.eval_interval == 0 or last):
            return False
        module.eval()
        val_loss = _evaluate(model, val_data, config.eval_batches, device, autocast)
        module.train()
        with defer_interrupts():  # the history, the best loss and the best weights change together
            result.history.append({"step": step, "train_loss": result.last_loss, "val_loss": val_loss,
                                   "lr": result.last_lr, "elapsed": total_elapsed()})
            if val_loss < result.best_val_loss:
                result.best_val_loss, result.bad_evals = val_loss, 0
                if config.patience is not None:
                    best = {k: v.detach().to("cpu").clone() for k, v in module.state_dict().items()}
            else:
                result.bad_evals += 1
        return config.patience is not None and result.bad_evals >= config.patience

    window_start, window_tokens = time.perf_counter(), 0
    step_rng: tuple[torch.Tensor, list[torch.Tensor]] | None = None
    step_buffers: dict[str, torch.Tensor] | None = None
    in_step = False
    try:
        # a checkpoint written by an interrupt during the evaluation after its last step: that evaluation is due
        stop_early = (result.steps > 0 and (not result.history or result.history[-1]["step"] != result.steps)
                      and after_step(result.steps))
        if stop_early:
            result.stop_reason = "early_stopping"
        while not stop_early:
            if config.max_steps is not None and result.steps >= config.max_steps:
                result.stop_reason = "max_steps"
                break
            run_elapsed = time.perf_counter() - run_started
            if process_group is not None and config.max_time is not None:
                # every rank must read the same clock: each started its own at its own moment, and a rank that stops
                # alone waits in the final barrier while the others wait in DDP's gradient all-reduce (a deadlock
                # until the collective timeout); a learning rate set by time must also be the same on every rank
                (summed,) = process_group.all_reduce_sum([np.array([run_elapsed])])
                run_elapsed = float(summed[0]) / process_group.world_size
            if config.max_time is not None and run_elapsed >= config.max_time:
                result.stop_reason = "max_time"
                break
            lr = config.learning_rate_at(result.steps, earlier + run_elapsed, time_horizon)
            for group in optimizer.param_groups:
                group["lr"] = lr
            # an interrupt inside the step checkpoints the state before it, dropout's random state included, and the
            # buffers of a module whose forward updates them (a VQ-VAE's codebook statistics)
            step_rng, in_step = _rng_states(), True
            step_buffers = ({name: value.detach().clone() for name, value in module.named_buffers()}
                            if getattr(module, "forward_updates_buffers", False) else None)
            step_tokens = 0
            for micro in range(config.grad_accum_steps):
                x, y = train_data.batch(result.steps, micro)
                if process_group is not None:  # this rank's rows of the global batch
                    rows = slice(process_group.rank * config.batch_size, (process_group.rank + 1) * config.batch_size)
                    x, y = x[rows], y[rows]
                x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
                # gradients are all-reduced only on the last micro-batch of an accumulated step
                sync = process_group is None or micro == config.grad_accum_steps - 1
                with contextlib.nullcontext() if sync else model.no_sync():
                    with autocast():
                        _, loss = model(x, y)
                    (loss / config.grad_accum_steps).backward()
                step_tokens += x.numel() * (1 if process_group is None else process_group.world_size)
            finite = True
            if skip_nonfinite:
                # a spike far outside its window's scale can make one batch's loss infinite; its step is skipped
                # instead of turning every weight into NaN (a device sync per step: these modules opt in)
                norm = torch.nn.utils.clip_grad_norm_(module.parameters(), config.grad_clip or math.inf)
                finite = bool(torch.isfinite(norm))
            elif config.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(module.parameters(), config.grad_clip)
            with defer_interrupts():  # the weights, the optimizer's moments and the step count move together
                if finite:
                    optimizer.step()
                else:
                    result.skipped_steps += 1
                optimizer.zero_grad(set_to_none=True)
                result.steps += 1
                result.tokens += step_tokens
                result.last_lr = lr
                in_step = False
            window_tokens += step_tokens
            step = result.steps
            last = config.max_steps is not None and step >= config.max_steps
            evaluate = val_data is not None and (step % config.eval_interval == 0 or last)
            if callback is not None or step % 10 == 0 or last or evaluate:
                last_loss = float(loss.detach())  # a device sync: not every step on a GPU
                if process_group is not None:  # the global batch's loss: the mean of the ranks' equal-sized batches
                    (summed,) = process_group.all_reduce_sum([np.array([last_loss])])
                    last_loss = float(summed[0]) / process_group.world_size
                result.last_loss = last_loss
            if callback is not None:
                callback(step, result.last_loss)
            stop_early = after_step(step)
            result.elapsed = total_elapsed()
            if writer and path is not None and (step % interval == 0 or last or stop_early):
                save_checkpoint(path, module, optimizer, result, fingerprint, best)
            if step % 10 == 0 or last:
                now = time.perf_counter()
                speed = window_tokens / max(now - window_start, 1e-9)
                window_start, window_tokens = now, 0
                progress.update(step if by_steps else result.elapsed,
                                f"step {step} loss {result.last_loss:.4f} {speed:,.0f} tok/s", count=step)
            if stop_early:
                result.stop_reason = "early_stopping"
        progress.finish(result.steps if by_steps else result.elapsed,
                        f"{result.steps} steps, stopped by {result.stop_reason}")
    except KeyboardInterrupt as interrupt:
        if isinstance(interrupt, FitInterrupted):
            raise
        kept = None
        if writer and path is not None and result.steps > (result.resumed_from or 0):
            result.elapsed = total_elapsed()
            with defer_interrupts():  # a second Ctrl-C waits for this write (the previous file stays until then)
                if in_step and step_buffers is not None:
                    with torch.no_grad():
                        for name, value in module.named_buffers():
                            value.copy_(step_buffers[name])
                save_checkpoint(path, module, optimizer, result, fingerprint, best, rng=step_rng if in_step else None)
            kept = path
        elif path is not None and result.resumed_from is not None:
            kept = path  # nothing new since the resume: the checkpoint it resumed from still holds the progress
        raise FitInterrupted(f"at step {result.steps}", kept) from None
    finally:
        progress.close()
        _sync_ranks(module, False)  # the fit is over: its ranks are no longer summed over
    result.elapsed = total_elapsed()
    if writer and result.stop_reason == "max_time" and path is not None:
        save_checkpoint(path, module, optimizer, result, fingerprint, best)
    if process_group is not None:  # rank 0's last checkpoint is on disk before any rank goes on (and may resume)
        process_group.barrier()
    if best is not None and config.patience is not None:
        module.load_state_dict({k: v.to(device) for k, v in best.items()})
    return result

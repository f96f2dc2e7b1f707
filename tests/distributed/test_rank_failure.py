"""One rank of a distributed job fails: the job ends within seconds, its error output names the rank, and no process
of it is left running.

Each test launches a real job of 2 processes under torchrun (gloo on CPU) in which rank 1 fails partway through the
fit (``failing_worker.py``: an exception, SIGKILL, or stuck), or runs ``genlab fit gmm --distributed`` and kills
rank 1 from outside. A hang would last the collective timeout (600 s by default): the guard below ends the test long
before that, kills what is left of the job, and fails. A launch takes 20-35 s on a busy 2-core machine (three
interpreters import torch), so these tests are marked slow; ``test_distributed_em.py`` keeps a rank that dies in the
default run.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from genlab.distributed import DEFAULT_TIMEOUT_S, TIMEOUT_VARIABLE, collective_timeout, get_process_group
from genlab.errors import ParameterError

torch = pytest.importorskip("torch")

WORKER = Path(__file__).with_name("failing_worker.py")
#: From the failure to the end of the job. Generous (the job ends about a second after the failure; a hang waits for
#: the collective timeout): this is a hang guard, not a timing claim.
HANG_GUARD_S = 60.0
#: The whole launch: two interpreters importing torch on a busy 2-core machine take 15-30 s before the fit starts.
LAUNCH_GUARD_S = 180.0
#: torchrun's report of a worker ended by SIGKILL (the "Root Cause" or "Failures" entry of rank 1).
KILLED_RANK_1 = re.compile(r"rank\s*:\s*1 \(local_rank: 1\)\s*\n\s*exitcode\s*:\s*-9\b")


@dataclass
class Job:
    returncode: int
    stderr: str
    ended: float  # time.time() when the job had ended


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _job_processes(marker: str) -> list[int]:
    """Live processes (zombies aside) whose command line holds ``marker`` (this test's folder): the process table."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:  # ended while we looked
            continue
        if marker in command and state != "Z":
            found.append(int(entry.name))
    return found


def _launch(arguments: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-addr", "127.0.0.1",
               "--master-port", str(_free_port()), *arguments]  # fmt: skip
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore", **(env or {})}
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)


def _finish(process: subprocess.Popen, marker: str, stderr_lines: list[str] | None = None) -> Job:
    """Wait for the job (at most LAUNCH_GUARD_S); a job still running then is killed, process by process, and fails
    the test."""
    try:
        _, stderr = process.communicate(timeout=LAUNCH_GUARD_S)
    except subprocess.TimeoutExpired:
        for pid in _job_processes(marker):  # the launcher's workers: this test started them
            os.kill(pid, signal.SIGKILL)
        process.kill()
        process.communicate()
        pytest.fail(f"the job still ran after {LAUNCH_GUARD_S:.0f} s: a rank hangs")
    ended = time.time()
    return Job(process.returncode, "".join(stderr_lines or []) + (stderr or ""), ended)


def run_failing_worker(model: str, how: str, tmp_path: Path, env: dict[str, str] | None = None) -> Job:
    job = _finish(_launch([str(WORKER), model, how, str(tmp_path)], env), str(tmp_path))
    assert (tmp_path / "rank0.started").exists() and (tmp_path / "rank1.started").exists(), job.stderr[-3000:]
    return job


def _assert_failed_fast_and_left_nothing(job: Job, tmp_path: Path) -> None:
    assert job.returncode != 0, job.stderr[-3000:]
    failing = tmp_path / "rank1.failing"
    assert failing.exists(), f"rank 1 never reached its failure:\n{job.stderr[-3000:]}"
    waited = job.ended - float(failing.read_text())
    assert waited < HANG_GUARD_S, f"the job ended {waited:.0f} s after rank 1 failed"
    assert _job_processes(str(tmp_path)) == [], "processes of the job are still running"


def _rank_lines(stderr: str, rank: int) -> str:
    """The lines of ``stderr`` a rank's uncaught-exception report wrote (torch prefixes them ``[rank<r>]:``)."""
    return "\n".join(line for line in stderr.splitlines() if line.startswith(f"[rank{rank}]:"))


# -- distributed EM ----------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_em_rank_that_raises_fails_every_rank_naming_it_and_keeps_its_traceback(tmp_path):
    job = run_failing_worker("gmm", "raise", tmp_path)
    _assert_failed_fast_and_left_nothing(job, tmp_path)
    # rank 0 (the error agreement before the all-reduce) says which rank failed and how
    assert "[rank0]: genlab.errors.DataError: rank 1 of 2 failed: ValueError: bad value in row 17" in job.stderr
    # rank 1's own report still shows where it failed: the only copy of that traceback in the job
    rank1 = _rank_lines(job.stderr, 1)
    assert "in failing_e_step" in rank1 and "ValueError: bad value in row 17 of this shard" in rank1, rank1


def test_em_rank_killed_ends_the_job_naming_the_rank(tmp_path):  # in the default run: the "one rank dies"
    job = run_failing_worker("gmm", "kill", tmp_path)
    _assert_failed_fast_and_left_nothing(job, tmp_path)
    assert KILLED_RANK_1.search(job.stderr), job.stderr[-3000:]
    assert "Signal 9 (SIGKILL)" in job.stderr


@pytest.mark.slow
def test_em_rank_stuck_ends_the_job_after_the_timeout_setting(tmp_path):
    """A rank alive but stuck is the one failure no closed connection reveals: the collective timeout ends it, and
    GENLAB_DISTRIBUTED_TIMEOUT sets it (the default, 600 s, would outlast the guard)."""
    job = run_failing_worker("gmm", "stuck", tmp_path, env={TIMEOUT_VARIABLE: "10"})
    _assert_failed_fast_and_left_nothing(job, tmp_path)
    rank0 = _rank_lines(job.stderr, 0)
    assert "genlab.distributed.DistributedError: rank 0 of 2: the collective all_gather failed" in rank0, rank0
    assert "did not join it within 10 s" in rank0 and TIMEOUT_VARIABLE in rank0


@pytest.mark.slow
def test_em_bad_values_in_one_shard_fail_every_rank_naming_it(tmp_path):
    job = run_failing_worker("gmm", "nan", tmp_path)
    _assert_failed_fast_and_left_nothing(job, tmp_path)
    assert re.search(r"\[rank0\]: genlab\.errors\.DataError: rank 1 of 2 failed: DataError: .*NaN", job.stderr), (
        job.stderr[-3000:]
    )


@pytest.mark.slow
def test_cli_fit_gmm_rank_killed_from_outside_ends_the_job(tmp_path):
    """`genlab fit gmm --distributed`; rank 1 is sent SIGKILL once rank 0 reports EM iterations."""
    data = tmp_path / "data.csv"
    rng = np.random.default_rng(0)
    np.savetxt(data, np.vstack([rng.normal(loc, 1.0, size=(300, 2)) for loc in (-4.0, 0.0, 4.0)]), delimiter=",")
    process = _launch(["-m", "genlab", "fit", "gmm", str(data), "-k", "3", "--max-iter", "100000", "--tol", "0",
                       "--verbose", "--out", str(tmp_path / "m.genlab"), "--distributed"])  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    seen: list[str] = []

    def read() -> None:  # stderr, line by line, until the job closes it
        assert process.stderr is not None
        for line in process.stderr:
            lines.put(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.time() + LAUNCH_GUARD_S
    while not any("iteration" in line for line in seen):
        try:
            seen.append(lines.get(timeout=max(deadline - time.time(), 0.1)))
        except queue.Empty:
            break
        if time.time() > deadline:
            break
    assert any("iteration" in line for line in seen), "".join(seen)[-3000:]
    rank1 = [pid for pid in _job_processes(str(data)) if b"LOCAL_RANK=1\0" in Path(f"/proc/{pid}/environ").read_bytes()]
    assert len(rank1) == 1, rank1
    os.kill(rank1[0], signal.SIGKILL)
    killed = time.time()
    try:
        process.wait(timeout=HANG_GUARD_S)
    except subprocess.TimeoutExpired:
        pass
    reader.join(timeout=10)
    while not lines.empty():
        seen.append(lines.get())
    job = _finish(process, str(data), seen)
    assert job.returncode != 0
    assert job.ended - killed < HANG_GUARD_S
    assert KILLED_RANK_1.search(job.stderr), job.stderr[-3000:]
    assert _job_processes(str(data)) == []
    assert not (tmp_path / "m.genlab").exists()


# -- DistributedDataParallel training -----------------------------------------------------------------------------
@pytest.mark.slow
def test_ddp_rank_that_raises_ends_the_job_naming_the_rank(tmp_path):
    job = run_failing_worker("lm", "raise", tmp_path)
    _assert_failed_fast_and_left_nothing(job, tmp_path)
    assert "[rank1]: ValueError: bad value in row 17 of this shard" in job.stderr, job.stderr[-3000:]
    assert re.search(r"rank\s*:\s*1 \(local_rank: 1\)\s*\n\s*exitcode\s*:\s*1\b", job.stderr), job.stderr[-3000:]


@pytest.mark.slow
def test_ddp_rank_killed_ends_the_job_naming_the_rank(tmp_path):
    job = run_failing_worker("lm", "kill", tmp_path)
    _assert_failed_fast_and_left_nothing(job, tmp_path)
    assert KILLED_RANK_1.search(job.stderr), job.stderr[-3000:]


@pytest.mark.slow
def test_ddp_training_by_max_time_stops_every_rank_at_the_same_step(tmp_path):
    """Rank 1 starts training 1.5 s after rank 0 and training ends by max_time: a rank that stops alone would wait
    in the final barrier while the other waits in DDP's all-reduce (until the collective timeout, here 30 s)."""
    job = _finish(_launch([str(WORKER), "lm", "late", str(tmp_path)], {TIMEOUT_VARIABLE: "30"}), str(tmp_path))
    assert job.returncode == 0, job.stderr[-3000:]
    ranks = [np.load(tmp_path / f"rank{rank}.npz") for rank in (0, 1)]
    assert int(ranks[0]["steps"]) == int(ranks[1]["steps"]) > 0
    np.testing.assert_array_equal(ranks[0]["weights"], ranks[1]["weights"])  # the same learning rates, too
    assert _job_processes(str(tmp_path)) == []


# -- the timeout setting (no processes launched) --------------------------------------------------------------------
def test_collective_timeout_setting(monkeypatch):
    monkeypatch.delenv(TIMEOUT_VARIABLE, raising=False)
    assert collective_timeout() == DEFAULT_TIMEOUT_S
    monkeypatch.setenv(TIMEOUT_VARIABLE, "45")
    assert collective_timeout() == 45.0
    assert collective_timeout(5) == 5.0  # an explicit argument wins over the setting
    for bad in ("0", "-3", "ten", "inf", "nan"):
        monkeypatch.setenv(TIMEOUT_VARIABLE, bad)
        with pytest.raises(ParameterError, match=rf"{TIMEOUT_VARIABLE} must be a positive number of seconds.*got "):
            collective_timeout()
    with pytest.raises(ParameterError, match=r"timeout_s must be a positive number of seconds"):
        collective_timeout(0)


def test_a_bad_timeout_setting_is_refused_before_joining_any_job(monkeypatch):
    for name, value in (("RANK", "0"), ("WORLD_SIZE", "1"), ("MASTER_ADDR", "127.0.0.1"), ("MASTER_PORT", "1")):
        monkeypatch.setenv(name, value)
    monkeypatch.setenv(TIMEOUT_VARIABLE, "soon")
    with pytest.raises(ParameterError, match=rf"{TIMEOUT_VARIABLE} .*got soon"):
        get_process_group()
    assert not torch.distributed.is_initialized()

"""Fuzzing genlab's file readers (issue 17): mutated valid files in, only GenlabError out, within time and memory.

Each reader gets seed files built here (and, where the shared data folder exists, a few real ones), mutated by
hypothesis: truncation, byte flips, deleted or repeated slices, inserted hostile fragments (unclosed comments and
strings, Unicode digits, ``1_0``, ``nan``, deep nesting, NUL bytes, broken UTF-8) and huge declared sizes (a run of
digits replaced by a very large number, four header bytes set to 0x7fffffff). The property, for every input:

* nothing but a :class:`~genlab.errors.GenlabError` subclass escapes;
* the call returns within :data:`TIME_GUARD_S` (a generous hang guard, not a timing test);
* the peak of Python-tracked memory (``tracemalloc``, which sees NumPy's arrays) stays below :data:`BUDGET`, the
  memory budget the reader is given.

The default run tries :data:`QUICK` inputs per reader (a few seconds each); ``-m slow`` tries :data:`LONG`. Run with
``-s`` to see how many inputs each reader was given and how many it refused.
"""

from __future__ import annotations

import collections
import io
import os
import re
import shutil
import struct
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genlab.errors import GenlabError
from helpers import SHARED_DATA

#: The memory budget every reader is given here, and the bound on its tracemalloc peak.
BUDGET = 32 * 2**20
#: A hang guard: far above what any of these small inputs takes (under a second each).
TIME_GUARD_S = 30.0
#: Inputs per reader in the default run and under ``-m slow``.
QUICK, LONG = 40, 400

#: Fragments inserted into text formats: each one broke a reader of some program once.
FRAGMENTS = [
    b"/*", b"*/", b"//", b'"', b"'", b"\\", b"{", b"}", b"(", b")", b"[", b"]", b";", b",", b"|", b"=", b"\t",
    b"\n", b"\r\n", b"\r", b"\x00", b"\xff", b"\xc3", b"\xef\xbb\xbf", "²".encode(), "١".encode(), "٠.٥".encode(),
    b"1_0", b"0.2_5", b"nan", b"NaN", b"inf", b"-inf", b"1e999", b"-1e-999", b"0x10", b"+", b"-", b"-99",
    b"9" * 40, b"[" * 300, b"{" * 300, b'{"a":' * 100, b"/* " * 50, b"table", b"default", b"variable",
    b"probability", b"\\data\\", b"\\end\\", b"\\1-grams:", b"ngram 1=", b"<s>", b"</s>", b"<unk>",
]
HUGE_NUMBERS = [b"99999999999", b"4294967296", b"18446744073709551617", b"9" * 25, b"1" + b"0" * 400]


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """A seed file changed by up to five mutations."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(0, 5))):
        op = draw(st.sampled_from(["truncate", "flip", "insert", "delete", "repeat", "huge", "ffff", "empty"]))
        at = draw(st.integers(0, len(data)))
        if op == "truncate":
            del data[at:]
        elif op == "flip" and data:
            i = min(at, len(data) - 1)
            data[i] ^= draw(st.integers(1, 255))
        elif op == "insert":
            data[at:at] = draw(st.sampled_from(FRAGMENTS))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif op == "repeat":
            piece = data[at : at + draw(st.integers(1, 256))]
            data[at:at] = piece * draw(st.integers(1, 20))
        elif op == "huge":
            digits = [m.span() for m in re.finditer(rb"[0-9]+", bytes(data))]
            if digits:
                start, end = draw(st.sampled_from(digits))
                data[start:end] = draw(st.sampled_from(HUGE_NUMBERS))
        elif op == "ffff" and len(data) >= 4:
            i = min(at, len(data) - 4)
            data[i : i + 4] = struct.pack("<I", 0x7FFFFFFF)
        elif op == "empty":
            data.clear()
    return bytes(data)


#: Inputs tried, refused (a GenlabError) and escaping (anything else: a failure) per reader, printed at the end of
#: the module (``-s``).
TRIED: collections.Counter[str] = collections.Counter()
REFUSED: collections.Counter[str] = collections.Counter()
ESCAPED: collections.Counter[str] = collections.Counter()


@pytest.fixture(scope="module", autouse=True)
def _report_counts():
    yield
    for name in sorted(TRIED):
        print(f"\nfuzz {name}: {TRIED[name]} inputs, {REFUSED[name]} refused with a GenlabError, {ESCAPED[name]} "
              "escaping")


def _check(name: str, call: Callable[[], object]) -> None:
    """Run ``call`` under tracemalloc: only GenlabError may escape, within the time guard and the budget."""
    TRIED[name] += 1
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            # a warning is not an escape (the suite turns warnings into errors; readers may warn on odd input)
            warnings.simplefilter("ignore")
            call()
    except GenlabError:
        REFUSED[name] += 1
    except BaseException:
        ESCAPED[name] += 1
        raise
    finally:
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert elapsed < TIME_GUARD_S, f"{name} took {elapsed:.1f} s"
    assert peak < BUDGET, f"{name} peaked at {peak} bytes, over its budget of {BUDGET}"


class _Scratch:
    """A fresh folder per input (hypothesis calls the test body many times within one pytest test)."""

    def __enter__(self) -> Path:
        self.path = Path(tempfile.mkdtemp(prefix="genlab-fuzz-"))
        return self.path

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def _shared(pattern: str, folder: str, limit: int) -> list[bytes]:
    """Up to ``limit`` seed files from the shared data folder, or none where it is absent."""
    root = SHARED_DATA / folder
    if not root.exists():
        return []
    return [p.read_bytes() for p in sorted(root.glob(pattern))[:limit] if p.stat().st_size < 64 * 1024]


def _examples(quick: int = QUICK) -> list:
    return [pytest.param(quick, id="quick"), pytest.param(LONG, id="long", marks=pytest.mark.slow)]


def _fuzz(name: str, seeds: list[bytes], examples: int, body: Callable[[bytes], None]) -> None:
    @settings(max_examples=examples, deadline=None, database=None, derandomize=examples < LONG,
              suppress_health_check=list(HealthCheck))
    @given(data=mutated(seeds))
    def run(data: bytes) -> None:
        body(data)

    run()


# -- seeds ----------------------------------------------------------------------------------------------------------
def _bif_seeds(suffix: str) -> list[bytes]:
    from genlab.bayesnet import networks
    from genlab.bayesnet.bif import write_network

    seeds = []
    with _Scratch() as folder:
        for make in (networks.asia, networks.earthquake):
            path = folder / f"net{suffix}"
            write_network(path, make()._file_network())
            seeds.append(path.read_bytes())
    if suffix == ".bif":
        seeds.append(b"// hand-written\nnetwork n { property p; }\n/* c */ variable a { type discrete [ 2 ] { y, n }; "
                     b"property q; }\nvariable b { type discrete [ 3 ] { x, y, z }; }\n"
                     b"probability ( a ) { table 0.25 0.75 ; }\nprobability ( b | a ) { (y) 0.1, 0.2, 0.7; "
                     b"default 0.3, 0.3, 0.4; }\n")
        parents = [f"p{i}" for i in range(30)]
        seeds.append(("\n".join(f"variable {v} {{ type discrete [ 2 ] {{ a, b }}; }}" for v in [*parents, "c"])
                      + f"\nprobability ( c | {', '.join(parents)} ) {{ table 1; }}\n").encode())
        seeds += _shared("*.bif", "bif", 3)
    return seeds


def _arpa_seeds() -> list[bytes]:
    from genlab.sequence import MarkovChain

    seeds = []
    with _Scratch() as folder, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Kneser-Ney warns that three sentences are too few to estimate discounts
        corpus = [["the", "cat", "sat"], ["the", "dog", "sat", "down"], ["a", "cat", "ran"]]
        for smoothing in ("kneser-ney", "add-k"):
            MarkovChain(order=2, smoothing=smoothing).fit(corpus).to_arpa(folder / "m.arpa")
            seeds.append((folder / "m.arpa").read_bytes())
        MarkovChain(order=1).fit("abracadabra").to_arpa(folder / "c.arpa")
        seeds.append((folder / "c.arpa").read_bytes())
    seeds.append(b"\\data\\\nngram 1=99999999999\n\n\\1-grams:\n-0.3\ta\n\\end\\\n")
    return seeds


def _table_seeds() -> list[bytes]:
    return [b"x0,x1,x2\n1.5,2,3e-2\n-4,5.25,6\n7,8,9\n", b"1 2\n3 4\n# comment\n5 6\n",
            b"a\tb\n0.1\t0.2\n0.3\t0.4\n", b'"x","y"\n"1","2"\n"3","4"\n']


def _records_seeds() -> list[bytes]:
    return [b"smoke,lung,xray\nyes,no,yes\nno,no,\nyes,yes,no\n", b'a,b\n"x,1",y\nz,"w"\n']


def _series_seeds() -> list[bytes]:
    return [b"sequence,x,y\n1,0.5,1\n1,0.7,2\n2,0.1,3\n2,0.2,4\n", b"weather\nsun\nrain\nsun\n", b"1.0\n2.0\n3.0\n"]


def _text_seeds() -> list[bytes]:
    return [b"the cat sat on the mat\nthe dog sat\n", "na\u00efve caf\u00e9 \U0001f600\r\nend".encode(), b"x\n" * 50]


def _pairs_seeds() -> list[bytes]:
    return [b'{"source": "Guten Morgen", "target": "Good morning"}\n{"source": "Danke", "target": "Thanks"}\n',
            b'\n{"source": "a\\"b", "target": "[{"}\n', b'{"source": "x", "target": "y", "extra": [[[1]]]}\n']


def _npy_seeds() -> list[bytes]:
    seeds = []
    for array in (np.arange(12.0).reshape(4, 3), np.arange(5, dtype=np.int32), np.ones((2, 2), dtype=np.float32)):
        buffer = io.BytesIO()
        np.save(buffer, array)
        seeds.append(buffer.getvalue())
    return seeds


def _wav_seeds() -> list[bytes]:
    soundfile = pytest.importorskip("soundfile")
    seeds = []
    for rate, channels in ((8000, 1), (16000, 2)):
        t = np.arange(400) / rate
        wave = 0.5 * np.sin(2 * np.pi * 440 * t)
        buffer = io.BytesIO()
        soundfile.write(buffer, np.repeat(wave[:, None], channels, axis=1), rate, format="WAV", subtype="PCM_16")
        seeds.append(buffer.getvalue())
    return seeds + _shared("0_*_0.wav", "fsdd/recordings", 2)


def _image_seeds() -> list[bytes]:
    image_module = pytest.importorskip("PIL.Image")
    seeds = []
    pixels = (np.arange(64).reshape(8, 8) * 4).astype(np.uint8)
    for fmt, mode in (("PNG", "L"), ("PNG", "RGB"), ("JPEG", "L"), ("BMP", "L")):
        buffer = io.BytesIO()
        image = image_module.fromarray(pixels).convert(mode)
        image.save(buffer, format=fmt)
        seeds.append(buffer.getvalue())
    # a BMP header declaring 12000 x 12000 pixels and holding none (saved as .png: Pillow reads by content)
    header = struct.pack("<2sIHHI", b"BM", 0, 0, 0, 54) + struct.pack("<IiiHHIIiiII", 40, 12000, 12000, 1, 8, 0, 0,
                                                                      0, 0, 0, 0)
    seeds.append(header)
    return seeds


# -- the readers ----------------------------------------------------------------------------------------------------
def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("examples", _examples())
@pytest.mark.parametrize("suffix", [".bif", ".xml"])
def test_bif_and_xmlbif(suffix, examples):
    from genlab.bayesnet import BayesianNetwork
    from genlab.bayesnet.bif import read_network

    def body(data: bytes) -> None:
        with _Scratch() as folder:
            path = _write(folder, f"net{suffix}", data)

            def read() -> None:
                parsed = read_network(path, memory_budget=BUDGET)
                tables = {v: (parsed.parents[v], parsed.tables[v]) for v in parsed.states}
                BayesianNetwork.from_tables(tables, parsed.states, name=parsed.name)

            _check("BIF" if suffix == ".bif" else "XMLBIF", read)

    _fuzz("BIF", _bif_seeds(suffix), examples, body)


@pytest.mark.parametrize("examples", _examples())
def test_arpa(examples):
    from genlab.sequence import MarkovChain
    from genlab.sequence.arpa import read_arpa

    def body(data: bytes) -> None:
        with _Scratch() as folder:
            path = _write(folder, "m.arpa", data)

            def read() -> None:
                read_arpa(path, memory_budget=BUDGET)
                MarkovChain.from_arpa(path)  # the same file, through the model

            _check("ARPA", read)

    _fuzz("ARPA", _arpa_seeds(), examples, body)


@pytest.mark.parametrize("examples", _examples())
@pytest.mark.parametrize("reader", ["table", "npy", "records", "series"])
def test_tables(reader, examples):
    from genlab.data import load_table, read_records, read_series

    seeds = {"table": _table_seeds, "npy": _npy_seeds, "records": _records_seeds, "series": _series_seeds}[reader]()
    name = "x.npy" if reader == "npy" else "x.csv"
    call = {"table": load_table, "npy": load_table, "records": read_records, "series": read_series}[reader]

    def body(data: bytes) -> None:
        with _Scratch() as folder:
            path = _write(folder, name, data)
            _check(f"tables ({reader})", lambda: call(path, memory_budget=BUDGET))

    _fuzz(reader, seeds, examples, body)


@pytest.mark.parametrize("examples", _examples())
def test_text_and_documents(examples):
    from genlab.data import read_corpus, read_documents, read_text

    def body(data: bytes) -> None:
        with _Scratch() as folder:
            path = _write(folder, "t.txt", data)

            def read() -> None:
                read_text(path, lines=True, memory_budget=BUDGET)
                read_documents(path, memory_budget=BUDGET)
                read_documents(folder, memory_budget=BUDGET)
                read_corpus(os.fspath(path), "word")

            _check("text", read)

    _fuzz("text", _text_seeds(), examples, body)


@pytest.mark.parametrize("examples", _examples())
def test_json_lines_pairs(examples):
    from genlab.data import read_pairs

    def body(data: bytes) -> None:
        with _Scratch() as folder:
            path = _write(folder, "p.jsonl", data)
            _check("JSON Lines", lambda: list(read_pairs(path)))

    _fuzz("pairs", _pairs_seeds(), examples, body)


@pytest.mark.parametrize("examples", _examples(quick=25))
def test_wav_folders(examples):
    import scipy.signal  # noqa: F401  (resampling imports it: its own memory must not count against the budget)

    from genlab.data import read_audio_folder

    seeds = _wav_seeds()

    def body(data: bytes) -> None:
        with _Scratch() as folder:
            (folder / "yes").mkdir()
            (folder / "no").mkdir()
            _write(folder / "yes", "a.wav", data)
            _write(folder / "no", "b.wav", seeds[0])
            _check("WAV folders", lambda: read_audio_folder(folder, memory_budget=BUDGET))
            _check("WAV folders", lambda: read_audio_folder(folder, 16000, memory_budget=BUDGET))

    _fuzz("wav", seeds, examples, body)


@pytest.mark.parametrize("examples", _examples(quick=25))
def test_image_folders(examples):
    from genlab.data import load_image_folder

    seeds = _image_seeds()

    def body(data: bytes) -> None:
        with _Scratch() as folder:
            _write(folder, "a.png", data)
            _write(folder, "b.png", seeds[0])
            _check("image folders", lambda: load_image_folder(folder, memory_budget=BUDGET))
            _check("image folders", lambda: load_image_folder(folder, size=(8, 8), mode="RGB", n_levels=17,
                                                              memory_budget=BUDGET))

    _fuzz("images", seeds, examples, body)

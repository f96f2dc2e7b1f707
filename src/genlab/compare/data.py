"""Data for ``genlab compare``: load text, series or images, split them once, cut the held-out part into chunks.

Every model of a comparison sees the same :class:`Dataset`: the same training part and the same held-out chunks.
The chunks are the unit of scoring (each is scored as an independent sequence that starts fresh) and of the
bootstrap (confidence intervals resample whole chunks).

Text
    ``DATA`` is a text file, a folder of ``.txt`` files (read in sorted name order, joined by a newline), or the
    built-in name ``pydoc`` (the Python reference documentation in CPython's ``pydoc_data.topics``). The unit is
    ``char`` (Unicode characters, the default), ``word`` (runs of non-space characters; spaces are not scored) or
    ``byte`` (UTF-8 bytes). The split is by position: the first ``split`` fraction of the units trains, the rest is
    held out, so no held-out text leaks into training through overlapping windows.

    ``bpe``: byte-level BPE tokens (:class:`genlab.neural.tokenizers.BPETokenizer`, Hugging Face ``tokenizers``)
    with a vocabulary learned on the *training* characters only (the first ``split`` fraction of the text). The
    held-out text is cut into pieces of about 64 tokens (at token boundaries of its encoding) and each piece is
    encoded on its own: those ids are the chunk, the ids every model scores (Markov chain and HMM take them as
    symbols, the neural models re-encode the piece's text with the same tokenizer and get the same ids). Scores are
    per token, and also per character of the same held-out text (:attr:`Dataset.chunk_chars`), the unit that
    compares across tokenizers.

Series
    ``DATA`` is a ``.csv`` / ``.tsv`` / ``.npy`` file or a folder of ``.csv`` files, read by
    :func:`genlab.data.read_series`, the reader ``genlab fit hmm`` and ``genlab score`` use too (its notes give the
    rules): one row per time step; a column named ``sequence`` (or ``id``) marks the sequences (the rows of one id,
    consecutive and in file order, form one sequence; ids are scoped to their file); a folder holds one sequence
    per file, or several with such a column. Every other column is a variable:

    * numeric series: every value a finite number (no empty cells, NaN or inf); kind "series", D variables;
    * symbol sequences: exactly one variable column, whose values are not all numbers; each value is a symbol.

    The split is by whole sequences in file order (the first ``split`` fraction of them trains, at least one each
    side); a single sequence is split by time instead. The held-out sequences are cut into windows of ``window``
    time steps (default 32; the last window of a sequence may be shorter), each scored as an independent sequence
    that starts fresh; the unit is the time step (a D-dimensional step is one unit).

    Built-in series (:data:`BUILTIN_SERIES_DATA`: ``sunspots``, ``co2``, ``nile``, ``elnino``, ``macro``,
    ``macro3``) are the small real series that ship inside statsmodels
    (:func:`genlab.forecasting.datasets.load_builtin_series`): each is one series split at its own train / test
    cut-off (``split`` does not apply), the test part held out, with its season length and forecast horizon.
    Values missing in the set (NaN) are filled by linear interpolation (the classical models cannot skip them), and
    the data set's notes say how many.

    The forecast table (:func:`genlab.compare.forecast_adapters.forecast_table`) forecasts at the end of the
    held-out part: ``horizon`` steps (default: a built-in set's horizon, else ``min(window, 24)``), against the
    seasonal naive of ``season_length`` steps (default: a built-in set's season, else 1, the naive forecast).

Images
    ``DATA`` is ``digits`` (scikit-learn's bundled 8x8 digits, 17 grey levels 0..16, 64 dimensions) or a folder of
    PNG / JPEG images, directly in it or in class subfolders (:func:`genlab.data.load_image_folder`; read
    as 8-bit grey levels 0..255, all of one size; needs Pillow). The images are shuffled with the seed and split;
    each held-out image is one chunk, scored in bits per dimension of its uniformly dequantised grey levels (the
    noise drawn once, so every model scores the same values).

Pairs
    ``DATA`` is a JSON Lines file (``.jsonl``, ``.ndjson``) of ``{"source": ..., "target": ...}`` objects (the keys
    selectable), read by :func:`genlab.data.read_pairs`, the reader ``genlab fit seq2seq`` and ``genlab score`` use
    too. The split is by whole pairs in file order (the first ``split`` fraction trains, at least one pair each
    side): a pair is never cut, and a file grouped by origin (e.g. by module) keeps most groups on one side. Each
    held-out pair is one chunk (the bootstrap resamples pairs); the unit is the target character, so conditional
    models (``p(target | source)``) and unconditional models of the targets alone (``p(target)``) are scored on the
    same units, each paying for where the target ends.

Captioned images
    ``DATA`` is ``scenes`` (:func:`genlab.datasets.shapes_scenes`: :data:`SCENES` scenes of one or two coloured
    shapes at 32 x 32 pixels, drawn with the seed) or a folder holding a ``captions.jsonl`` and its images
    (:func:`genlab.data.read_captioned_images`, the reader of ``genlab fit captioner``; needs Pillow). The pairs
    are shuffled with the seed and split; each held-out ``(image, caption)`` pair is one chunk (the bootstrap
    resamples images); the unit is the caption character, so captioners (``p(caption | image)``) and models of the
    captions alone (``p(caption)``) are scored on the same units, each paying for where the caption ends.

Audio
    ``DATA`` is ``synthetic-audio`` (:func:`genlab.datasets.synthetic_audio`, labelled synthetic sounds drawn with
    the seed) or a folder of sound files (``.wav``, ``.flac``, ``.ogg``, directly in it or in subfolders), read by
    :func:`genlab.data.read_audio_dataset`, the reader of ``genlab fit wavenet``: mono float32 waveforms in
    [-1, 1] at one sample rate, labels (and speakers) from the file names by ``name_pattern`` (e.g.
    ``"{label}_{speaker}_{index}"``, the Free Spoken Digit Dataset's ``7_jackson_32.wav``) or a CSV. Each recording
    is one chunk, never cut: every model scores each held-out recording from its first sample, and the
    bootstrap resamples recordings. The unit is the audio sample, scored on its 8-bit mu-law code
    (:mod:`genlab.audio.mu_law`), so every model is judged on the same 256 discrete values per sample.

    The held-out recordings (``heldout``): by default those whose ``{index}`` field is 0 to 4 when the file-name
    pattern has one (the test set of the Free Spoken Digit Dataset's README: every speaker and digit on both
    sides; ``synthetic-audio`` numbers its recordings the same way), else a seeded ``1 - split`` share of the
    recordings; ``"random"`` always takes the seeded share; ``"FIELD=VALUES"`` holds out the recordings whose
    file-name field (or ``label`` / ``speaker``) takes one of the comma-separated values, an item ``A-B`` standing
    for the integers A to B (``"index=0-4"``, ``"speaker=theo"``).

Syntax trees
    ``DATA`` is ``python-stdlib`` (the syntax trees of a fixed subset of :data:`STDLIB_DEFAULT_FILES` files of the
    Python standard library on this machine, :func:`genlab.trees.python_ast.python_asts`, so that the default models
    fit in about a minute on two CPU cores), ``python-stdlib-all`` (every file of it: about ten times the data) or a
    folder of ``.py`` files (read recursively by :func:`genlab.trees.python_ast.read_python_sources`; a file that
    does not parse is skipped and counted in the data notes). The split is by whole files, by the hash rule of
    ``python_asts`` (:func:`genlab.trees.python_ast.is_test_file` on the file's relative posix path, with a test
    fraction of ``1 - split``): stable across machines and runs, and a file never sits on both sides. One
    :class:`~genlab.trees.python_ast.ValueVocabulary` is built from the training files (values seen at least
    :data:`TREE_VALUE_MIN_COUNT` times; others become typed unknown tokens), and every tree, training or held out,
    is linearised once with it (:func:`genlab.trees.python_ast.linearize`): every model scores exactly these
    decisions. Each held-out file is one chunk (a :class:`TreeChunk`: the tree is scored whole, and the bootstrap
    resamples files); the unit is the AST node, so a row's figure is bits per node, ``-log2 p(tree) / n_nodes``
    summed over the held-out files, where ``p(tree)`` is the product over all decisions (node types,
    ``"<none>"`` / ``"<end>"`` and values).

A folder is captioned images when it holds a ``captions.jsonl``, else text when it holds ``.txt`` files, else
series when it holds ``.csv`` files, else syntax trees when it holds ``.py`` files (directly or in subfolders), else
audio when it holds sound files (directly or in subfolders), else images.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from genlab.errors import DataError, ParameterError

__all__ = ["AUDIO_FILES", "BUILTIN_DATA", "BUILTIN_SERIES_DATA", "BUILTIN_TREE_DATA", "SCENES", "SERIES_WINDOW",
           "STDLIB_DEFAULT_FILES", "SYNTHETIC_AUDIO", "TEXT_UNITS", "TREE_VALUE_MIN_COUNT", "Dataset", "TreeChunk",
           "check_forecast_options", "load_dataset"]

#: Scoring units of text and the chunk length (in units) of each: long enough that the start of a chunk, where
#: every model has no context, is a small part of it; short enough to give many chunks to bootstrap over.
TEXT_UNITS = {"char": 256, "byte": 256, "word": 64, "bpe": 64}
#: Time steps per held-out window of series data (the default of ``window``).
SERIES_WINDOW = 32
#: Files read as series (a folder is series when it holds .csv files and no .txt files).
SERIES_FILES = (".csv", ".tsv", ".npy")
#: The BPE vocabulary size of ``unit="bpe"`` (the default of ``vocab_size``).
BPE_VOCAB_SIZE = 1024
#: Files read as (source, target) pairs.
PAIRS_FILES = (".jsonl", ".ndjson")
#: Built-in numeric series (:func:`genlab.forecasting.datasets.load_builtin_series`, shipped inside statsmodels).
BUILTIN_SERIES_DATA = {
    "sunspots": "yearly mean sunspot number, 1700-2008 (statsmodels; numeric series)",
    "co2": "monthly mean atmospheric CO2 at Mauna Loa, 1958-2001 (statsmodels; numeric series)",
    "nile": "annual flow of the Nile at Aswan, 1871-1970 (statsmodels; numeric series)",
    "elnino": "monthly Nino 1+2 sea surface temperature, 1950-2010 (statsmodels; numeric series)",
    "macro": "quarterly US CPI inflation, 1959-2009 (statsmodels macrodata; numeric series)",
    "macro3": "quarterly US real GDP growth, CPI inflation and unemployment, 1959-2009 (statsmodels macrodata; "
              "numeric series of 3 variables)",
}
#: The files of the built-in ``python-stdlib``: a fixed subset of the standard library (python_asts' salted hash
#: picks it, spread over the library). Measured on two busy CPU cores: 120 files give about 150,000 training nodes
#: (300,000 decisions) and 28,000 held-out nodes in 12 files, read and linearised in under 2 s, and the default
#: models fit in about a minute; the whole library (``python-stdlib-all``) is about ten times that.
STDLIB_DEFAULT_FILES = 120
#: Built-in syntax-tree data: name -> the most files read (None: all).
BUILTIN_TREE_DATA = {"python-stdlib": STDLIB_DEFAULT_FILES, "python-stdlib-all": None}
#: Syntax trees: a value (identifier, string, constant, int) joins the one value vocabulary of a comparison when it
#: occurs at least this many times in the training files (``value_min_count`` of genlab's tree models).
TREE_VALUE_MIN_COUNT = 2
#: Built-in data names and what they are.
BUILTIN_DATA = {
    "pydoc": "the Python reference documentation text in CPython's pydoc_data.topics (text)",
    "digits": "scikit-learn's bundled 8x8 digits, 1,797 images of 17 grey levels (images)",
    "scenes": "3,000 drawn scenes of one or two coloured shapes at 32 px with template captions (captioned images)",
    "synthetic-audio": "labelled synthetic sounds drawn with the seed (audio)",
    "python-stdlib": f"the syntax trees of {STDLIB_DEFAULT_FILES} files of this machine's Python standard library, "
                     "split by file (syntax trees)",
    "python-stdlib-all": "the syntax trees of every file of this machine's Python standard library, split by file "
                         "(syntax trees)",
    **BUILTIN_SERIES_DATA,
}
#: The built-in ``synthetic-audio``: genlab.datasets.synthetic_audio keyword arguments (the seed is the
#: comparison's); empty: its defaults.
SYNTHETIC_AUDIO: dict[str, Any] = {}
#: Sound files: a folder holding them (directly or in a subfolder) is audio.
AUDIO_FILES = (".wav", ".flac", ".ogg")
#: The default held-out recordings of a folder whose file-name pattern has an ``{index}`` field: indices 0 to 4
#: (the Free Spoken Digit Dataset's README: "Recordings numbered 0-4 (inclusive) are in the test and 5-49 are in the
#: training set").
AUDIO_HELDOUT_INDICES = range(5)
#: Kinds of data ``kind`` may force on a folder (the others are told apart by their files).
FORCED_KINDS = ("audio",)
_RANGE = re.compile(r"^(-?\d+)-(-?\d+)$")
#: The built-in ``scenes``: genlab.datasets.shapes_scenes arguments (the seed is the comparison's). Small enough
#: that a captioner learns the scenes' colours, shapes and relations in a minute or two on two CPU cores.
SCENES = {"n": 3000, "size": 32, "max_objects": 2}
#: The captions file whose presence makes a folder captioned images.
CAPTIONS_FILE = "captions.jsonl"
_WORD = re.compile(r"\S+")


class TreeChunk(NamedTuple):
    """One Python file of a syntax-tree data set, as every model of a comparison sees it.

    Attributes
    ----------
    file : str
        The file's path relative to the data's root ('/'-separated).
    module : ast.Module
        Its syntax tree (what the tree models and the PCFG read).
    tokens : tuple of str
        Its decisions, linearised once with the comparison's value vocabulary (what the sequence models read, and
        what every model is scored on).
    n_nodes : int
        Its AST nodes (the type decisions): the denominator of bits per node.
    """

    file: str
    module: Any
    tokens: tuple[str, ...]
    n_nodes: int


@dataclass
class Dataset:
    """One split data set, shared by every model of a comparison.

    Attributes
    ----------
    name : str
        Where the data came from (a path or a built-in name).
    kind : {"text", "image", "series", "pairs", "captions", "audio", "syntax_trees"}
    unit : {"char", "word", "byte", "bpe", "dimension", "step", "target_char", "caption_char", "sample", "node"}
        What one scoring unit is.
    train : str, bytes, list, or ndarray of shape (n_train, 64)
        The training part, in the unit's form: a ``str`` (char), ``bytes`` (byte), a list of words (word), a list
        of token ids (bpe), the grey levels of the training images (image), or the training sequences (series: a
        list of arrays (T_i, D), or of lists of symbols), or the training (source, target) pairs (pairs), or the
        training (image, caption) pairs (captions; each image uint8 (C, H, W)), or the training recordings (audio:
        float32 waveforms (n_samples_i,) in [-1, 1]), or the training files (syntax trees: :class:`TreeChunk` each).
    chunks : list
        The held-out chunks, each in the same form as ``train`` (image chunks: arrays of shape (1, 64); series
        chunks: one window, an array (w, D) or a list of w symbols; pairs: one (source, target) pair each;
        captions: one (image, caption) pair each; audio: one recording each; syntax trees: one file's
        :class:`TreeChunk` each).
    chunk_units : ndarray of shape (n_chunks,)
        Scoring units in each chunk: the denominators of the honest score.
    image_shape : tuple of int or None
        (8, 8) for images.
    n_levels : int or None
        Grey levels of the images (17 for digits: values 0..16).
    chunk_chars : ndarray of shape (n_chunks,) or None
        ``bpe``: characters of each chunk's text (the denominators of bits per character).
    tokenizer : BPETokenizer or None
        ``bpe``: the tokenizer learned on the training text.
    variables : list of str or None
        Series: the variable (column) names.
    categorical : bool
        Series: True for symbol sequences, False for numeric series.
    window : int or None
        Series: time steps per held-out window.
    scene_grammar : bool
        Captions: every caption follows the scene grammar (:func:`genlab.data.scenes.parse_caption`), so
        generated captions are also scored by attribute exact match.
    sample_rate : int or None
        Audio: samples per second (Hz) of every recording.
    labels, chunk_labels : list of str or None
        Audio: the label of each training / held-out recording (None: the recordings have no labels).
    speakers, chunk_speakers : list of str or None
        Audio: the speaker of each training / held-out recording (None: no speakers).
    chunk_files : list of str or None
        Audio: the file of each held-out recording (None for built-in data); syntax trees: each held-out file.
    heldout_rule : str or None
        Audio: how the held-out recordings were chosen, in words (the report says it).
    season_length : int or None
        Numeric series: steps per season, for the seasonal naive forecast, MASE's scale and the neural models'
        seasonal lags (a built-in set's own, or ``season_length``; 1 when unknown).
    horizon : int or None
        Numeric series: forecast steps of the forecast table (a built-in set's own, or ``horizon``; default
        ``min(window, 24)``).
    forecast_series : list of (ndarray of shape (T_i, D), int) or None
        Numeric series: each series the forecast table forecasts at the end of, with the index of its first
        held-out value (a series split by time: the whole series and the cut; held-out sequences: each, and 0).
    vocabulary : ValueVocabulary or None
        Syntax trees: the one value vocabulary, built from the training files (:data:`TREE_VALUE_MIN_COUNT`).
    tree_tokens : list of str or None
        Syntax trees: every token a decision can take under the grammar and ``vocabulary`` (node types, ``"<none>"``,
        ``"<end>"``, then the value tokens), in a fixed order: the ids of the sequence models.
    tree_info : dict or None
        Syntax trees: the split and the vocabulary in figures (``train_files``, ``test_files``, ``train_nodes``,
        ``test_nodes``, ``train_decisions``, ``test_decisions``, ``skipped_files``, ``value_vocabulary``,
        ``value_min_count``, ``n_tokens``, ``source``), for the report's header.
    """

    name: str
    kind: str
    unit: str
    train: Any
    chunks: list[Any]
    chunk_units: np.ndarray
    image_shape: tuple[int, int] | None = None
    n_levels: int | None = None
    notes: list[str] = field(default_factory=list)
    chunk_chars: np.ndarray | None = None
    tokenizer: Any = None
    variables: list[str] | None = None
    categorical: bool = False
    window: int | None = None
    scene_grammar: bool = False
    sample_rate: int | None = None
    labels: list[str] | None = None
    chunk_labels: list[str] | None = None
    speakers: list[str] | None = None
    chunk_speakers: list[str] | None = None
    chunk_files: list[str] | None = None
    heldout_rule: str | None = None
    season_length: int | None = None
    horizon: int | None = None
    forecast_series: list[tuple[np.ndarray, int]] | None = None
    vocabulary: Any = None
    tree_tokens: list[str] | None = None
    tree_info: dict[str, Any] | None = None

    @property
    def kind_key(self) -> str:
        """What a model must handle: "text", "image", "series" (numeric), "symbols" (symbol sequences), "pairs",
        "captions", "audio" or "syntax_trees"."""
        return "symbols" if self.kind == "series" and self.categorical else self.kind

    @property
    def n_heldout_chars(self) -> int | None:
        """``bpe``: characters of the held-out text (the denominator of bits per character); None otherwise."""
        return None if self.chunk_chars is None else int(self.chunk_chars.sum())

    @property
    def n_heldout_units(self) -> int:
        """Total scoring units held out (the denominator of every model's bits per unit)."""
        return int(self.chunk_units.sum())

    @property
    def n_train_units(self) -> int:
        """Scoring units in the training part: grey levels (image), time steps or audio samples, target characters
        (pairs, captions), syntax-tree nodes, or text units.
        """
        if self.kind == "image":
            return int(np.asarray(self.train).size)
        if self.kind in ("series", "audio"):
            return sum(len(seq) for seq in self.train)
        if self.kind in ("pairs", "captions"):
            return sum(len(target) for _, target in self.train)
        if self.kind == "syntax_trees":
            return sum(chunk.n_nodes for chunk in self.train)
        return len(self.train)

    @property
    def heldout_sources(self) -> list[Any]:
        """Pairs: the sources of the held-out pairs, in order; captions: the held-out images (C, H, W)."""
        return [source for source, _ in self.chunks]

    @property
    def heldout_targets(self) -> list[str]:
        """Pairs (captions): the targets (captions) of the held-out pairs, in order (the references of generated
        outputs)."""
        return [target for _, target in self.chunks]

    def units_fingerprint(self) -> str:
        """SHA-256 of the held-out units, chunk by chunk: equal exactly when two evaluations score the same units."""
        digest = hashlib.sha256()
        for chunk in self.chunks:
            if isinstance(chunk, TreeChunk):  # the decisions scored (tokens under the comparison's vocabulary)
                digest.update(chunk.file.encode("utf-8") + b"\x00")
                digest.update("\x00".join(chunk.tokens).encode("utf-8"))
            elif isinstance(chunk, str):
                digest.update(chunk.encode("utf-8"))
            elif isinstance(chunk, bytes):
                digest.update(chunk)
            elif isinstance(chunk, np.ndarray):
                digest.update(repr(chunk.shape).encode("ascii"))
                digest.update(np.ascontiguousarray(chunk, dtype=np.float64).tobytes())
            elif isinstance(chunk, tuple) and isinstance(chunk[0], np.ndarray):  # captions: (image, caption)
                digest.update(repr(chunk[0].shape).encode("ascii"))
                digest.update(np.ascontiguousarray(chunk[0]).tobytes())
                digest.update(chunk[1].encode("utf-8"))
            else:  # words, symbols or token ids
                digest.update("\x00".join(map(str, chunk)).encode("utf-8"))
            digest.update(b"\xff\xfe|chunk|")
        return digest.hexdigest()

    def render(self, units: Any) -> str:
        """A list (or str / bytes) of units as readable text; ``None`` stands for an unknown unit (``<unk>``).

        Characters are joined, bytes and BPE ids decoded (invalid UTF-8 shown as U+FFFD), words and symbols joined
        by spaces.
        """
        if isinstance(units, str | bytes) and self.unit in ("char", "byte"):
            return units if isinstance(units, str) else units.decode("utf-8", errors="replace")
        if self.unit == "char":
            return "".join("\ufffd" if u is None else u for u in units)
        if self.unit == "byte":
            return bytes(ord("?") if u is None else u for u in units).decode("utf-8", errors="replace")
        if self.unit == "bpe":
            # an unknown id (None) breaks the text where it stands: decode the runs between them
            runs: list[list[int]] = [[]]
            for u in units:
                if u is None:
                    runs.append([])
                else:
                    runs[-1].append(int(u))
            return "\ufffd".join(self.tokenizer.decode(run) for run in runs)
        return " ".join("<unk>" if u is None else str(u) for u in units)

    def chunk_text(self, chunk: Any) -> str:
        """A held-out or training piece of text or symbols as readable text (:meth:`render`)."""
        return self.render(chunk)

    def train_chunks(self) -> list[Any]:
        """The training part cut into pieces of the held-out chunk length (for models that fit on sequences).

        Series: every training sequence cut into windows of ``window`` steps (the last of each may be shorter).
        """
        if self.kind == "series":
            return [piece for seq in self.train for piece in _cut(seq, self.window, self.unit)]
        size = TEXT_UNITS[self.unit]
        return _cut(self.train, size, self.unit)


def _read_text(source: str) -> tuple[str, str]:
    """The text of ``source`` (a built-in name, a file or a folder of .txt files) and its display name."""
    from genlab.data.text import BUILTIN_TEXTS, read_text, text_files

    if source in BUILTIN_TEXTS:
        return str(read_text(source)), source
    path = Path(source)
    if not path.exists():
        raise DataError(
            f"DATA {source!r} does not exist; give a text file, a folder of .txt files, a .csv file or folder of "
            f".csv files (series), or a built-in name ({', '.join(BUILTIN_DATA)})."
        )
    if path.is_dir() and not text_files(path):
        raise DataError(
            f"the folder {source!r} holds no .txt, .csv or image files; put text in files ending in .txt, series "
            "in files ending in .csv, or PNG / JPEG images in it."
        )
    text = str(read_text(path))
    if not text.strip():
        raise DataError(f"DATA {source!r} holds no text (only whitespace or nothing); give a non-empty text.")
    return text, os.fspath(path)


def _cut(units: Any, size: int, unit: str) -> list[Any]:
    """Cut a unit sequence into consecutive pieces of ``size`` units (the last may be shorter).

    Byte pieces end at UTF-8 character boundaries (a piece is extended past ``size`` to the next character start)
    so that every piece decodes; the cut points depend only on the data, never on a model.
    """
    pieces = []
    start, n = 0, len(units)
    while start < n:
        end = min(start + size, n)
        if unit == "byte":
            while end < n and (units[end] & 0xC0) == 0x80:  # a continuation byte: not a character start
                end += 1
        pieces.append(units[start:end])
        start = end
    return pieces


def _files(folder: Path, suffix: str) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == suffix)


def _text_dataset(source: str, unit: str, split: float, max_chars: int | None, vocab_size: int | None) -> Dataset:
    text, name = _read_text(source)
    if max_chars is not None:
        text = text[:max_chars]
    if unit == "bpe":
        return _bpe_dataset(text, name, split, vocab_size)
    if unit == "char":
        units: Any = text
    elif unit == "byte":
        units = text.encode("utf-8")
    else:
        units = _WORD.findall(text)
    n = len(units)
    cut = round(split * n)
    if unit == "byte":
        while cut < n and (units[cut] & 0xC0) == 0x80:
            cut += 1
    if cut < 1 or n - cut < 1:
        raise DataError(
            f"DATA {source!r} has {n} {unit}s: too few to hold out {1 - split:.0%} and train on the rest; "
            "give more text or another --split."
        )
    train, heldout = units[:cut], units[cut:]
    chunks = _cut(heldout, TEXT_UNITS[unit], unit)
    return Dataset(name=name, kind="text", unit=unit, train=train, chunks=chunks,
                   chunk_units=np.array([len(c) for c in chunks], dtype=np.int64))


def _bpe_dataset(text: str, name: str, split: float, vocab_size: int | None) -> Dataset:
    """Byte-level BPE learned on the training characters; held-out pieces of about 64 tokens (module notes)."""
    try:
        import tokenizers  # noqa: F401 - BPETokenizer's engine
    except ImportError:
        raise DataError(
            "--unit bpe needs the Hugging Face tokenizers package, which is not installed: "
            "pip install 'genlab[neural]' (or use --unit char, word or byte)."
        ) from None
    from genlab.neural.tokenizers import BPETokenizer

    size = BPE_VOCAB_SIZE if vocab_size is None else vocab_size
    n = len(text)
    cut = round(split * n)
    if cut < 1 or n - cut < 1:
        raise DataError(
            f"DATA {name!r} has {n} characters: too few to hold out {1 - split:.0%} and train on the rest; "
            "give more text or another --split."
        )
    train_text, heldout = text[:cut], text[cut:]
    tokenizer = BPETokenizer.train([train_text], vocab_size=size)
    # cut points: the start of every 64th token of the held-out encoding (character offsets, data-determined)
    starts = tokenizer.token_starts(heldout)
    step = TEXT_UNITS["bpe"]
    cuts = sorted({starts[i] for i in range(step, len(starts), step)} - {0})
    bounds = [0, *[c for c in cuts if 0 < c < len(heldout)], len(heldout)]
    pieces = [heldout[a:b] for a, b in itertools.pairwise(bounds) if b > a]
    chunks = [tokenizer.encode(piece) for piece in pieces]
    return Dataset(name=name, kind="text", unit="bpe", train=tokenizer.encode(train_text), chunks=chunks,
                   chunk_units=np.array([len(c) for c in chunks], dtype=np.int64),
                   chunk_chars=np.array([len(p) for p in pieces], dtype=np.int64), tokenizer=tokenizer)


def _series_dataset(source: str, split: float, window: int, horizon: int | None,
                    season_length: int | None) -> Dataset:
    from genlab.data.series import read_series

    series = read_series(source)
    sequences = series.sequences
    if len(sequences) >= 2:
        n_train = min(max(round(split * len(sequences)), 1), len(sequences) - 1)
        train, heldout = sequences[:n_train], sequences[n_train:]
        forecast = [(np.asarray(seq), 0) for seq in heldout]
    else:
        (seq,) = sequences
        cut = round(split * len(seq))
        if cut < 2 or len(seq) - cut < 1:
            raise DataError(
                f"DATA {source!r} is one sequence of {len(seq)} time steps: too few to hold out {1 - split:.0%} and "
                "train on the rest; give more steps, several sequences, or another --split."
            )
        train, heldout = [seq[:cut]], [seq[cut:]]
        forecast = [(np.asarray(seq), cut)]
    chunks = [piece for seq in heldout for piece in _cut(seq, window, "step")]
    numeric = not series.categorical
    return Dataset(name=series.source, kind="series", unit="step", train=train, chunks=chunks,
                   chunk_units=np.array([len(c) for c in chunks], dtype=np.int64), variables=series.variables,
                   categorical=series.categorical, window=window,
                   season_length=(season_length or 1) if numeric else None,
                   horizon=(horizon or min(window, 24)) if numeric else None,
                   forecast_series=forecast if numeric else None)


def _builtin_series_dataset(name: str, window: int, horizon: int | None, season_length: int | None) -> Dataset:
    """A built-in series set split at its own cut-off, the test part held out (module notes)."""
    from genlab.forecasting.datasets import load_builtin_series

    series = load_builtin_series(name)
    values = np.asarray(series.values, dtype=np.float64)
    values = values[:, None] if values.ndim == 1 else values
    notes = []
    missing = np.isnan(values)
    if missing.any():
        # the classical models (AR, HMM, mixture) have no missing values: fill them from their neighbours
        steps = np.arange(len(values))
        for j in range(values.shape[1]):
            gap = missing[:, j]
            if gap.any():
                values[gap, j] = np.interp(steps[gap], steps[~gap], values[~gap, j])
        notes.append(f"{int(missing.any(axis=1).sum())} time steps of {name} with a missing value were filled by "
                     "linear interpolation between their neighbours")
    cut = int(series.test_start)
    train, heldout = values[:cut], values[cut:]
    chunks = _cut(heldout, window, "step")
    return Dataset(name=name, kind="series", unit="step", train=[train], chunks=chunks,
                   chunk_units=np.array([len(c) for c in chunks], dtype=np.int64), notes=notes,
                   variables=list(series.variables), window=window,
                   season_length=int(season_length or series.season_length or 1),
                   horizon=int(horizon or series.horizon), forecast_series=[(values, cut)])


def _pairs_dataset(source: str, split: float, source_field: str, target_field: str) -> Dataset:
    """(source, target) pairs of a JSON Lines file, split by whole pairs in file order (module notes)."""
    from genlab.data.pairs import read_pairs

    # the reader refuses a blank target (no unit to score) and a blank source, naming the line
    pairs = list(read_pairs(source, source=source_field, target=target_field))
    n = len(pairs)
    if n < 2:
        raise DataError(f"DATA {source!r} holds {n} pair: too few to train on some and hold out the rest; give more "
                        "pairs.")
    n_train = min(max(round(split * n), 1), n - 1)
    train, heldout = pairs[:n_train], pairs[n_train:]
    return Dataset(name=os.fspath(Path(source)), kind="pairs", unit="target_char", train=train, chunks=heldout,
                   chunk_units=np.array([len(target) for _, target in heldout], dtype=np.int64))


def _is_pairs(source: str) -> bool:
    path = Path(source)
    return path.suffix.lower() in PAIRS_FILES and not path.is_dir()


def _is_series(source: str) -> bool:
    path = Path(source)
    if path.is_file():
        return path.suffix.lower() in SERIES_FILES
    return path.is_dir() and not _files(path, ".txt") and bool(_files(path, ".csv"))


def _image_dataset(images: np.ndarray, name: str, shape: tuple[int, int], n_levels: int, split: float,
                   random_state: int) -> Dataset:
    """Shuffle ``images`` (N, D) of grey levels with the seed, split, and dequantise the held-out ones once."""
    order = np.random.default_rng(random_state).permutation(images.shape[0])
    cut = round(split * images.shape[0])
    if cut < 2 or images.shape[0] - cut < 1:
        raise DataError(
            f"{name!r} has {images.shape[0]} images: --split {split} leaves too few to train on (2 at least) or to "
            "hold out (1 at least); give more images or e.g. --split 0.8."
        )
    train, heldout = images[order[:cut]], images[order[cut:]]
    # uniform dequantisation of the held-out pixels, drawn once here so that every model scores the same values
    heldout = heldout + np.random.default_rng([random_state, 1]).random(heldout.shape)
    chunks = [row[None, :] for row in heldout]
    return Dataset(name=name, kind="image", unit="dimension", train=train, chunks=chunks,
                   chunk_units=np.full(len(chunks), images.shape[1], dtype=np.int64), image_shape=shape,
                   n_levels=n_levels)


def _digits_dataset(split: float, random_state: int) -> Dataset:
    from sklearn.datasets import load_digits

    images = load_digits().data.astype(np.float64)  # (1797, 64), integers 0..16
    return _image_dataset(images, "digits", (8, 8), 17, split, random_state)


def _image_folder_dataset(source: str, split: float, random_state: int) -> Dataset:
    try:
        from genlab.data.images import load_image_folder

        images, _, _ = load_image_folder(source, mode="L")  # (N, 1, H, W), levels 0..255
    except ImportError as exc:
        raise DataError(
            f"reading an image folder needs Pillow ({exc}): pip install 'genlab[images]'."
        ) from None
    n, _, height, width = images.shape
    return _image_dataset(images.reshape(n, height * width).astype(np.float64), os.fspath(Path(source)),
                          (height, width), 256, split, random_state)


def _captions_dataset(source: str, split: float, random_state: int) -> Dataset:
    """Captioned images (built-in ``scenes`` or a folder with captions.jsonl), shuffled with the seed and split."""
    from genlab.data.scenes import parse_caption

    if source == "scenes":
        import genlab.datasets

        data = genlab.datasets.shapes_scenes(**SCENES, seed=random_state)
        name = "scenes"
    else:
        from genlab.data import read_captioned_images

        try:
            data = read_captioned_images(source, CAPTIONS_FILE)
        except ImportError as exc:
            raise DataError(f"reading captioned images needs Pillow ({exc}): pip install 'genlab[images]'.") from None
        name = os.fspath(Path(source))
    n = len(data.captions)
    order = np.random.default_rng(random_state).permutation(n)
    cut = round(split * n)
    if cut < 2 or n - cut < 1:
        raise DataError(
            f"{name!r} has {n} captioned images: --split {split} leaves too few to train on (2 at least) or to hold "
            "out (1 at least); give more images or e.g. --split 0.8."
        )
    pairs = [(data.images[i], str(data.captions[i])) for i in order]
    train, heldout = pairs[:cut], pairs[cut:]
    scene_grammar = all(parse_caption(caption) is not None for _, caption in pairs)
    return Dataset(name=name, kind="captions", unit="caption_char", train=train, chunks=heldout,
                   chunk_units=np.array([len(caption) for _, caption in heldout], dtype=np.int64),
                   image_shape=tuple(int(v) for v in data.images.shape[2:]), scene_grammar=scene_grammar)


def _is_captions_folder(source: str) -> bool:
    path = Path(source)
    return path.is_dir() and (path / CAPTIONS_FILE).is_file()


def _is_image_folder(source: str) -> bool:
    """A folder without .txt or .csv files, holding PNG / JPEG files directly or in subfolders."""
    path = Path(source)
    if not path.is_dir() or _files(path, ".txt") or _files(path, ".csv"):
        return False
    suffixes = (".png", ".jpg", ".jpeg")
    folders = [path, *(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))]
    return any(f.is_file() and f.suffix.lower() in suffixes for folder in folders for f in folder.iterdir())


def _is_audio_folder(source: str) -> bool:
    """A folder without .txt or .csv files, holding sound files directly or in subfolders (one level down)."""
    path = Path(source)
    if not path.is_dir() or _files(path, ".txt") or _files(path, ".csv"):
        return False
    folders = [path, *(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))]
    return any(f.is_file() and f.suffix.lower() in AUDIO_FILES for folder in folders for f in folder.iterdir())


def _read_audio(source: str, name_pattern: str | None, labels_csv: str | None, sample_rate: int | None,
                resample: bool, random_state: int) -> tuple[Any, str]:
    """The recordings of ``source`` (``synthetic-audio`` or a folder) as an AudioDataset, and its display name."""
    if source == "synthetic-audio":
        if name_pattern is not None or labels_csv is not None:
            raise ParameterError("the built-in synthetic-audio names its labels itself; --label-from-name and "
                                 "--labels-csv apply to a folder of sound files.")
        import genlab.datasets

        settings = {**SYNTHETIC_AUDIO, "seed": random_state}
        if sample_rate is not None:
            settings["sample_rate"] = sample_rate
        return genlab.datasets.synthetic_audio(**settings), source
    path = Path(source)
    if not path.is_dir():
        raise DataError(f"DATA {source!r} is not a folder; audio data is a folder of sound files "
                        f"({', '.join(AUDIO_FILES)}) or the built-in synthetic-audio.")
    from genlab.data import read_audio_dataset

    data = read_audio_dataset(path, name_pattern=name_pattern, labels_csv=labels_csv, sample_rate=sample_rate,
                              resample=resample)
    return data, os.fspath(path)


def _field_values(data: Any, field: str) -> list[str | None]:
    """Each recording's value of a file-name field (``label`` and ``speaker`` also from a labels CSV)."""
    n = len(data.waveforms)
    fields = list(data.fields) if getattr(data, "fields", None) else [{}] * n
    extra = {"label": data.labels, "speaker": data.speakers}.get(field)
    return [f.get(field, None if extra is None else str(extra[i])) for i, f in enumerate(fields)]


def _matches(value: str | None, items: list[str]) -> bool:
    if value is None:
        return False
    for item in items:
        bounds = _RANGE.match(item)
        if value == item:
            return True
        if bounds is not None and re.fullmatch(r"-?\d+", value) is not None \
                and int(bounds.group(1)) <= int(value) <= int(bounds.group(2)):
            return True
    return False


def _audio_heldout(data: Any, heldout: str | None, split: float, random_state: int) -> tuple[np.ndarray, str]:
    """Which recordings are held out (a boolean mask) and the rule in words (module notes)."""
    n = len(data.waveforms)
    if n < 2:
        raise DataError(f"the audio data holds {n} recording: too few to train on some and hold out the rest; give "
                        "more recordings.")
    rule = "auto" if heldout is None else str(heldout).strip()
    if rule == "auto":
        # a file-name pattern with {index} (or the built-in synthetic-audio, which numbers its recordings so)
        fields = getattr(data, "fields", None) or []
        has_index = len(fields) == n and all(re.fullmatch(r"\d+", f.get("index", "")) for f in fields)
        rule = f"index={AUDIO_HELDOUT_INDICES[0]}-{AUDIO_HELDOUT_INDICES[-1]}" if has_index else "random"
    if rule == "random":
        n_held = min(max(round((1.0 - split) * n), 1), n - 1)
        mask = np.zeros(n, dtype=bool)
        mask[np.random.default_rng(random_state).permutation(n)[:n_held]] = True
        return mask, f"a seeded {n_held} of the {n} recordings, drawn at random (seed {random_state})"
    field, eq, values = rule.partition("=")
    field = field.strip()
    items = [v.strip() for v in values.split(",") if v.strip()]
    if not eq or not field or not items:
        raise ParameterError(f"--heldout {heldout!r} must be auto, random or FIELD=VALUES (e.g. index=0-4 or "
                             "speaker=theo).")
    found = _field_values(data, field)
    if all(value is None for value in found):
        known = sorted({key for f in (getattr(data, "fields", None) or []) for key in f}
                       | {name for name, values in (("label", data.labels), ("speaker", data.speakers))
                          if values is not None})
        raise ParameterError(f"--heldout {heldout!r} names the field {field!r}, which the recordings do not have; "
                             f"their fields: {', '.join(known) or 'none (give --label-from-name)'}.")
    mask = np.array([_matches(value, items) for value in found], dtype=bool)
    if mask.all() or not mask.any():
        what = "every" if mask.all() else "no"
        raise DataError(f"--heldout {rule} holds out {what} recording of the {n}; give another --heldout (e.g. "
                        "random).")
    return mask, f"the {int(mask.sum())} of the {n} recordings whose {field} is {', '.join(items)}"


def _audio_dataset(source: str, split: float, random_state: int, name_pattern: str | None, heldout: str | None,
                   labels_csv: str | None, sample_rate: int | None, resample: bool) -> Dataset:
    """Recordings read once, split by ``heldout`` into training and held-out recordings (module notes)."""
    data, name = _read_audio(source, name_pattern, labels_csv, sample_rate, resample, random_state)
    mask, rule = _audio_heldout(data, heldout, split, random_state)
    waveforms = [np.asarray(w, dtype=np.float32) for w in data.waveforms]
    keep, held = np.flatnonzero(~mask), np.flatnonzero(mask)

    def part(values: Any, indices: np.ndarray) -> list[str] | None:
        return None if values is None else [str(values[i]) for i in indices]

    files = getattr(data, "files", None)
    return Dataset(name=name, kind="audio", unit="sample", train=[waveforms[i] for i in keep],
                   chunks=[waveforms[i] for i in held],
                   chunk_units=np.array([len(waveforms[i]) for i in held], dtype=np.int64),
                   sample_rate=int(data.sample_rate), labels=part(data.labels, keep),
                   chunk_labels=part(data.labels, held), speakers=part(data.speakers, keep),
                   chunk_speakers=part(data.speakers, held), chunk_files=part(files or None, held),
                   heldout_rule=rule)


def _is_python_folder(source: str) -> bool:
    """A folder without a captions.jsonl, .txt or .csv files, holding .py files directly or in subfolders."""
    path = Path(source)
    if not path.is_dir() or (path / CAPTIONS_FILE).is_file() or _files(path, ".txt") or _files(path, ".csv"):
        return False
    for _, subfolders, names in os.walk(path):
        subfolders[:] = [n for n in subfolders if n != "__pycache__" and not n.startswith(".")]
        if any(name.endswith(".py") for name in names):
            return True
    return False


def _read_syntax_trees(source: str, split: float) -> tuple[Any, str, list[str]]:
    """The files of ``source`` (a built-in name or a folder) split by file: (PythonASTs, display name, notes)."""
    from genlab.trees.python_ast import PythonASTs, is_test_file, python_asts, read_python_sources

    test_fraction = 1.0 - split
    if source in BUILTIN_TREE_DATA:
        max_files = BUILTIN_TREE_DATA[source]
        data = python_asts(max_files=max_files, test_fraction=test_fraction)
        which = "every file" if max_files is None else f"a fixed subset of {max_files} files"
        notes = [f"{source}: {which} of the Python standard library at {data.root}"]
        return data, source, notes
    path = Path(source)
    if path.is_file():
        raise DataError(f"DATA {source!r} is one file; syntax trees are split by file, so give a folder of .py files "
                        "(or the built-in python-stdlib).")
    read = read_python_sources(path)
    data = PythonASTs([], [], [], [], [], os.fspath(path))
    for file, module in zip(read.files, read.modules, strict=True):
        relative = Path(os.path.relpath(file, path)).as_posix()
        if is_test_file(relative, test_fraction):
            data.test.append(module)
            data.test_files.append(relative)
        else:
            data.train.append(module)
            data.train_files.append(relative)
    data.skipped = [(Path(os.path.relpath(file, path)).as_posix(), reason) for file, reason in read.skipped]
    return data, os.fspath(path), []


def _syntax_trees_dataset(source: str, split: float) -> Dataset:
    """Python files split by file, one value vocabulary from the training files, every tree linearised once with
    it (module notes)."""
    from genlab.trees.python_ast import AST_GRAMMAR, END_TOKEN, NONE_TOKEN, ValueVocabulary, linearize

    data, name, notes = _read_syntax_trees(source, split)
    if not data.train or not data.test:
        n = len(data.train) + len(data.test)
        side = "no file falls in the held-out part" if not data.test else "every file falls in the held-out part"
        raise DataError(f"DATA {source!r} has {n} parsable .py files and {side} (the split is by a hash of each "
                        f"file's path, held-out fraction {1.0 - split:.0%}); give more files or another --split.")
    if data.skipped:
        first, reason = data.skipped[0]
        notes.append(f"{len(data.skipped)} file{'s' if len(data.skipped) != 1 else ''} skipped: not parsable "
                     f"Python (first: {first}: {reason})")
    vocabulary = ValueVocabulary.build(data.train, min_count=TREE_VALUE_MIN_COUNT)

    def chunks(modules: list[Any], files: list[str]) -> list[TreeChunk]:
        out = []
        for file, module in zip(files, modules, strict=True):
            linear = linearize(module, vocabulary)
            out.append(TreeChunk(file, module, tuple(linear.tokens), linear.n_nodes))
        return out

    train, heldout = chunks(data.train, data.train_files), chunks(data.test, data.test_files)
    tokens = [*AST_GRAMMAR.node_type_tokens, NONE_TOKEN, END_TOKEN, *vocabulary.all_tokens()]
    info = {
        "source": name, "train_files": len(train), "test_files": len(heldout),
        "train_nodes": sum(c.n_nodes for c in train), "test_nodes": sum(c.n_nodes for c in heldout),
        "train_decisions": sum(len(c.tokens) for c in train), "test_decisions": sum(len(c.tokens) for c in heldout),
        "skipped_files": len(data.skipped), "value_vocabulary": len(vocabulary),
        "value_min_count": TREE_VALUE_MIN_COUNT, "n_tokens": len(tokens),
    }
    return Dataset(name=name, kind="syntax_trees", unit="node", train=train, chunks=heldout,
                   chunk_units=np.array([c.n_nodes for c in heldout], dtype=np.int64),
                   chunk_files=[c.file for c in heldout], notes=notes, vocabulary=vocabulary, tree_tokens=tokens,
                   tree_info=info)


def check_forecast_options(horizon: Any, season_length: Any) -> None:
    """A ``ParameterError`` unless ``horizon`` and ``season_length`` are each None or an integer >= 1."""
    for option, value in (("horizon", horizon), ("season_length", season_length)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ParameterError(f"{option} must be an integer >= 1 (time steps); got {value!r}.")


def load_dataset(source: str | os.PathLike[str], *, unit: str | None = None, split: float = 0.9,
                 random_state: int = 0, max_chars: int | None = None, vocab_size: int | None = None,
                 window: int | None = None, source_field: str = "source",
                 target_field: str = "target", kind: str | None = None, name_pattern: str | None = None,
                 heldout: str | None = None, labels_csv: str | os.PathLike[str] | None = None,
                 sample_rate: int | None = None, resample: bool = False, horizon: int | None = None,
                 season_length: int | None = None) -> Dataset:
    """Load and split the data of a comparison.

    Parameters
    ----------
    source : str or path-like
        A text file, a folder of ``.txt`` files, a ``.csv`` file or a folder of ``.csv`` files (series), a folder
        of PNG / JPEG images, a folder with a ``captions.jsonl`` (captioned images), a folder of ``.py`` files
        (syntax trees), or a built-in name (``pydoc``, ``digits``, ``scenes``, ``synthetic-audio``,
        ``python-stdlib``, ``python-stdlib-all``, or a series of :data:`BUILTIN_SERIES_DATA` such as
        ``sunspots``); see the module notes for each.
    unit : {"char", "word", "byte", "bpe"}, optional
        Scoring unit of text (default ``char``); images are always scored per dimension, series per time step,
        syntax trees per node.
    split : float, default=0.9
        Fraction of the data used for training, in (0, 1); the rest is held out.
    random_state : int, default=0
        Seeds the shuffle and the held-out dequantisation of images, the shuffle of captioned images and the
        drawing of ``scenes`` (text and series are split by position).
    max_chars : int, optional
        Use only the first ``max_chars`` characters of a text (for quick runs).
    vocab_size : int, optional
        ``unit="bpe"``: the BPE vocabulary size (default 1024, at least 257).
    window : int, optional
        Series: time steps per held-out window (default 32).
    source_field, target_field : str, default "source", "target"
        Pairs: the keys of the source and target strings in each JSON object.
    kind : {"audio"}, optional
        Read ``source`` as this kind of data (default: told by its files or name).
    name_pattern : str, optional
        Audio: the file-name pattern whose ``{label}``, ``{speaker}`` (and any other ``{field}``) name each
        recording, e.g. ``"{label}_{speaker}_{index}"`` (:func:`genlab.data.read_audio_dataset`).
    heldout : str, optional
        Audio: the held-out recordings: ``"auto"`` (default), ``"random"`` or ``"FIELD=VALUES"`` (module notes).
    labels_csv : path, optional
        Audio: a CSV giving each file's label (and speaker).
    sample_rate : int, optional
        Audio: the rate (Hz) of the recordings: of every file (else a DataError naming the file), or with
        ``resample`` the rate every file is resampled to; default: the first file's rate (``synthetic-audio``:
        the rate it is drawn at).
    resample : bool, default False
        Audio: resample files at another rate instead of refusing them (:func:`genlab.data.read_audio_dataset`).
    horizon : int, optional
        Numeric series: forecast steps of the forecast table (default: a built-in set's horizon, else
        ``min(window, 24)``).
    season_length : int, optional
        Numeric series: steps per season of the seasonal naive forecast and MASE (default: a built-in set's season,
        else 1).

    Returns
    -------
    Dataset

    Raises
    ------
    DataError
        A missing path, an empty folder or file, a bad series CSV (empty cell, NaN, a non-number), a bad JSON Lines
        line (not an object, a key missing, an empty target, not UTF-8: the line is named), too little data for the
        split, or ``unit="bpe"`` without the ``tokenizers`` package.
    ParameterError
        A bad ``unit``, ``split``, ``vocab_size``, ``window``, ``kind``, ``heldout``, ``horizon`` or
        ``season_length``, an audio option for data that is not audio, or a forecast option for data that is not
        numeric series.
    """
    if not isinstance(split, float | int) or isinstance(split, bool) or not 0.0 < float(split) < 1.0:
        raise ParameterError(f"split must be a fraction strictly between 0 and 1 (e.g. 0.9); got {split!r}.")
    if kind is not None and kind not in FORCED_KINDS:
        raise ParameterError(f"kind must be one of {', '.join(FORCED_KINDS)} (other kinds are told by their files); "
                             f"got {kind!r}.")
    if sample_rate is not None and (isinstance(sample_rate, bool) or not isinstance(sample_rate, int)
                                    or sample_rate < 1):
        raise ParameterError(f"sample_rate must be an integer >= 1 (Hz); got {sample_rate!r}.")
    check_forecast_options(horizon, season_length)
    source = os.fspath(source)
    series_source = source in BUILTIN_SERIES_DATA or (source not in BUILTIN_DATA and _is_series(source))
    if (horizon is not None or season_length is not None) and not series_source:
        given = "--horizon" if horizon is not None else "--season"
        raise ParameterError(f"{given} applies to numeric series (a .csv file or a built-in series such as "
                             f"sunspots); {source!r} is not one.")
    if kind == "audio" or source == "synthetic-audio" or (source not in BUILTIN_DATA and _is_audio_folder(source)):
        if unit not in (None, "sample"):
            raise ParameterError(f"--unit {unit} is for text; audio is scored in bits per audio sample.")
        return _audio_dataset(source, float(split), random_state, name_pattern, heldout,
                              None if labels_csv is None else os.fspath(labels_csv), sample_rate, bool(resample))
    audio_options = {"--label-from-name": name_pattern, "--heldout": heldout, "--labels-csv": labels_csv,
                     "--sample-rate": sample_rate, "--resample": resample or None}
    given = [option for option, value in audio_options.items() if value is not None]
    if given:
        raise ParameterError(f"{given[0]} applies to audio data (a folder of sound files, or synthetic-audio); "
                             f"{source!r} is not audio (use --kind audio to read a folder as audio).")
    if source in BUILTIN_TREE_DATA or (source not in BUILTIN_DATA and (_is_python_folder(source)
                                                                      or source.endswith(".py"))):
        if unit not in (None, "node"):
            raise ParameterError(f"--unit {unit} is for text; syntax trees are scored in bits per node.")
        return _syntax_trees_dataset(source, float(split))
    if source == "digits":
        if unit not in (None, "dimension"):
            raise ParameterError(f"--unit {unit} is for text; images are scored in bits per dimension.")
        return _digits_dataset(float(split), random_state)
    if source == "scenes" or (source not in BUILTIN_DATA and _is_captions_folder(source)):
        if unit not in (None, "char", "caption_char"):
            raise ParameterError(f"--unit {unit} is for text; captions are scored in bits per caption character.")
        return _captions_dataset(source, float(split), random_state)
    if source not in BUILTIN_DATA and _is_image_folder(source):
        if unit not in (None, "dimension"):
            raise ParameterError(f"--unit {unit} is for text; images are scored in bits per dimension.")
        return _image_folder_dataset(source, float(split), random_state)
    if source not in BUILTIN_DATA and _is_pairs(source):
        if unit not in (None, "char", "target_char"):
            raise ParameterError(f"--unit {unit} is for text; pairs are scored in bits per target character.")
        return _pairs_dataset(source, float(split), source_field, target_field)
    if series_source:
        if unit not in (None, "step"):
            raise ParameterError(f"--unit {unit} is for text; series are scored in bits per time step.")
        if window is None:
            window = SERIES_WINDOW
        if isinstance(window, bool) or not isinstance(window, int) or window < 1:
            raise ParameterError(f"window must be an integer >= 1 (time steps per held-out window); got {window!r}.")
        if source in BUILTIN_SERIES_DATA:
            return _builtin_series_dataset(source, window, horizon, season_length)
        dataset = _series_dataset(source, float(split), window, horizon, season_length)
        if dataset.categorical and (horizon is not None or season_length is not None):
            raise ParameterError("--horizon and --season apply to numeric series; this file holds symbol sequences.")
        return dataset
    unit = "char" if unit is None else unit
    if unit not in TEXT_UNITS:
        raise ParameterError(f"unit must be one of {', '.join(TEXT_UNITS)}; got {unit!r}.")
    if max_chars is not None and (isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 2):
        raise ParameterError(f"max_chars must be None or an integer >= 2; got {max_chars!r}.")
    if vocab_size is not None and (isinstance(vocab_size, bool) or not isinstance(vocab_size, int)
                                   or vocab_size < 257):
        raise ParameterError(
            f"vocab_size must be an integer >= 257 (the 256 bytes and at least one merge); got {vocab_size!r}."
        )
    return _text_dataset(source, unit, float(split), max_chars, vocab_size)

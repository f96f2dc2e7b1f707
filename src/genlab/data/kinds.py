"""The kinds of data genlab models take: each model class declares one, and the command line and ``genlab compare``
dispatch on it (which reader to use, which unit to report) instead of guessing from the model's type.

A kind names the form ``fit`` accepts and ``sample`` returns; the readers in :mod:`genlab.data` turn files into
that form.
"""

from __future__ import annotations

import dataclasses

__all__ = ["DATA_KINDS", "DataKind", "data_kind_of"]


@dataclasses.dataclass(frozen=True)
class DataKind:
    """One kind of data.

    Attributes
    ----------
    name : str
        The identifier models declare (``data_kind = "series"``).
    form : str
        What ``fit`` takes and ``sample`` returns, in words.
    files : str
        What the readers accept on disk.
    """

    name: str
    form: str
    files: str


DATA_KINDS: dict[str, DataKind] = {
    kind.name: kind
    for kind in (
        DataKind(
            "vectors",
            "an array (n_samples, n_features) of numbers",
            "a CSV / TSV / whitespace table or .npy (load_table)",
        ),
        DataKind(
            "series",
            "an array (n_steps, n_features) of sequences concatenated along the rows, plus lengths",
            "a table with one row per step (a sequence-id column optional) or a folder of CSVs, one sequence each "
            "(read_series)",
        ),
        DataKind(
            "text",
            "a str, or a list of str / token lists (one sequence each)",
            "a UTF-8 text file, a folder of .txt files, or the built-in pydoc (read_text)",
        ),
        DataKind(
            "documents",
            "a list of str or token lists, one per document",
            "a folder of .txt files, one document each, or a text file of one document per line (read_documents)",
        ),
        DataKind(
            "records",
            "a pandas DataFrame of categorical columns (missing values as None / NaN)",
            "a CSV with a header row",
        ),
        DataKind(
            "images",
            "an array (n, channels, height, width) of integer levels",
            "digits, or a folder of PNG / JPEG images, class subfolders optional (load_image_folder)",
        ),
        DataKind(
            "pairs",
            "sources and targets: two lists of str, or one list of (source, target) pairs",
            'a JSON Lines file of {"source": ..., "target": ...} objects, the keys selectable (read_pairs)',
        ),
        DataKind(
            "captioned_images",
            "images (n, channels, height, width) of uint8 pixels and one caption (str) per image",
            'a folder of images with a captions.jsonl of {"image": ..., "caption": ...} lines '
            "(read_captioned_images), or the built-in shapes scenes / digits",
        ),
        DataKind(
            "boxed_images",
            "images (n, channels, height, width) of uint8 pixels, and per image its boxes (k, 4) x_min, y_min, "
            "x_max, y_max in pixels and labels (k,)",
            'a folder of images with a captions.jsonl whose lines carry "boxes" and "labels" '
            "(read_captioned_images), or the built-in shapes scenes / digits",
        ),
        DataKind(
            "audio",
            "a list of 1-D arrays of samples in [-1, 1] at one sample rate (or of sound file paths), with an optional "
            "label and speaker per recording",
            "a folder of WAV / FLAC / OGG files, labels from the file names (a pattern such as "
            '"{label}_{speaker}_{index}"), a CSV or class subfolders (read_audio_dataset)',
        ),
        DataKind(
            "trees",
            "sentences (token lists, or str split on whitespace) or their parse trees (genlab.trees.Tree)",
            "a text file of one sentence per line (read_sentences) or of bracketed trees (read_treebank)",
        ),
        DataKind(
            "syntax_trees",
            "a list of Python syntax trees (ast.Module) or of Python source strings",
            "a .py file or a folder of them, read recursively (read_python_sources)",
        ),
    )
}


def data_kind_of(model_or_class: object) -> DataKind:
    """The :class:`DataKind` a model (instance or class) declares through its ``data_kind`` attribute."""
    name = getattr(model_or_class, "data_kind", None)
    if name not in DATA_KINDS:
        raise TypeError(f"{model_or_class!r} declares no known data_kind (got {name!r}; known: {sorted(DATA_KINDS)})")
    return DATA_KINDS[name]

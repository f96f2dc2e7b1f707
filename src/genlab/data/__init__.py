"""Data readers, batch sources and the conventions every model shares (DESIGN.md section 2).

Readers, one per kind of data (:mod:`genlab.data.kinds`): :func:`load_table` (vectors), :func:`read_series`
(series: one rule for the command line and ``genlab compare``), :func:`read_text` / :func:`read_text_file` /
:func:`read_corpus` (text), :func:`read_documents` (documents), :func:`read_records` (records: categorical tables),
:func:`load_image_folder` / :func:`load_digits_images` (images), :func:`read_pairs` (JSON Lines pairs, streamed),
:func:`read_audio_folder` / :func:`read_audio_dataset` (audio), :func:`read_captioned_images` (captioned / boxed
images: a folder with ``captions.jsonl``), :func:`read_sentences` / :func:`read_treebank` (trees: sentences for a
grammar, bracketed parse trees). The command line and ``genlab compare`` read through these, never
through readers of their own.
"""

from genlab.data.audio import AUDIO_EXTENSIONS, AudioDataset, AudioFolder, read_audio_dataset, read_audio_folder
from genlab.data.batches import ArrayChunks, BatchSource, NpyChunks
from genlab.data.captioned import read_captioned_images
from genlab.data.images import IMAGE_EXTENSIONS, load_digits_images, load_image_folder
from genlab.data.kinds import DATA_KINDS, DataKind, data_kind_of
from genlab.data.pairs import JsonLinesPairs, read_pairs
from genlab.data.records import read_records, write_records
from genlab.data.scenes import CaptionedImages
from genlab.data.sequences import check_lengths, split_sequences
from genlab.data.series import SEQUENCE_COLUMNS, SeriesData, read_series
from genlab.data.tabular import TABLE_EXTENSIONS, load_table, save_table, table_header, write_csv
from genlab.data.text import BUILTIN_TEXTS, read_corpus, read_documents, read_text, read_text_file
from genlab.data.trees import read_sentences, read_treebank

__all__ = [
    "AUDIO_EXTENSIONS",
    "BUILTIN_TEXTS",
    "DATA_KINDS",
    "IMAGE_EXTENSIONS",
    "SEQUENCE_COLUMNS",
    "TABLE_EXTENSIONS",
    "ArrayChunks",
    "AudioDataset",
    "AudioFolder",
    "BatchSource",
    "CaptionedImages",
    "DataKind",
    "JsonLinesPairs",
    "NpyChunks",
    "SeriesData",
    "check_lengths",
    "data_kind_of",
    "load_digits_images",
    "load_image_folder",
    "load_table",
    "read_audio_dataset",
    "read_audio_folder",
    "read_captioned_images",
    "read_corpus",
    "read_documents",
    "read_pairs",
    "read_records",
    "read_sentences",
    "read_series",
    "read_text",
    "read_text_file",
    "read_treebank",
    "save_table",
    "split_sequences",
    "table_header",
    "write_csv",
    "write_records",
]

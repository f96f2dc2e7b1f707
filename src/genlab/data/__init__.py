"""Data loaders, batch sources and the conventions every model shares (DESIGN.md section 2)."""

from genlab.data.batches import ArrayChunks, BatchSource, NpyChunks
from genlab.data.kinds import DATA_KINDS, DataKind, data_kind_of
from genlab.data.sequences import check_lengths, split_sequences
from genlab.data.tabular import TABLE_EXTENSIONS, load_table, save_table, write_csv

__all__ = [
    "DATA_KINDS",
    "TABLE_EXTENSIONS",
    "ArrayChunks",
    "BatchSource",
    "DataKind",
    "NpyChunks",
    "check_lengths",
    "data_kind_of",
    "load_table",
    "save_table",
    "split_sequences",
    "write_csv",
]

"""Data loaders and batch sources (DESIGN.md section 2)."""

from genlab.data.batches import ArrayChunks, BatchSource, NpyChunks
from genlab.data.tabular import TABLE_EXTENSIONS, load_table, save_table, write_csv

__all__ = ["TABLE_EXTENSIONS", "ArrayChunks", "BatchSource", "NpyChunks", "load_table", "save_table", "write_csv"]

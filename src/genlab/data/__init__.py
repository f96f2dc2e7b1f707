"""Data loaders and batch sources (DESIGN.md section 2)."""

from genlab.data.batches import ArrayChunks, BatchSource, NpyChunks

__all__ = ["ArrayChunks", "BatchSource", "NpyChunks"]

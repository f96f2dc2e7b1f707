"""Reading text corpora: :func:`read_text` is :func:`genlab.data.read_text_file` (one UTF-8 file, read exactly).

The data layer (:mod:`genlab.data.text`) owns text on disk; the name stays here for the code that imports it from
:mod:`genlab.sequence`.
"""

from __future__ import annotations

from genlab.data.text import read_text_file as read_text

__all__ = ["read_text"]

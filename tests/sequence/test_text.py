"""read_text: exact UTF-8 reading, and a DataError naming the first bad byte."""

from __future__ import annotations

import pytest

from genlab.errors import DataError
from genlab.sequence import read_text


def test_reads_utf8_exactly(tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes("\ufeffcaf\u00e9\r\nna\u00efve\n\nlast\x0cline".encode())
    assert read_text(path) == "caf\u00e9\r\nna\u00efve\n\nlast\x0cline"  # BOM dropped, nothing translated
    assert read_text(path, lines=True) == ["caf\u00e9", "na\u00efve", "", "last\x0cline"]


def test_non_utf8_names_the_byte_offset(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("first line\nsecond: caf\u00e9".encode("latin-1"))
    with pytest.raises(DataError, match=r"not valid UTF-8: byte offset 22 \(line 2\) holds e9 .*iconv"):
        read_text(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(DataError, match="no text file at"):
        read_text(tmp_path / "absent.txt")
    with pytest.raises(DataError, match="is a folder"):
        read_text(tmp_path)

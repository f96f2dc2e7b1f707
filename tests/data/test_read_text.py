"""genlab.data text readers: one file read exactly, a folder of .txt files, the built-in pydoc text, documents."""

from __future__ import annotations

import pytest

from genlab.data import read_corpus, read_documents, read_text, read_text_file
from genlab.errors import DataError, ParameterError


def test_one_file_is_read_exactly(tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes("\ufeffcaf\u00e9\r\nna\u00efve\n\nlast\x0cline".encode())
    assert read_text_file(path) == read_text(path) == "caf\u00e9\r\nna\u00efve\n\nlast\x0cline"  # BOM dropped only
    assert read_text(path, lines=True) == ["caf\u00e9", "na\u00efve", "", "last\x0cline"]


def test_non_utf8_names_the_byte_offset_and_line(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("first line\nsecond: caf\u00e9".encode("latin-1"))
    with pytest.raises(DataError, match=r"not valid UTF-8: byte offset 22 \(line 2\) holds e9 .*iconv"):
        read_text(path)


def test_a_folder_is_its_txt_files_in_name_order(tmp_path):
    (tmp_path / "b.txt").write_text("second\n", encoding="utf-8")
    (tmp_path / "a.txt").write_text("first", encoding="utf-8")
    (tmp_path / "c.csv").write_text("1,2\n", encoding="utf-8")
    (tmp_path / "._a.txt").write_bytes(b"\x00\x05\x16\x07")  # a macOS resource fork: hidden, not text
    assert read_text(tmp_path) == "first\nsecond\n"
    assert read_text(tmp_path, lines=True) == ["first", "second"]


def test_the_builtin_pydoc_text():
    from pydoc_data.topics import topics

    text = read_text("pydoc")
    assert text == "\n\n".join(topics[key] for key in sorted(topics))
    assert text.startswith(topics[min(topics)]) and len(text) > 100_000


def test_missing_and_empty_sources(tmp_path):
    with pytest.raises(DataError, match=r"no text file or folder at '.*absent.txt'; give a UTF-8 text file, a folder "
                                        r"of .txt files, or a built-in name \(pydoc\)"):
        read_text(tmp_path / "absent.txt")
    with pytest.raises(DataError, match=r"the folder '.*' holds no .txt files"):
        read_text(tmp_path)
    with pytest.raises(DataError, match="no text file at"):
        read_text_file(tmp_path / "absent.txt")
    with pytest.raises(DataError, match="is a folder; give the path of a text file"):
        read_text_file(tmp_path)


def test_documents_from_a_folder_or_the_lines_of_a_file(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "2.txt").write_text("the second document\nhas two lines", encoding="utf-8")
    (folder / "1.txt").write_text("the first", encoding="utf-8")
    assert read_documents(folder) == (["the first", "the second document\nhas two lines"], ["1.txt", "2.txt"])
    lines = tmp_path / "lines.txt"
    lines.write_text("one\n\nthree\r\n", encoding="utf-8")
    assert read_documents(lines) == (["one", "", "three"], ["line 1", "line 2", "line 3"])  # empty lines kept
    with pytest.raises(DataError, match=r"is a folder without .txt files; put one document per .txt file in it"):
        read_documents(_empty(tmp_path))
    with pytest.raises(DataError, match=r"no file or folder at '.*nope'; give a folder of .txt files or a file"):
        read_documents(tmp_path / "nope")


def _empty(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    return folder


def test_a_corpus_by_characters_or_by_lines_of_words(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("the cat sat\n\n  on the mat \r\nend", encoding="utf-8")
    assert read_corpus(path) == read_corpus(path, "char") == "the cat sat\n\n  on the mat \r\nend"
    assert read_corpus(path, "word") == [["the", "cat", "sat"], ["on", "the", "mat"], ["end"]]  # blank lines skipped
    assert read_corpus("pydoc", "char") == read_text("pydoc")
    with pytest.raises(ParameterError, match="unit must be 'char' or 'word'; got 'byte'"):
        read_corpus(path, "byte")

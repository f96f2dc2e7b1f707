"""The data readers count before they allocate, read numbers strictly and refuse empty inputs (issue 17)."""

from __future__ import annotations

import io
import json
import struct
import time
import tracemalloc

import numpy as np
import pytest

from genlab.data import (
    load_image_folder,
    load_table,
    read_audio_folder,
    read_documents,
    read_pairs,
    read_records,
    read_series,
    read_text,
    read_text_file,
)
from genlab.errors import DataError, ParameterError


def _peak(call) -> tuple[BaseException | None, int]:
    tracemalloc.start()
    error = None
    try:
        call()
    except BaseException as exc:  # the test inspects what escaped
        error = exc
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return error, peak


# -- numbers and the budget -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["0", "-1.5", "+.5", "5.", "1e-3", "2E+10", "007"])
def test_decimal_numbers(text):
    from genlab.data.limits import parse_decimal

    assert parse_decimal(text) == float(text)


@pytest.mark.parametrize("text", ["1_0", "١", "²", "nan", "inf", "-Infinity", " 1", "1 ", "0x10", "1e999", "", ".",
                                  "e5", "1.5j", "1" * 401])
def test_not_decimal_numbers(text):
    from genlab.data.limits import DECIMAL, parse_decimal

    assert parse_decimal(text) is None
    assert text == "1" * 401 or not DECIMAL.fullmatch(text) or text == "1e999"


def test_the_budget_comes_from_the_argument_the_environment_or_the_default(monkeypatch):
    from genlab.data.limits import read_budget

    monkeypatch.delenv("GENLAB_READ_BUDGET", raising=False)
    assert read_budget() == 2**30
    assert read_budget(default=2**32) == 2**32
    assert read_budget(1000) == 1000.0
    monkeypatch.setenv("GENLAB_READ_BUDGET", "4e9")
    assert read_budget() == read_budget(default=2**32) == 4e9
    monkeypatch.setenv("GENLAB_READ_BUDGET", "lots")
    with pytest.raises(ParameterError, match="GENLAB_READ_BUDGET must be a number of bytes > 0"):
        read_budget()
    for bad in (0, -1, True, "1"):
        with pytest.raises(ParameterError, match="memory_budget must be a number of bytes > 0"):
            read_budget(bad)


# -- tables ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cell", ["\u0661", "1\u0660", "\u00b2"])
def test_table_cells_are_ascii_decimals(tmp_path, cell):
    # NumPy's parser refuses these; the old line-by-line pass then took float(), which reads '١' as 1
    path = tmp_path / "t.csv"
    path.write_text(f"x,y\n{cell},2\n3,4\n", encoding="utf-8")
    with pytest.raises(DataError, match=rf"line 2 \(data row 1\), column 1 holds '{cell}', which is not a number"):
        load_table(path)


def test_a_series_id_in_unicode_digits_is_text(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("id,x\n\u0661,0.5\n1,0.7\n", encoding="utf-8")
    # '١' and '1' are two ids (two sequences), not one id read as the number 1
    assert len(read_series(path).sequences) == 2


def test_an_npy_header_declaring_more_than_the_file_holds_is_refused_before_loading(tmp_path):
    path = tmp_path / "a.npy"
    buffer = io.BytesIO()
    header = {"descr": "<f8", "fortran_order": False, "shape": (4_000_000_000,)}  # 32 GB declared
    np.lib.format.write_array_header_1_0(buffer, header)
    path.write_bytes(buffer.getvalue() + np.zeros(3).tobytes())  # 24 bytes held
    error, peak = _peak(lambda: load_table(path))
    assert isinstance(error, DataError), repr(error)
    assert "declares an array of shape (4000000000,) (32000000000 bytes of data) but holds 24 bytes" in str(error)
    assert peak < 2**20


def test_an_npy_array_over_the_budget_is_refused_before_loading(tmp_path):
    path = tmp_path / "a.npy"
    np.save(path, np.zeros((1000, 10)))
    with pytest.raises(DataError, match=r"the array of shape \(1000, 10\) would take .* more than the reader's memory "
                                        r"budget of 97.7 KiB"):
        load_table(path, memory_budget=100_000)
    assert load_table(path).shape == (1000, 10)


def test_text_tables_and_records_over_the_budget_are_refused_unread(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n" + "1,2\n" * 1000)
    for read in (load_table, read_records, read_series):
        with pytest.raises(DataError, match=r"t\.csv' is .*more than the reader's memory budget of 10 KiB"):
            read(path, memory_budget=10 * 1024)


# -- text -----------------------------------------------------------------------------------------------------------
def test_an_empty_text_file_is_refused(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    with pytest.raises(DataError, match=r"the text file '.*empty\.txt' is empty; give a file that holds text"):
        read_text_file(path)
    with pytest.raises(DataError, match="is empty"):
        read_text(path)
    path.write_bytes(b"\xef\xbb\xbf")  # only a byte-order mark
    with pytest.raises(DataError, match="is empty"):
        read_documents(path)


def test_a_folder_of_empty_text_files_is_refused_but_one_empty_document_is_kept(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"")
    (tmp_path / "b.txt").write_bytes(b"")
    with pytest.raises(DataError, match="are all empty; there is no text"):
        read_text(tmp_path)
    with pytest.raises(DataError, match="are all empty; there are no documents"):
        read_documents(tmp_path)
    (tmp_path / "c.txt").write_text("words")
    assert read_documents(tmp_path) == (["", "", "words"], ["a.txt", "b.txt", "c.txt"])


def test_text_over_the_budget_is_refused_unread(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("x" * 10_000)
    with pytest.raises(DataError, match=r"takes up to 8 bytes of memory per byte of file, more than the reader's "
                                        r"memory budget of 9.77 KiB"):
        read_text(path, memory_budget=10_000)
    with pytest.raises(DataError, match=r"reading its 1 .txt files \(10000 bytes\) would take"):
        read_text(tmp_path, memory_budget=50_000)
    assert len(read_text(path, memory_budget=100_000)) == 10_000


# -- JSON Lines -----------------------------------------------------------------------------------------------------
def test_json_lines_nested_deeper_than_the_bound_are_refused_without_recursing(tmp_path):
    # the old reader handed this line to json.loads, which raised RecursionError
    path = tmp_path / "p.jsonl"
    path.write_text('{"source": "a", "target": "b"}\n' + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(DataError, match="line 2 nests arrays or objects more than 64 deep"):
        list(read_pairs(path))
    # brackets inside strings do not count, nor do escaped quotes end the string
    path.write_text(json.dumps({"source": "[" * 1000 + '\\"' + "{" * 1000, "target": "x"}) + "\n")
    assert list(read_pairs(path)) == [("[" * 1000 + '\\"' + "{" * 1000, "x")]


def test_a_json_integer_of_too_many_digits_is_a_data_error(tmp_path):
    # the old reader let int()'s ValueError (over 4300 digits) escape
    path = tmp_path / "p.jsonl"
    path.write_text('{"source": "a", "target": "b", "n": ' + "1" * 5000 + "}\n")
    with pytest.raises(DataError, match="line 1 holds JSON that Python cannot decode"):
        list(read_pairs(path))


def test_a_json_line_longer_than_the_bound_is_refused_unread(tmp_path, monkeypatch):
    import genlab.data.pairs as pairs

    monkeypatch.setattr(pairs, "MAX_LINE_BYTES", 1000)
    path = tmp_path / "p.jsonl"
    path.write_text('{"source": "a", "target": "b"}\n' + '{"source": "' + "x" * 5000 + '", "target": "y"}\n')
    with pytest.raises(DataError, match="line 2 is longer than 1000 bytes"):
        list(read_pairs(path))


def test_an_empty_json_lines_file_is_refused_at_once(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_bytes(b"")
    with pytest.raises(DataError, match=r"'.*p\.jsonl' is empty; give one JSON object per line"):
        read_pairs(path)


# -- images and audio -----------------------------------------------------------------------------------------------
def _bmp_header(width: int, height: int) -> bytes:
    """A BMP file header declaring ``width x height`` 8-bit pixels and holding none of them."""
    return struct.pack("<2sIHHI", b"BM", 0, 0, 0, 54) + struct.pack("<IiiHHIIiiII", 40, width, height, 1, 8, 0, 0, 0,
                                                                    0, 0, 0)


def test_an_image_declaring_more_pixels_than_the_budget_is_refused_before_decoding(tmp_path):
    pytest.importorskip("PIL")
    # 13,000 x 13,000 pixels in a 54-byte file: over Pillow's warning limit, under its error limit; the old reader
    # decoded it (or, with warnings as errors, let DecompressionBombWarning escape)
    (tmp_path / "big.png").write_bytes(_bmp_header(13_000, 13_000))
    start = time.perf_counter()
    with pytest.raises(DataError, match=r"decoding '.*big\.png' \(13000x13000 pixels\) after the images before it "
                                        r"would take 4.09 GiB, more than the reader's memory budget of 4 GiB"):
        load_image_folder(tmp_path)
    with pytest.raises(DataError, match=r"more than the reader's memory budget of 1 GiB"):
        load_image_folder(tmp_path, memory_budget=2**30)
    assert time.perf_counter() - start < 10.0  # a hang guard: nothing was decoded


def test_images_add_up_against_the_budget(tmp_path):
    image_module = pytest.importorskip("PIL.Image")
    for k in range(3):
        image_module.fromarray(np.full((32, 32), k * 50, dtype=np.uint8)).save(tmp_path / f"{k}.png")
    assert load_image_folder(tmp_path)[0].shape == (3, 1, 32, 32)
    with pytest.raises(DataError, match=r"decoding '.*2\.png' .* more than the reader's memory budget"):
        load_image_folder(tmp_path, memory_budget=32 * 32 * (2 * 18 + 8 + 18) - 1)


def _wav(frames: int, rate: int = 8000) -> bytes:
    soundfile = pytest.importorskip("soundfile")
    buffer = io.BytesIO()
    soundfile.write(buffer, np.zeros(frames, dtype=np.float32), rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def test_sound_files_are_checked_from_their_headers_before_decoding(tmp_path):
    (tmp_path / "a.wav").write_bytes(_wav(8000))
    (tmp_path / "b.wav").write_bytes(_wav(8000))
    assert len(read_audio_folder(tmp_path).waveforms) == 2
    with pytest.raises(DataError, match=r"decoding '.*b\.wav' \(8000 frames x 1 channels\) after the files before "
                                        r"it would take .* more than the reader's memory budget"):
        read_audio_folder(tmp_path, memory_budget=150_000)
    # resampling to a higher rate is counted too
    with pytest.raises(DataError, match=r"decoding '.*a\.wav'"):
        read_audio_folder(tmp_path, 8_000_000, memory_budget=10_000_000)


def test_a_sound_file_declaring_no_frames_is_refused_naming_it(tmp_path):
    (tmp_path / "a.wav").write_bytes(_wav(0))
    with pytest.raises(DataError, match=r"the sound file '.*a\.wav' holds no samples"):
        read_audio_folder(tmp_path)

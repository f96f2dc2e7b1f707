"""``genlab info`` on damaged model files: one line on stderr and exit status 2, never a traceback (issue 17)."""

from __future__ import annotations

import struct

import genlab
from helpers import assert_user_error, invoke, three_blobs
from model_file_tools import raw_file, rewrite


def test_info_of_damaged_files(tmp_path):
    cases = {
        "metadata_list.genlab": raw_file([1]),  # was AttributeError, a traceback and exit 1
        "version_null.genlab": raw_file({"format": "genlab", "format_version": None}),  # was TypeError
        "deep.genlab": struct.pack("<Q", 20_000) + b"[" * 10_000 + b"]" * 10_000,  # was RecursionError
        "short.genlab": b"\x01\x02",
    }
    for name, payload in cases.items():
        path = tmp_path / name
        path.write_bytes(payload)
        assert_user_error(invoke("info", path), name)


def test_info_of_a_resigned_file_with_a_malformed_array(tmp_path):
    path = tmp_path / "gmm.genlab"
    genlab.GaussianMixture(n_components=2, random_state=0).fit(three_blobs(n_per=20)).save(path)
    rewrite(path, lambda h: h["fitted"].update(means_=[1, 2]))
    assert_user_error(invoke("info", path), "fitted/means_")

"""The gallery generator (tools/docs/gallery.py) and the gallery it wrote (docs/gallery/).

The generator's cheap sections run into a temporary folder through ``main``, the code path of ``make gallery``; the
expensive ones (neural models) run only in the full regeneration, and the committed page is checked as it stands.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

import gallery
import pytest

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "docs" / "gallery"
CHEAP = "hmm,bayesnet"  # both under a few seconds: a matplotlib PNG and a Markdown table
_LINK = re.compile(r"!?\[[^\]]*\]\((?P<markdown>[^)\s]+)\)|\bsrc=\"(?P<html>[^\"]+)\"")
_RUN_FENCE = re.compile(r"^\s*(```|~~~)\s*(python|console)\b", re.MULTILINE)
_SECONDS = re.compile(r"\d+(\.\d+)? s\b")  # wall-clock training times differ from run to run
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk; fails if the file is not a PNG."""
    data = path.read_bytes()
    assert data[:8] == _PNG_SIGNATURE, f"{path.name} is not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def linked_files(page: str) -> list[str]:
    return [m["markdown"] or m["html"] for m in _LINK.finditer(page)]


def check_page(folder: Path) -> str:
    """What every generated page must be: MkDocs-strict-safe links to files present, no fences the docs build
    runs, real small images. Returns the page."""
    page = (folder / "index.md").read_text(encoding="utf-8")
    assert page.startswith("# Gallery\n")
    assert "make gallery" in page and "tools/docs/gallery.py" in page
    assert not _RUN_FENCE.search(page), "python / console fences would be run by the documentation build"
    links = linked_files(page)
    assert links
    for link in links:
        assert "://" not in link and not link.startswith("/") and "/" not in link, link
        assert (folder / link).is_file(), f"the page links {link}, which is not in {folder}"
    for image in folder.glob("*.png"):
        width, height = png_size(image)
        assert 50 <= width <= 2000 and 30 <= height <= 2000, (image.name, width, height)
        assert image.stat().st_size < 150_000, image.name
    return page


def test_cheap_sections_write_a_valid_page_with_real_images(tmp_path):
    assert gallery.main(["--out", str(tmp_path), "--only", CHEAP, "--seed", "0"]) == 0
    page = check_page(tmp_path)
    assert "<!-- gallery:hmm -->" in page and "<!-- gallery:bayesnet -->" in page
    assert "<!-- gallery:text -->" not in page  # sections not asked for are not invented
    assert "bits per time step" in page and "bits per record" in page  # each caption gives its score's unit
    assert (tmp_path / "hmm-viterbi.png").is_file()
    assert "| P(lung = yes) |" in page


def test_the_same_seed_draws_the_same_gallery(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    for folder in (first, second):
        gallery.main(["--out", str(folder), "--only", CHEAP, "--seed", "0"])
    assert _SECONDS.sub("", (first / "index.md").read_text()) == _SECONDS.sub("", (second / "index.md").read_text())
    assert (first / "hmm-viterbi.png").read_bytes() == (second / "hmm-viterbi.png").read_bytes()


def test_only_redraws_the_named_sections_and_keeps_the_rest(tmp_path):
    gallery.main(["--out", str(tmp_path), "--only", "bayesnet", "--seed", "0"])
    kept = gallery.existing_sections((tmp_path / "index.md").read_text())["bayesnet"]
    (tmp_path / "hmm-stale.png").write_bytes(b"left from an older run")
    gallery.main(["--out", str(tmp_path), "--only", "hmm", "--seed", "0"])
    page = (tmp_path / "index.md").read_text()
    sections = gallery.existing_sections(page)
    assert sections["bayesnet"] == kept
    assert list(sections) == [name for name in gallery.SECTIONS if name in sections]  # the page's order
    assert not (tmp_path / "hmm-stale.png").exists()  # a section's old assets go before it is drawn again
    check_page(tmp_path)


def test_an_unknown_section_is_refused_with_the_choices(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        gallery.main(["--out", str(tmp_path), "--only", "hmm,poetry"])
    assert exit_info.value.code == 2
    assert "poetry" in capsys.readouterr().err
    assert not (tmp_path / "index.md").exists()


@pytest.mark.skipif(not (COMMITTED / "index.md").exists(), reason="the gallery has not been generated yet")
def test_the_committed_gallery_is_complete_and_small():
    page = check_page(COMMITTED)
    assert list(gallery.existing_sections(page)) == list(gallery.SECTIONS)
    for wav in COMMITTED.glob("*.wav"):
        data = wav.read_bytes()
        assert data[:4] == b"RIFF" and data[8:12] == b"WAVE", wav.name
        assert len(data) <= 44 + 2 * 8000, f"{wav.name}: more than one second of 16-bit 8 kHz audio"
    linked = set(linked_files(page))
    assets = {p.name for p in COMMITTED.iterdir() if p.name != "index.md"}
    assert assets <= linked, f"files no section links: {sorted(assets - linked)}"
    assert sum(p.stat().st_size for p in COMMITTED.iterdir()) < 2_000_000

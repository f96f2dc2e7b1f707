"""``genlab fit mlm``: a held-out part too short names the command's own option; --levels is refused for bert; the
model is saved before the held-out bound, so an interrupt there keeps it."""

from __future__ import annotations

import pytest

import genlab
from helpers import assert_user_error, invoke

pytest.importorskip("torch")

TINY = ["--preset", "tiny", "--layers", "1", "--embd", "8", "--heads", "2", "--block-size", "16", "--max-steps", "2",
        "--batch-size", "4"]
TEXT = "the cat sat on the mat. a dog ate the hat; the bat sat on a cap. " * 8


def test_a_short_held_out_part_names_val_fraction(tmp_path):
    data = tmp_path / "short.txt"
    data.write_text(TEXT[:100], encoding="utf-8")  # 10 held-out characters: shorter than one window of 16
    result = invoke("fit", "mlm", data, *TINY, "--out", tmp_path / "m.genlab")
    assert_user_error(result, "the held-out part (--val-fraction 0.1: 10 characters)", "or --val-fraction 0")
    assert not (tmp_path / "m.genlab").exists()


def test_levels_is_refused_for_the_bert_objective(tmp_path):
    data = tmp_path / "text.txt"
    data.write_text(TEXT, encoding="utf-8")
    result = invoke("fit", "mlm", data, *TINY, "--objective", "bert", "--levels", "3", "--out", tmp_path / "m.genlab")
    assert_user_error(result, "--levels sets the masking levels of the diffusion bound")


def test_an_interrupt_during_the_held_out_bound_keeps_the_fitted_model(tmp_path, monkeypatch):
    data = tmp_path / "text.txt"
    data.write_text(TEXT, encoding="utf-8")

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(genlab.MaskedLanguageModel, "bits_per_character", interrupted)
    out = tmp_path / "m.genlab"
    result = invoke("fit", "mlm", data, *TINY, "--out", out)
    assert result.exit_code == 130, (result.exit_code, result.stderr)
    assert "the fitted model is saved to" in result.stderr
    assert genlab.load(out).training_["steps"] == 2


def test_the_cli_names_the_models_samplers_and_objectives():
    """The CLI writes the names out (importing the model's modules would slow ``genlab --help``): they must agree."""
    from genlab.cli.masked import MASKED_METHODS, FillMethod, Objective
    from genlab.masked.config import OBJECTIVES
    from genlab.masked.sampling import SAMPLERS

    assert MASKED_METHODS == SAMPLERS == tuple(m.value for m in FillMethod)
    assert tuple(o.value for o in Objective) == OBJECTIVES

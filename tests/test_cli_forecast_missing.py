"""The NAR commands read empty / nan cells as missing values, which the model masks; the AR commands refuse them."""

from __future__ import annotations

import numpy as np

import genlab
from helpers import assert_user_error, invoke


def test_nar_commands_mask_missing_values(tmp_path):
    values = np.sin(np.arange(60) / 4) * 5 + 10
    cells = ["nan" if i in (20, 21, 40) else f"{v:.5f}" for i, v in enumerate(values)]
    data = tmp_path / "gaps.csv"
    data.write_text("y\n" + "\n".join(cells) + "\n", encoding="utf-8")
    model_path = tmp_path / "nar.genlab"
    fitted = invoke("fit", "nar", data, "--context", 4, "--hidden", 4, "--layers", 1, "--max-steps", 3,
                    "--seed", 0, "--out", model_path)
    assert fitted.exit_code == 0, fitted.output
    scored = invoke("score", model_path, data, "--json")
    assert scored.exit_code == 0, scored.output
    model = genlab.load(model_path)
    y = np.array([float(c) for c in cells])
    assert model.n_units(y) == 60 - 4 - 3  # the three missing values are not scored
    assert f"{model.score(y):.4f}" in scored.stdout or f"{model.score(y):.6f}"[:6] in scored.stdout
    assert invoke("forecast", model_path, data, "--steps", 2).exit_code == 0
    refused = invoke("fit", "ar", data, "--out", tmp_path / "ar.genlab")
    assert_user_error(refused, "'nan' (NaN or inf)")

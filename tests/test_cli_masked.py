"""``genlab fit mlm``, ``genlab fill`` and ``score`` / ``sample`` / ``info`` of masked language models.

Tiny models (1 layer, 8 channels, block 16, 3 steps) are fitted through the command line on a text written here;
the tests check what the commands print against the Python API of the saved model (the same figures, the same
draws for the same seed), that every figure is labelled for what it is (an upper bound, a pseudo-likelihood), and
that each bad input is one ``error:`` line on stderr with exit status 2.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import genlab
from genlab.cli.seq2seq import escape_line
from helpers import assert_user_error, invoke

pytest.importorskip("torch")

#: Tiny sizes and few steps: these tests are about the command line, not the model's quality.
TINY = ["--preset", "tiny", "--layers", "1", "--embd", "8", "--heads", "2", "--block-size", "16", "--max-steps", "3",
        "--no-progress"]
#: No underscores: a drawn text can then never hold a gap marker.
TEXT = ("To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\n"
        "The slings and arrows of outrageous fortune,\nOr to take arms against a sea of troubles.\n") * 6


def field(output: str, name: str) -> str:
    """The value of one ``name  value`` line the commands print."""
    match = re.search(rf"^{re.escape(name)}\s{{2,}}(.*)$", output, flags=re.MULTILINE)
    assert match is not None, output
    return match.group(1)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mlm")


@pytest.fixture(scope="module")
def corpus(folder: Path) -> Path:
    path = folder / "input.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


def fit(folder: Path, corpus: Path, objective: str, *extra: str) -> tuple[Path, str]:
    out = folder / f"{objective}.genlab"
    result = invoke("fit", "mlm", corpus, "--objective", objective, *TINY, *extra, "--seed", "0", "--out", out)
    assert result.exit_code == 0, (result.output, result.exception)
    return out, result.stdout


@pytest.fixture(scope="module")
def diffusion(folder: Path, corpus: Path) -> tuple[Path, str]:
    return fit(folder, corpus, "diffusion")


@pytest.fixture(scope="module")
def bert(folder: Path, corpus: Path) -> tuple[Path, str]:
    return fit(folder, corpus, "bert")


# -- fit ------------------------------------------------------------------------------------------------------------
def test_fit_prints_what_was_fitted_and_the_held_out_upper_bound(diffusion):
    path, printed = diffusion
    model = genlab.load(path)
    assert isinstance(model, genlab.MaskedLanguageModel) and model.objective == "diffusion"
    config = model.config_
    assert (config["n_layer"], config["n_head"], config["n_embd"], config["block_size"]) == (1, 2, 8, 16)
    assert model.training_["steps"] == 3 and model.training_["stop_reason"] == "max_steps"
    cut = len(TEXT) - round(0.1 * len(TEXT))  # the last --val-fraction (default 0.1) is held out
    assert field(printed, "data").endswith(f"({cut:,} training characters, {len(TEXT) - cut:,} held out)")
    assert field(printed, "training").startswith("3 steps,")
    losses = field(printed, "training loss")
    assert losses.endswith(" nats per predicted token (mean of the last 3 steps)")
    # the mean of the losses the fit reports step by step (the same fit through the Python API)
    seen: list[float] = []
    genlab.MaskedLanguageModel(objective="diffusion", preset="tiny", n_layer=1, n_embd=8, n_head=2, block_size=16,
                               max_steps=3, random_state=0, verbose=0).fit(
        TEXT[:cut], validation_data=TEXT[cut:], callback=lambda step, loss: seen.append(loss))
    assert len(seen) == 3 and float(losses.split()[0]) == pytest.approx(np.mean(seen), abs=1e-4)
    # an estimate from 8 masking levels per window (--levels' default for fit), with its standard error
    figure = model.bits_per_character(TEXT[cut:], n_levels=8)
    assert figure.stderr > 0
    assert field(printed, "held-out bits/char") == f"{float(figure):.6f} +/- {figure.stderr:.2g} (upper bound)"


def test_fit_bert_shows_its_held_out_loss_not_a_likelihood(bert):
    path, printed = bert
    model = genlab.load(path)
    assert model.objective == "bert"
    assert field(printed, "held-out loss") == (f"{model.history_[-1]['val_loss']:.4f} nats per predicted token (the "
                                               "BERT objective's, not a likelihood; genlab score gives the "
                                               "pseudo-likelihood)")
    assert "upper bound" not in printed and "bits/char" not in printed


def test_fit_bert_says_when_no_evaluation_ran(folder, corpus):
    """--max-time stops a fit without a last evaluation (at --max-steps there is one): no held-out loss to show."""
    result = invoke("fit", "mlm", corpus, "--objective", "bert", *TINY[:-3], "--max-time", "0.5",
                    "--eval-interval", "100000", "--no-progress", "--out", folder / "timed.genlab")
    assert result.exit_code == 0, result.output
    steps = genlab.load(folder / "timed.genlab").training_["steps"]
    assert field(result.stdout, "held-out loss") == (f"- (no evaluation ran in {steps:,} steps: one runs every "
                                                     "--eval-interval 100000 steps and at --max-steps; genlab score "
                                                     "gives the pseudo-likelihood)")


def test_fit_option_names_of_fit_lm_and_their_short_forms(folder, corpus):
    out = folder / "names.genlab"
    result = invoke("fit", "mlm", corpus, "--preset", "tiny", "--n-layer", "2", "--n-head", "2", "--n-embd", "8",
                    "--block-size", "12", "--learning-rate", "0.004", "--batch-size", "4", "--max-steps", "2",
                    "--tokenizer", "byte", "--positions", "learned", "--val-fraction", "0", "--no-progress",
                    "--out", out)
    assert result.exit_code == 0, result.output
    long_names = genlab.load(out)
    result = invoke("fit", "mlm", corpus, "--preset", "tiny", "--layers", "2", "--heads", "2", "--embd", "8",
                    "--block-size", "12", "--lr", "0.004", "--batch-size", "4", "--max-steps", "2", "--tokenizer",
                    "byte", "--positions", "learned", "--validation-fraction", "0", "--no-progress", "--out", out)
    assert result.exit_code == 0, result.output
    short_names = genlab.load(out)
    for model in (long_names, short_names):
        assert (model.n_layer, model.n_head, model.n_embd, model.block_size) == (2, 2, 8, 12)
        assert model.learning_rate == 0.004 and model.batch_size == 4 and model.tokenizer == "byte"
        assert model.config_["positions"] == "learned"
    assert "held-out" not in result.stdout  # --validation-fraction 0: nothing held out, no held-out figure
    for name, value in long_names.module_.state_dict().items():  # the same seed and options: the same weights
        assert np.array_equal(value.numpy(), short_names.module_.state_dict()[name].numpy()), name


# -- score ----------------------------------------------------------------------------------------------------------
def test_score_diffusion_is_labelled_an_upper_bound(diffusion, corpus):
    path, _ = diffusion
    model = genlab.load(path)
    printed = invoke("score", path, corpus)
    assert printed.exit_code == 0, printed.output
    bits = model.bits_per_character(TEXT)
    # every level is exact in the number of masked tokens, not in which tokens: an estimate with its stderr
    assert bits.stderr > 0
    assert field(printed.stdout, "bits per character") == (f"{float(bits):.6f} +/- {bits.stderr:.2g} (upper bound: "
                                                           "the diffusion bound, every masking level)")
    assert field(printed.stdout, "log-likelihood") == f">= {model.score(TEXT):.6f} nats per token (lower bound)"
    report = json.loads(invoke("score", path, corpus, "--json").stdout)
    assert report["likelihood_kind"] == "upper bound" and report["bound"] is True
    assert report["bits_per_char_upper_bound"] == pytest.approx(float(bits), rel=1e-12)
    assert report["stderr"] == pytest.approx(bits.stderr, rel=1e-12)
    assert report["nats_per_token_lower_bound"] == pytest.approx(model.score(TEXT), rel=1e-9)
    assert "bits_per_char" not in report  # never under the key exact likelihoods use
    # fewer masking levels: the model's estimate with its standard error
    report = json.loads(invoke("score", path, corpus, "--levels", "3", "--json").stdout)
    estimate = model.bits_per_character(TEXT, n_levels=3)
    assert report["bits_per_char_upper_bound"] == pytest.approx(float(estimate), rel=1e-12)
    assert report["stderr"] == pytest.approx(estimate.stderr, rel=1e-12) and report["stderr"] > 0
    # one level per window: an estimate without a standard error - said so, and null (not NaN) in JSON
    printed = invoke("score", path, corpus, "--levels", "1")
    assert field(printed.stdout, "bits per character") == (
        f"{float(model.bits_per_character(TEXT, n_levels=1)):.6f} (upper bound: the diffusion bound, 1 masking level "
        "per window, which gives no standard error)")
    assert json.loads(invoke("score", path, corpus, "--levels", "1", "--json").stdout)["stderr"] is None


def test_score_bert_is_a_pseudo_likelihood_token_or_word_level(bert, corpus):
    path, _ = bert
    model = genlab.load(path)
    printed = invoke("score", path, corpus)
    assert printed.exit_code == 0, printed.output
    token_level = float(model.pseudo_bits_per_character(TEXT))
    assert field(printed.stdout, "pseudo bits/char") == (f"{token_level:.6f} (pseudo-likelihood (not a likelihood), "
                                                         "token-level)")
    assert "upper bound" not in printed.stdout and "bits per character" not in printed.stdout
    report = json.loads(invoke("score", path, corpus, "--word-level", "--json").stdout)
    word_level = float(model.pseudo_bits_per_character(TEXT, word_level=True))
    assert word_level != token_level
    assert report["likelihood_kind"] == "pseudo" and report["bound"] is False and report["word_level"] is True
    assert report["pseudo_bits_per_char"] == pytest.approx(word_level, rel=1e-12)
    assert "bits_per_char" not in report


# -- sample ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("args", "keywords"), [
    (["--steps", "4"], {"steps": 4}),
    (["--steps", "3", "--temperature", "0.7", "--top-k", "5", "--choice-temperature", "0.5"],
     {"steps": 3, "temperature": 0.7, "top_k": 5, "choice_temperature": 0.5}),
    (["--method", "ancestral", "--steps", "5", "--top-p", "0.9"], {"method": "ancestral", "steps": 5, "top_p": 0.9}),
    (["--method", "gibbs", "--sweeps", "2", "--min-p", "0.05"], {"method": "gibbs", "sweeps": 2, "min_p": 0.05}),
])
def test_sample_within_one_block_is_the_models_sample(diffusion, args, keywords):
    path, _ = diffusion
    model = genlab.load(path)
    result = invoke("sample", path, "-n", "12", "--seed", "3", *args)
    assert result.exit_code == 0, result.output
    assert result.stdout == model.sample(1, length=12, random_state=3, **keywords)[0] + "\n"


def test_sample_num_samples_one_per_line(diffusion):
    path, _ = diffusion
    model = genlab.load(path)
    result = invoke("sample", path, "-n", "16", "--steps", "4", "--num-samples", "3", "--seed", "5")
    assert result.exit_code == 0, result.output
    expected = [escape_line(text) for text in model.sample(3, length=16, steps=4, random_state=5)]
    assert result.stdout.splitlines() == expected
    # a newline inside a sample is escaped: still one line per sample
    result = invoke("sample", path, "--prompt", "To be,\nor", "-n", "4", "--num-samples", "2", "--seed", "5")
    lines = result.stdout.splitlines()
    escaped = "To be,\\nor"
    assert len(lines) == 2 and all(line.startswith(escaped) and len(line) == len(escaped) + 4 for line in lines)


@pytest.fixture
def windows(monkeypatch: pytest.MonkeyPatch) -> list[tuple[np.ndarray, np.ndarray]]:
    """Every (window, decoded window) the masked model's decoder sees during the test."""
    seen: list[tuple[np.ndarray, np.ndarray]] = []
    decode = genlab.MaskedLanguageModel._decode_ids

    def spy(self, ids, *args, **kwargs):
        filled = decode(self, ids, *args, **kwargs)
        seen.append((np.array(ids), np.array(filled)))
        return filled

    monkeypatch.setattr(genlab.MaskedLanguageModel, "_decode_ids", spy)
    return seen


def test_sample_longer_than_a_block_goes_window_after_window(diffusion, windows):
    """-n 40 with block 16: 40 characters; the first window is the model's sample of 16 masked positions, each
    later window shows the last 8 characters drawn (unmasked, never changed) and decodes the 8 after them."""
    path, _ = diffusion
    model = genlab.load(path)
    _, mask, _ = model._ids
    result = invoke("sample", path, "-n", "40", "--steps", "3", "--seed", "0")
    assert result.exit_code == 0, result.output
    text = result.stdout[:-1]
    assert len(text) == 40  # character tokens: -n counts characters
    ids = np.asarray(model.tokenizer_.encode(text))
    assert len(windows) == 4  # 16 + 8 + 8 + 8
    first, filled = windows[0]
    assert np.array_equal(first, np.full((1, 16), mask)) and np.array_equal(filled[0], ids[:16])
    for (window, filled), start in zip(windows[1:], (16, 24, 32), strict=True):
        assert np.array_equal(window[0], np.r_[ids[start - 8 : start], np.full(8, mask)]), start
        assert np.array_equal(filled[0], ids[start - 8 : start + 8]), start
    assert text[:16] == model.sample(1, length=16, steps=3, random_state=0)[0]  # the first window is sample()'s


def test_sample_reproducible_for_a_seed(diffusion, folder):
    path, _ = diffusion
    args = ["-n", "40", "--steps", "3", "--seed"]
    first, again, other = (invoke("sample", path, *args, seed).stdout for seed in ("1", "1", "2"))
    assert first == again != other and len(first) == 41
    out = folder / "drawn.txt"
    result = invoke("sample", path, *args, "1", "--out", out)
    assert result.stdout == f"wrote 40 tokens to {out}\n" and out.read_text() == first


def test_sample_continues_a_prompt(diffusion, windows):
    path, _ = diffusion
    model = genlab.load(path)
    _, mask, _ = model._ids
    prompt = "To be, or not"
    result = invoke("sample", path, "--prompt", prompt, "-n", "8", "--seed", "0")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(prompt) and len(result.stdout) == len(prompt) + 8 + 1
    # one window: the prompt's last block_size // 2 = 8 characters, then 8 new ones
    (window, filled), = windows
    ids = np.asarray(model.tokenizer_.encode(result.stdout[:-1]))
    assert np.array_equal(window[0], np.r_[ids[len(prompt) - 8 : len(prompt)], np.full(8, mask)])
    assert np.array_equal(filled[0], ids[len(prompt) - 8 :])


# -- fill -----------------------------------------------------------------------------------------------------------
def test_fill_prints_the_filled_text(diffusion, folder):
    path, _ = diffusion
    model = genlab.load(path)
    text = "To be, or ____ to be"
    result = invoke("fill", path, "--text", text, "--seed", "0")
    assert result.exit_code == 0, result.output
    filled = result.stdout[:-1]
    assert filled == model.fill(text, random_state=0)
    assert filled.startswith("To be, or ") and filled.endswith(" to be") and len(filled) == len(text)
    # --gap-length A-B: each gap's length drawn from A .. B; options reach the model
    result = invoke("fill", path, "--text", text, "--gap-length", "2-6", "--method", "gibbs", "--sweeps", "2",
                    "--temperature", "0.8", "--top-k", "4", "--steps", "2", "--seed", "1")
    assert result.exit_code == 0, result.output
    assert result.stdout[:-1] == model.fill(text, gap_length=range(2, 7), method="gibbs", sweeps=2, temperature=0.8,
                                            top_k=4, steps=2, random_state=1)
    result = invoke("fill", path, "--text", text, "--gap-length", "7", "--seed", "1")
    assert len(result.stdout[:-1]) == len(text) - 4 + 7
    # --file: the same text read from a file (its last newline printed once); --out writes it
    source = folder / "gapped.txt"
    source.write_text("Whether 'tis ______ in\n____ suffer\n", encoding="utf-8")  # gaps within a block
    result = invoke("fill", path, "--file", source, "--seed", "2")
    assert result.exit_code == 0, result.output
    assert result.stdout == model.fill(source.read_text(encoding="utf-8"), random_state=2)
    out = folder / "filled.txt"
    assert invoke("fill", path, "--file", source, "--seed", "2", "--out", out).stdout == \
        f"wrote the filled text to {out}\n"
    assert out.read_text(encoding="utf-8") == result.stdout


# -- info -----------------------------------------------------------------------------------------------------------
def test_info_shows_objective_sizes_tokenizer_and_training(diffusion, bert):
    for path, objective in ((diffusion[0], "diffusion"), (bert[0], "bert")):
        model = genlab.load(path)
        result = invoke("info", path)
        assert result.exit_code == 0, result.output
        assert field(result.stdout, "class") == "MaskedLanguageModel"
        assert field(result.stdout, "objective").startswith(objective)
        assert ("upper bound" in field(result.stdout, "objective")) == (objective == "diffusion")
        assert field(result.stdout, "genlab score") == (
            "bits per character, an upper bound (the diffusion bound)" if objective == "diffusion"
            else "pseudo bits per character (a pseudo-likelihood, not a likelihood)")
        assert field(result.stdout, "network") == (f"1 layer x 2 heads x 8, block 16 tokens, rotary positions, "
                                                   f"{model.n_parameters_:,} parameters")
        assert field(result.stdout, "tokenizer") == f"char ({model.config_['vocab_size']} tokens)"
        assert field(result.stdout, "training").startswith("3 steps in ")


# -- --steps keeps its meaning for other models ----------------------------------------------------------------------
def test_steps_is_n_for_other_models(tmp_path):
    gmm = genlab.GaussianMixture(n_components=1, random_state=0).fit(np.random.default_rng(0).normal(size=(20, 2)))
    path = tmp_path / "gmm.genlab"
    gmm.save(path)
    by_steps = invoke("sample", path, "--steps", "3", "--seed", "0")
    assert by_steps.exit_code == 0 and by_steps.stdout == invoke("sample", path, "-n", "3", "--seed", "0").stdout
    assert len(by_steps.stdout.splitlines()) == 4  # header + 3 rows
    assert_user_error(invoke("sample", path, "--steps", "3", "-n", "4"), "--steps 3 and -n 4 disagree")


# -- bad input: one error line, exit status 2 -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def other_models(folder: Path, corpus: Path) -> dict[str, Path]:
    markov = folder / "markov.genlab"
    genlab.MarkovChain(order=1, smoothing="add-k").fit(TEXT).save(markov)
    bad = folder / "bad.genlab"
    bad.write_bytes(b"not a model file at all")
    empty = folder / "empty.txt"
    empty.write_text("", encoding="utf-8")
    return {"markov": markov, "bad": bad, "empty": empty}


@pytest.mark.parametrize(("command", "fragments"), [
    # fill
    (["fill", "{diffusion}", "--text", "no gap here"], ["the text has no gap", "____"]),
    (["fill", "{diffusion}", "--text", "a ____ b", "--gap-length", "40"],
     ["gap 0 is 40 tokens long", "block size (16 tokens)"]),
    (["fill", "{diffusion}", "--text", "a ________________________ b"], ["24 tokens long", "block size (16 tokens)"]),
    (["fill", "{diffusion}", "--text", "a ____ b", "--method", "beam"], ["--method", "'beam'"]),
    (["fill", "{bad}", "--text", "a ____ b"], ["bad.genlab", "not a genlab model file"]),
    (["fill", "{markov}", "--text", "a ____ b"], ["genlab fill needs a masked language model", "MarkovChain"]),
    (["fill", "{diffusion}"], ["--text TEXT or --file PATH"]),
    (["fill", "{diffusion}", "--text", "a ____ b", "--file", "{corpus}"], ["--text TEXT or --file PATH"]),
    (["fill", "{diffusion}", "--file", "{empty}"], ["empty.txt", "is empty"]),
    (["fill", "{diffusion}", "--text", "a ____ b", "--gap-length", "8-3"], ["--gap-length", "'8-3'"]),
    (["fill", "{diffusion}", "--text", "a ____ b", "--gap-length", "x"], ["--gap-length", "'x'"]),
    (["fill", "{bert}", "--text", "a ____ b", "--method", "ancestral"], ["--objective bert"]),
    # sample
    (["sample", "{diffusion}", "-n", "0"], ["'-n'"]),
    (["sample", "{diffusion}", "-n", "5", "--method", "slow"], ["--method", "'slow'"]),
    (["sample", "{diffusion}", "-n", "5", "--method", "fast"], ["--method fast applies to audio models",
                                                                "MaskedLanguageModel"]),
    (["sample", "{diffusion}", "-n", "5", "--beams", "2"], ["--beams applies to left-to-right text models"]),
    (["sample", "{diffusion}", "-n", "5", "--sweeps", "2"], ["--sweeps applies to --method gibbs"]),
    (["sample", "{bert}", "-n", "5", "--method", "ancestral"], ["--objective bert"]),
    (["sample", "{markov}", "-n", "5", "--choice-temperature", "0.5"],
     ["--choice-temperature applies to masked language models", "MarkovChain"]),
    (["sample", "{markov}", "-n", "5", "--method", "maskgit"], ["--method", "apply to audio models"]),
    (["sample", "{bad}", "-n", "5"], ["not a genlab model file"]),
    # score
    (["score", "{markov}", "{corpus}", "--word-level"], ["--word-level applies to masked language models"]),
    (["score", "{bert}", "{corpus}", "--levels", "4"], ["--levels applies to the diffusion bound"]),
    # fit
    (["fit", "mlm", "{corpus}", "--objective", "gpt", "--out", "{folder}/x.genlab"], ["--objective", "'gpt'"]),
    (["fit", "mlm", "{empty}", "--out", "{folder}/x.genlab"], ["empty.txt", "is empty"]),
    (["fit", "mlm", "{corpus}", "--block-size", "1", "--out", "{folder}/x.genlab"], ["--block-size"]),
])
def test_bad_input_is_one_error_line(command, fragments, diffusion, bert, other_models, corpus, folder):
    names = {"diffusion": diffusion[0], "bert": bert[0], "corpus": corpus, "folder": folder, **other_models}
    result = invoke(*[part.format(**names) for part in command])
    assert_user_error(result, *fragments)
    assert not (folder / "x.genlab").exists()


def test_a_training_text_shorter_than_a_block(folder):
    short = folder / "short.txt"
    short.write_text("To be.", encoding="utf-8")
    out = folder / "short.genlab"
    assert_user_error(invoke("fit", "mlm", short, *TINY, "--val-fraction", "0", "--out", out),
                      "short.txt", "shorter than one training window of block_size = 16 tokens")
    assert not out.exists()


def test_fit_resumes_from_its_checkpoint(folder, corpus):
    """--resume continues the checkpoint fit mlm wrote (OUT.ckpt) and ends with the weights of an uninterrupted
    fit of as many steps."""
    options = [*TINY[:-3], "--no-progress", "--seed", "0", "--val-fraction", "0"]  # TINY without --max-steps 3
    straight, part = folder / "straight.genlab", folder / "part.genlab"
    assert invoke("fit", "mlm", corpus, *options, "--max-steps", "4", "--out", straight).exit_code == 0
    assert invoke("fit", "mlm", corpus, *options, "--max-steps", "2", "--out", part).exit_code == 0
    assert (folder / "part.genlab.ckpt").exists()
    result = invoke("fit", "mlm", corpus, *options, "--max-steps", "4", "--resume", "--out", part)
    assert result.exit_code == 0, result.output
    assert "resumed from step 2" in field(result.stdout, "training")
    resumed, uninterrupted = genlab.load(part), genlab.load(straight)
    assert resumed.training_["steps"] == 4
    for name, value in uninterrupted.module_.state_dict().items():
        assert np.array_equal(value.numpy(), resumed.module_.state_dict()[name].numpy()), name


def test_sample_byte_tokens_across_windows_decodes_once(folder):
    """Byte tokens: -n counts bytes, and the text is decoded from all of them at once (a character cut by a window
    boundary is not broken)."""
    corpus = folder / "accents.txt"
    corpus.write_text("Café crème, déjà vu; naïve façade. " * 20, encoding="utf-8")
    out = folder / "bytes.genlab"
    result = invoke("fit", "mlm", corpus, *TINY, "--tokenizer", "byte", "--out", out)
    assert result.exit_code == 0, result.output
    model = genlab.load(out)
    result = invoke("sample", out, "-n", "40", "--seed", "4", "--num-samples", "2")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    from genlab.cli.masked import draw_tokens
    from genlab.decoding.options import DecodingOptions

    drawn = draw_tokens(model, 40, 2, prompt_ids=np.zeros(0, dtype=np.int64), steps=None, method="maskgit", sweeps=1,
                        choice_temperature=1.0, options=DecodingOptions(), rng=np.random.default_rng(4))
    assert drawn.shape == (2, 40)
    expected = [model.tokenizer_.decode(row.tolist()) for row in drawn]
    assert lines == [escape_line(text) for text in expected]

"""genlab.WaveNet: causality, fast = naive generation, overfitting one clip, training chunks, persistence, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import genlab  # noqa: E402
from genlab.audio import mu_law_decode, mu_law_encode, silence_code  # noqa: E402
from genlab.audio.wavenet_module import WaveNetConfig, WaveNetModule  # noqa: E402
from genlab.errors import DataError, ParameterError  # noqa: E402

RATE = 8000


def _tones(n: int = 6, length: int = 300, seed: int = 0) -> tuple[list[np.ndarray], list[str]]:
    rng = np.random.default_rng(seed)
    t = np.arange(length) / RATE
    waves, labels = [], []
    for i in range(n):
        freq = 400.0 if i % 2 == 0 else 1200.0
        waves.append((0.6 * np.sin(2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi))).astype(np.float32))
        labels.append("low" if i % 2 == 0 else "high")
    return waves, labels


def _tiny(**kwargs) -> genlab.WaveNet:
    settings = dict(n_layers=3, n_cycles=2, residual_channels=8, dilation_channels=8, skip_channels=16, n_codes=64,
                    sample_rate=RATE, chunk_length=64, random_state=0, device="cpu", max_steps=4, batch_size=4,
                    warmup_steps=1)
    settings.update(kwargs)
    return genlab.WaveNet(**settings)


@pytest.mark.parametrize("kernel_size", [2, 3])
def test_each_output_depends_exactly_on_its_receptive_field_of_past_inputs(kernel_size):
    torch.manual_seed(0)
    config = WaveNetConfig(n_codes=16, n_layers=3, n_cycles=2, kernel_size=kernel_size, residual_channels=6,
                           dilation_channels=5, skip_channels=7, n_labels=2)
    module = WaveNetModule(config).double()
    R = module.receptive_field
    n = 12
    codes = torch.randint(0, 16, (1, R - 1 + n))
    captured = {}

    def keep(_module, _inputs, output):
        output.retain_grad()
        captured["embedded"] = output

    module.embedding.register_forward_hook(keep)
    logits = module.logits(codes, torch.tensor([1]), torch.tensor([-1]))  # (1, 16, n)
    assert logits.shape == (1, 16, n)
    for i in range(n):
        module.zero_grad()
        captured.clear()
        logits = module.logits(codes, torch.tensor([1]), torch.tensor([-1]))
        logits[0, :, i].sum().backward()
        grad = captured["embedded"].grad[0].abs().sum(dim=1)  # (R - 1 + n,): per input position
        # output i reads input positions i .. i + R - 1 (the last one holds the code just before its target)
        assert torch.all(grad[i + R :] == 0), "an output must not depend on its own target or later inputs"
        assert torch.all(grad[:i] == 0), "an output sees only its receptive field"
        assert grad[i + R - 1] > 0 and grad[i] > 0


def test_fast_generation_draws_exactly_the_codes_of_naive_generation():
    waves, labels = _tones()
    for kernel_size in (2, 3):
        model = _tiny(kernel_size=kernel_size).fit(waves, labels, speakers=["a", "b", "a", "b", "a", "b"])
        for temperature in (1.0, 0.7, 0.0):
            fast = model.sample_codes(200, label=["low", "high", "high"], speaker="b", random_state=5,
                                      temperature=temperature)
            naive = model.sample_codes(200, label=["low", "high", "high"], speaker="b", random_state=5,
                                       temperature=temperature, method="naive")
            assert fast.shape == (3, 200)
            np.testing.assert_array_equal(fast, naive)
        # one clip: a 1-D result, and a third unconditioned generation agrees too
        one = model.sample_codes(150, random_state=1)
        assert one.shape == (150,)
        np.testing.assert_array_equal(one, model.sample_codes(150, random_state=1, method="naive"))


def test_fast_equals_naive_with_local_mel_conditioning():
    pytest.importorskip("scipy")
    waves, labels = _tones()
    model = _tiny(mel_channels=8, hop_length=40).fit(waves, labels)
    from genlab.audio import mel_spectrogram

    mel = mel_spectrogram(waves[0], RATE, n_mels=8, hop_length=40)
    fast = model.sample_codes(160, label="low", mel=mel, random_state=2)
    naive = model.sample_codes(160, label="low", mel=mel, random_state=2, method="naive")
    np.testing.assert_array_equal(fast, naive)
    with pytest.raises(ParameterError, match="log-mel"):
        model.sample(100, label="low")
    assert np.isfinite(model.log_prob(waves[:2], labels[:2])).all()


def test_a_tiny_wavenet_overfits_one_clip_and_greedy_generation_replays_it():
    period = 16
    # a cosine: its first code is not the silence code, which the padding before the clip already holds
    clip = np.tile(0.5 * np.cos(2 * np.pi * np.arange(period) / period), 25).astype(np.float32)  # 400 samples
    model = _tiny(n_layers=5, n_cycles=1, residual_channels=16, dilation_channels=16, skip_channels=32,
                  chunk_length=400, max_steps=250, learning_rate=1e-2, warmup_steps=10, label_dropout=0.0)
    model.fit([clip])
    bits = model.bits_per_sample([clip])
    assert bits < 0.2, bits  # from log2(64) = 6 bits per sample for a uniform model
    replay = model.sample_codes(400, temperature=0.0, random_state=0)
    np.testing.assert_array_equal(replay, mu_law_encode(clip, 64))


def test_the_label_conditions_the_model():
    waves, labels = _tones(n=8, length=400)
    model = _tiny(max_steps=120, learning_rate=1e-2, chunk_length=200, n_layers=4).fit(waves, labels)
    right = model.log_prob(waves, labels)
    wrong = model.log_prob(waves, ["high" if lab == "low" else "low" for lab in labels])
    assert np.all(right > wrong)
    assert model.classes_ == ["high", "low"]


def test_score_log_prob_and_bits_agree_and_long_recordings_are_scored_in_exact_windows(monkeypatch):
    waves, labels = _tones(n=2, length=500)
    model = _tiny().fit(waves, labels)
    whole = model.log_prob(waves, labels)
    import genlab.audio.wavenet as wavenet

    monkeypatch.setattr(wavenet, "_SCORE_WINDOW", 37)  # many windows, each with the full receptive field
    np.testing.assert_allclose(model.log_prob(waves, labels), whole, rtol=1e-8)  # float32 network, other windows
    assert model.n_units(waves) == 1000
    assert model.score(waves, labels) == pytest.approx(whole.sum() / 1000)
    assert model.bits_per_sample(waves, labels) == pytest.approx(-whole.sum() / 1000 / math.log(2))


def test_training_chunks_read_the_code_before_each_target_and_silence_before_the_recording():
    waves, labels = _tones(n=3, length=50)
    model = _tiny(chunk_length=64)
    prepared = model._prepare(waves, (labels, None), None, seed=3, batch_size=4)
    source = prepared.train
    R = prepared.config.receptive_field
    x, y = source.batch(0, 0)
    x2, y2 = source.batch(0, 0)
    assert torch.equal(x, x2) and torch.equal(y, y2)  # a pure function of (step, micro_step)
    assert x.shape == (4, 1, R - 1 + 64) and y.shape == (4, 2 + 64)
    codes = [mu_law_encode(w, 64) for w in waves]
    silence = silence_code(64)
    for row in range(4):
        targets = y[row, 2:].numpy()
        scored = np.flatnonzero(targets >= 0)
        assert scored.size == 50  # recordings shorter than the chunk are scored whole
        recording = next(c for c in codes if np.array_equal(targets[scored], c))
        inputs = x[row, 0].numpy().astype(np.int64)
        # the input under target i is the code before it (position R - 1 + i), silence before the recording
        for i in range(64):
            before = inputs[R - 1 + i]
            if i in scored:
                k = i - scored[0]
                assert before == (silence if k == 0 else recording[k - 1])
        assert np.all(inputs[: R - 1 + scored[0]] == silence)


def test_save_load_keeps_scores_and_samples(tmp_path):
    waves, labels = _tones()
    model = _tiny().fit(waves, labels)
    path = tmp_path / "wn.genlab"
    model.save(path)
    loaded = genlab.load(path)
    np.testing.assert_array_equal(loaded.log_prob(waves, labels), model.log_prob(waves, labels))
    np.testing.assert_array_equal(loaded.sample(120, label="high", random_state=4),
                                  model.sample(120, label="high", random_state=4))
    assert loaded.receptive_field_ == model.receptive_field_ == model.receptive_field
    assert loaded.classes_ == ["high", "low"] and loaded.sample_rate_ == RATE


def test_generate_to_file_streams_the_sample_into_a_wav(tmp_path):
    soundfile = pytest.importorskip("soundfile")
    waves, labels = _tones()
    model = _tiny().fit(waves, labels)
    path = tmp_path / "out.wav"
    model.generate_to_file(path, 130, label="low", random_state=9, block=50)
    data, rate = soundfile.read(path, dtype="float32")
    assert rate == RATE and data.shape == (130,)
    expected = model.sample(130, label="low", random_state=9)
    np.testing.assert_allclose(data, expected, atol=1.0 / 32768)  # 16-bit PCM
    assert [p.name for p in tmp_path.iterdir()] == ["out.wav"]  # no temporary left behind
    assert np.abs(mu_law_decode(mu_law_encode(data, 64), 64) - expected).max() < 0.05


def test_bad_input_is_named():
    waves, labels = _tones()
    model = _tiny().fit(waves, labels)
    with pytest.raises(DataError, match=r"the label 'middle' was not seen in training; known labels: high, low"):
        model.sample(10, label="middle")
    with pytest.raises(DataError, match="int16"):
        model.log_prob([np.zeros(10, dtype=np.int16)])
    with pytest.raises(DataError, match="in \\[-1, 1\\]"):
        model.log_prob([np.full(10, 3.0, dtype=np.float32)])
    with pytest.raises(ParameterError, match="method"):
        model.sample(10, method="slow")
    with pytest.raises(ParameterError, match="temperature"):
        model.sample(10, temperature=-1.0)
    with pytest.raises(ParameterError, match="mel is only"):
        model.sample(10, mel=np.zeros((4, 2)))
    with pytest.raises(ParameterError, match="n_layers"):
        _tiny(n_layers=0).fit(waves)
    with pytest.raises(DataError, match="without speakers"):
        model.log_prob(waves[:1], speakers=["a"])


def test_a_sound_file_at_another_rate_is_refused_naming_it(tmp_path):
    soundfile = pytest.importorskip("soundfile")
    waves, labels = _tones()
    model = _tiny().fit(waves, labels)
    path = tmp_path / "fast.wav"
    soundfile.write(path, waves[0], 16000)
    with pytest.raises(DataError, match=r"fast\.wav"):
        model.log_prob([path])
    bad = tmp_path / "text.wav"
    bad.write_text("not audio")
    with pytest.raises(DataError, match=r"text\.wav"):
        model.log_prob([bad])


def test_python_values_a_user_may_pass():
    waves, labels = _tones()
    digits = _tiny(n_layers=np.int64(3), max_steps=np.int64(2)).fit(waves, ["7" if lab == "low" else "8"
                                                                            for lab in labels])
    assert digits.config_["n_layers"] == 3 and type(digits.config_["n_layers"]) is int
    # a number names the class of the same text: 7, 7.0 and "7" are one label
    np.testing.assert_array_equal(digits.sample_codes(30, label=7, random_state=0),
                                  digits.sample_codes(30, label=7.0, random_state=0))
    np.testing.assert_array_equal(digits.sample_codes(30, label=7, random_state=0),
                                  digits.sample_codes(30, label="7", random_state=0))
    with pytest.raises(DataError, match=r"the label '7\.5' was not seen"):
        digits.sample(10, label=7.5)
    with pytest.raises(ParameterError, match="one label or a list with one per clip; got a dict"):
        digits.sample(10, label={"7": 1})
    with pytest.raises(ParameterError, match="generate_to_file writes one clip"):
        digits.generate_to_file("two.wav", 10, label=["7", "8"])
    with pytest.raises(ParameterError, match="extension"):
        digits.generate_to_file("noextension", 10, label="7")
    with pytest.raises(ParameterError, match="more than this call holds in memory"):
        digits.sample(10**6, n_clips=2000)
    # score takes labels and speakers positionally, as log_prob and bits_per_sample do
    assert digits.score(waves[:2], ["7", "8"]) == pytest.approx(float(np.sum(digits.log_prob(waves[:2], ["7", "8"])))
                                                                / 600)
    # a validation share that would take every recording keeps one for training
    held = _tiny(validation_fraction=0.9, max_steps=2).fit(waves[:3])
    assert held.training_["steps"] == 2


def test_samples_beyond_full_scale_are_clipped_with_a_notice_and_a_misscaled_recording_is_refused():
    from genlab.errors import AudioNotice

    waves, labels = _tones(n=2)
    model = _tiny().fit(waves, labels)
    loud = waves[0] * 2.0  # peak 1.2
    with pytest.warns(AudioNotice, match="beyond full scale .* clipped"):
        clipped = model.log_prob([loud])
    np.testing.assert_array_equal(clipped, model.log_prob([np.clip(loud, -1.0, 1.0)]))
    with pytest.raises(DataError, match=r"X\[0\] has samples up to 2\d\d in magnitude"):
        model.log_prob([waves[0] / 0.6 * 300])

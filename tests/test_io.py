"""Model files: exact round trip, integrity checks, no code execution, atomic writes."""

from __future__ import annotations

import json
import os
import struct
import warnings

import numpy as np
import pytest

import genlab
from genlab.errors import ModelFileError, NotFittedError
from genlab.io import read_header
from helpers import three_blobs
from model_file_tools import all_case_names, build, is_neural, raw_file, read_parts, rewrite, tiny_model


@pytest.fixture
def saved(tmp_path):
    model = genlab.GaussianMixture(n_components=2, random_state=0).fit(three_blobs(n_per=30))
    path = tmp_path / "model.genlab"
    model.save(path)
    return model, path


def rewrite_metadata(path, edit):
    """Rewrite a file's safetensors header through ``edit(header_dict)`` keeping the tensors' bytes."""
    payload = path.read_bytes()
    (size,) = struct.unpack("<Q", payload[:8])
    header = json.loads(payload[8 : 8 + size])
    edit(header)
    encoded = json.dumps(header).encode()
    encoded += b" " * (-len(encoded) % 8)
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + payload[8 + size :])


def test_header_describes_the_model(saved):
    _, path = saved
    header = read_header(path)
    assert header["class"] == "GaussianMixture"
    assert header["genlab_version"] == genlab.__version__
    assert header["params"]["n_components"] == 2
    assert header["format_version"] == 1


def test_modified_header_is_refused(saved):
    _, path = saved

    def more_components(header):
        inner = json.loads(header["__metadata__"]["header"])
        inner["params"]["n_components"] = 3
        header["__metadata__"]["header"] = json.dumps(inner, sort_keys=True)

    rewrite_metadata(path, more_components)
    with pytest.raises(ModelFileError, match="altered or corrupted"):
        genlab.load(path)


def test_modified_array_bytes_are_refused(saved):
    _, path = saved
    payload = bytearray(path.read_bytes())
    payload[-3] ^= 0xFF
    path.write_bytes(bytes(payload))
    with pytest.raises(ModelFileError, match="altered or corrupted"):
        genlab.load(path)


def test_truncated_file_is_refused(saved):
    _, path = saved
    payload = path.read_bytes()
    for cut in (len(payload) // 2, 20, 4, 0):
        path.write_bytes(payload[:cut])
        with pytest.raises(ModelFileError):
            genlab.load(path)


def test_not_a_model_file(tmp_path):
    random_bytes = tmp_path / "random.genlab"
    random_bytes.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(ModelFileError, match="not a genlab model file"):
        genlab.load(random_bytes)
    text = tmp_path / "data.csv"
    text.write_text("1,2,3\n4,5,6\n")
    with pytest.raises(ModelFileError, match="not a genlab model file"):
        genlab.load(text)
    with pytest.raises(ModelFileError, match="no model file"):
        genlab.load(tmp_path / "missing.genlab")
    with pytest.raises(ModelFileError, match="cannot read"):
        genlab.load(tmp_path)


def test_foreign_safetensors_file_is_refused(tmp_path):
    from safetensors.numpy import save_file

    path = tmp_path / "weights.safetensors"
    save_file({"w": np.zeros(3)}, str(path), metadata={"format": "pt"})
    with pytest.raises(ModelFileError, match="another program"):
        genlab.load(path)


def test_unknown_class_is_refused_even_with_a_valid_checksum(saved):
    """A file naming a class outside genlab's registry cannot make load() import or call it."""
    from genlab.io import _digest

    _, path = saved

    def hostile(header):
        inner = json.loads(header["__metadata__"]["header"])
        inner["class"] = "os.system"
        inner_json = json.dumps(inner, sort_keys=True)
        header["__metadata__"]["header"] = inner_json
        from safetensors.numpy import load_file

        header["__metadata__"]["sha256"] = _digest(inner_json, load_file(str(path)))

    rewrite_metadata(path, hostile)
    with pytest.raises(ModelFileError, match="not a genlab model"):
        genlab.load(path)


def test_newer_format_version_is_refused(saved):
    _, path = saved
    rewrite_metadata(path, lambda h: h["__metadata__"].update(format_version="99"))
    with pytest.raises(ModelFileError, match="upgrade genlab"):
        genlab.load(path)


def test_failed_write_keeps_the_previous_file(saved, monkeypatch):
    _, path = saved
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", crash)
    refitted = genlab.GaussianMixture(n_components=3, random_state=0).fit(three_blobs(n_per=30))
    with pytest.raises(KeyboardInterrupt):
        refitted.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["model.genlab"]  # no temporary file left behind


def test_unfitted_model_cannot_be_saved(tmp_path):
    with pytest.raises(NotFittedError):
        genlab.GaussianMixture().save(tmp_path / "m.genlab")


def test_save_into_missing_folder(tmp_path):
    model = genlab.GaussianMixture(n_components=1).fit(three_blobs(n_per=5))
    with pytest.raises(ModelFileError, match="does not exist"):
        model.save(tmp_path / "nope" / "m.genlab")


def test_generator_random_state_is_saved_as_none(tmp_path):
    model = genlab.GaussianMixture(n_components=1, random_state=np.random.default_rng(0)).fit(three_blobs(n_per=5))
    model.save(tmp_path / "m.genlab")
    assert genlab.load(tmp_path / "m.genlab").random_state is None


# -- hostile files: every failure a ModelFileError naming the field (issue 17) ---------------------------------------

@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        (raw_file([1]), "__metadata__"),  # issue 17: AttributeError before the checksum
        (raw_file({"format": "genlab", "format_version": None}), "format_version"),  # TypeError
        (raw_file({"format": "genlab", "format_version": "1", "header": 5, "sha256": "x"}), "header"),
        (raw_file({"format": "genlab", "format_version": "1e9"}), "format version"),
        (raw_file({"format": "genlab", "format_version": "1", "header": "{}", "sha256": 3}), "sha256"),
        (struct.pack("<Q", 40_000) + b"[" * 20_000 + b"]" * 20_000, "nested"),  # RecursionError
        (struct.pack("<Q", 6) + b"[1, 2]", "not an object"),
        (struct.pack("<Q", 4) + b"null", "not an object"),
    ],
    ids=["metadata-list", "version-null", "header-int", "version-text", "sha-int", "deep", "list", "null"],
)
def test_malformed_safetensors_headers_are_refused(tmp_path, payload, fragment):
    path = tmp_path / "hostile.genlab"
    path.write_bytes(payload)
    with pytest.raises(ModelFileError, match=fragment):
        genlab.load(path)
    with pytest.raises(ModelFileError, match=fragment):
        read_header(path)


def _resigned(saved, edit_header=None, edit_tensors=None):
    _, path = saved
    rewrite(path, edit_header, edit_tensors)
    return path


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (lambda h: h.update(params=[1]), "'params' field"),
        (lambda h: h.update({"class": 7}), "'class' field"),
        (lambda h: h.pop("fitted"), "no 'fitted' field"),
        (lambda h: h["params"].update(n_components="two"), "params/n_components"),
        (lambda h: h["params"].update(n_components=None), "params/n_components"),
        (lambda h: h["params"].update(n_components=0), "n_components"),
        (lambda h: h["params"].update(tol=-1.0), "tol"),
        (lambda h: h["params"].update(covariance_type=["full"]), "params/covariance_type"),
        (lambda h: h["params"].update(surprise=1), "params/surprise"),
        (lambda h: h["fitted"].update(means_="x"), "fitted/means_"),
        (lambda h: h["fitted"].update(means_={"__tensor__": 5}), "fitted/means_"),
        (lambda h: h["fitted"].update(means_={"__tuple__": 5}), "fitted/means_"),
        (lambda h: h["fitted"].update(means_={"__dict__": [1]}), "fitted/means_"),
        (lambda h: h["fitted"].update(means_={"__object__": "Gaussian", "fields": [1]}), "fitted/means_"),
        (lambda h: h["fitted"].update(means_={"__object__": "Gaussian", "fields": {"mean": "x"}}), "fitted/means_"),
        (lambda h: h["fitted"].update(means_={"odd": 1}), "fitted/means_"),
        (lambda h: h["fitted"].pop("weights_"), "fitted/weights_"),
        (lambda h: h["fitted"].update(n_iter_="many"), "fitted/n_iter_"),
    ],
)
def test_malformed_values_that_pass_the_checksum_are_refused(saved, edit, fragment):
    """Files re-signed with a valid sha256, so the checks past the checksum are what refuses them (issue 17)."""
    path = _resigned(saved, edit)
    with pytest.raises(ModelFileError, match=fragment):
        genlab.load(path)


@pytest.mark.parametrize("depth", [70, 5000, 100_000])
def test_deeply_nested_model_header_is_refused(saved, depth):
    """Issue 17: JSON nested 10,000 deep raised RecursionError; any depth past the bound is a ModelFileError."""
    _, path = saved
    metadata, header, tensors = read_parts(path.read_bytes())
    nested = "[" * depth + "]" * depth
    text = json.dumps(header, sort_keys=True).replace('"fitted": {', f'"fitted": {{"x_": {nested}, ')
    path.write_bytes(build(metadata, None, tensors, header_json=text))
    with pytest.raises(ModelFileError, match="nested more than"):
        genlab.load(path)


def test_huge_integer_in_the_header_is_refused(saved):
    _, path = saved
    metadata, header, tensors = read_parts(path.read_bytes())
    text = json.dumps(header, sort_keys=True).replace('"max_iter": 100', '"max_iter": ' + "9" * 5000)
    assert "9" * 5000 in text
    path.write_bytes(build(metadata, None, tensors, header_json=text))
    with pytest.raises(ModelFileError, match="not valid JSON"):
        genlab.load(path)


def test_gmm_means_of_the_wrong_shape_are_refused_at_load(saved):
    """Issue 17: a GMM whose means_ has the wrong shape loaded and failed later; now load names means_."""
    def wrong_shape(tensors):
        tensors["fitted/means_"] = np.zeros((3, 2))  # n_components=2

    path = _resigned(saved, edit_tensors=wrong_shape)
    with pytest.raises(ModelFileError, match=r"fitted/means_ has shape \(3, 2\); expected \(K=2, D=2\)"):
        genlab.load(path)


def test_gmm_covariances_must_agree_with_the_means(saved):
    def other_width(tensors):
        tensors["fitted/covariances_"] = np.stack([np.eye(3)] * 2)  # full, D=3 where the means say 2

    path = _resigned(saved, edit_tensors=other_width)
    with pytest.raises(ModelFileError, match="fitted/covariances_"):
        genlab.load(path)


def test_integer_array_where_floats_belong_is_refused(saved):
    path = _resigned(saved, edit_tensors=lambda t: t.update({"fitted/weights_": np.array([1, 1])}))
    with pytest.raises(ModelFileError, match="fitted/weights_ has dtype int64"):
        genlab.load(path)


def _registry() -> dict[str, type]:
    import genlab.images
    from genlab.base import registered_models

    for name in genlab.images.MODEL_MODULES:
        try:
            getattr(genlab, name)  # the torch-based classes register on import
        except ImportError:  # pragma: no cover - without torch
            pass
    return registered_models()


#: For each registered class with a contract factory, a fitted array whose shape the class's rule fixes ("<network>":
#: the first weight tensor of a neural model, whose network is checked against its weights). A class missing here
#: (a new one) is still tested: some fitted array of its file must be refused when broken.
BREAK = {
    "GaussianMixture": "means_", "BayesianGaussianMixture": "means_", "NaiveBayes": "theta_",
    "GenerativeClassifier": "class_prior_", "ClutterModel": "grid_log_weights_", "GaussianHMM": "means_",
    "GMMHMM": "weights_", "HiddenMarkovModel": "transmat_", "VariationalGaussianHMM": "means_posterior_",
    "CategoricalHMM": "emissionprob_", "VariationalCategoricalHMM": "emissionprob_posterior_",
    "PoissonHMM": "lambdas_", "MultinomialHMM": "emissionprob_", "HiddenSemiMarkovModel": "covars_",
    "LinearAutoRegressive": "coef_", "MarkovChain": "log10_probs_.1", "LDA": "components_",
    "LabeledLDA": "components_", "BayesianNetwork": "cpts_.wet",
    "LanguageModel": "<network>", "VAE": "<network>", "ConditionalVAE": "<network>", "Autoencoder": "<network>",
    "PixelCNN": "<network>", "ConditionalPixelCNN": "<network>",
}


def test_every_registered_class_has_a_model_file_rule():
    import genlab._model_rules  # noqa: F401 - importing registers the rules
    from genlab._model_schema import RULES

    missing = set(_registry()) - set(RULES)
    assert not missing, f"registered classes without a model-file rule: {sorted(missing)}"


def _broken(array: np.ndarray) -> np.ndarray:
    """One row more, or (for an empty array) one axis more."""
    return np.concatenate([array, array[:1]]) if array.ndim and array.size else array[None]


def _fitted_file(tmp_path, name):
    if is_neural(name):
        pytest.importorskip("torch")
    model = tiny_model(name)
    path = tmp_path / "m.genlab"
    model.save(path)
    assert type(genlab.load(path)) is type(model)  # the untouched file loads
    return path, read_parts(path.read_bytes())[2]


@pytest.mark.parametrize("name", all_case_names())
def test_one_wrong_shape_per_class_is_refused(tmp_path, name):
    """Every registered class: a saved tiny model loads; the same file with one array one row longer (re-signed) is
    refused with a ModelFileError naming that array."""
    path, tensors = _fitted_file(tmp_path, name)
    original = path.read_bytes()
    if name in BREAK:
        key = f"fitted/{BREAK[name]}"
        if BREAK[name] == "<network>":
            key = next(k for k in sorted(tensors) if k.startswith("fitted/weights_.") and tensors[k].ndim >= 1)
        candidates = [key]
    else:
        candidates = sorted(k for k in tensors if k.startswith("fitted/"))
    refused = []
    for key in candidates:
        path.write_bytes(original)
        rewrite(path, edit_tensors=lambda t, key=key: t.update({key: _broken(t[key])}))
        try:
            genlab.load(path)
        except ModelFileError as exc:
            if key in str(exc):
                refused.append(key)
    assert refused, f"no broken array of {name} was refused naming it (tried {candidates})"
# -- the keyed checksum (GENLAB_MODEL_KEY) ----------------------------------------------------------------------------
def test_keyed_checksum_round_trip_and_refusals(tmp_path, monkeypatch):
    from genlab.io import KEY_VARIABLE

    model = genlab.GaussianMixture(n_components=2, random_state=0).fit(three_blobs(n_per=20))
    plain = tmp_path / "plain.genlab"
    model.save(plain)  # no key: no keyed checksum, loads as before
    assert "hmac_sha256" not in read_parts(plain.read_bytes())[0]

    monkeypatch.setenv(KEY_VARIABLE, "my secret")
    signed = tmp_path / "signed.genlab"
    model.save(signed)
    assert len(read_parts(signed.read_bytes())[0]["hmac_sha256"]) == 64
    np.testing.assert_array_equal(genlab.load(signed).means_, model.means_)
    with pytest.raises(ModelFileError, match=f"no keyed checksum, and {KEY_VARIABLE} is set"):
        genlab.load(plain)

    # someone without the key edits the file and recomputes the plain sha256: refused with the key set
    monkeypatch.delenv(KEY_VARIABLE)
    rewrite(signed, lambda h: h["params"].update(max_iter=7))
    assert genlab.load(signed).max_iter == 7  # without the key only the plain digest can be checked
    monkeypatch.setenv(KEY_VARIABLE, "my secret")
    with pytest.raises(ModelFileError, match="not saved with the key"):
        genlab.load(signed)
    model.save(signed)
    monkeypatch.setenv(KEY_VARIABLE, "another secret")
    with pytest.raises(ModelFileError, match="not saved with the key"):
        genlab.load(signed)
    monkeypatch.delenv(KEY_VARIABLE)
    assert genlab.load(plain).n_components == 2


# -- no NaN model is ever written ---------------------------------------------------------------------------------
def test_model_with_nan_parameters_is_not_saved(saved):
    model, path = saved
    before = path.read_bytes()
    model.means_ = model.means_.copy()
    model.means_[1, 0] = np.nan
    with pytest.raises(ModelFileError, match=r"fitted/means_.*NaN"):
        model.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["model.genlab"]


@pytest.mark.parametrize("name", all_case_names())
def test_no_registered_class_stores_nan_in_a_fitted_array(name):
    """The save-side NaN refusal must not refuse a healthy model of any class (HMMs accept NaN in data, not in
    their parameters)."""
    if is_neural(name):
        pytest.importorskip("torch")
    from genlab.io import _Encoder

    state = tiny_model(name)._get_state()
    encoder = _Encoder()
    for key, value in state["fitted"].items():
        encoder.encode(value, f"fitted/{key}")  # raises on a NaN array
    assert all(not (a.dtype.kind == "f" and np.isnan(a).any()) for a in encoder.tensors.values())


def test_gaussian_hmm_fitted_on_data_with_nan_saves_and_loads(tmp_path):
    X = np.random.default_rng(0).normal(size=(60, 2))
    X[5, 1] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", genlab.errors.ConvergenceWarning)  # five iterations are enough here
        model = genlab.GaussianHMM(n_states=2, random_state=0, n_iter=5).fit(X)
    model.save(tmp_path / "hmm.genlab")
    np.testing.assert_array_equal(genlab.load(tmp_path / "hmm.genlab").means_, model.means_)


# -- temporary files ------------------------------------------------------------------------------------------------
def test_stale_temporaries_of_dead_writers_are_removed_by_the_next_save(saved):
    import subprocess
    import sys
    import time

    from genlab.utils.files import _host_tag

    model, path = saved
    folder = path.parent
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    dead_pid = int(dead.stdout)
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        names = {
            "dead": f".genlab-tmp-{_host_tag()}-{dead_pid}-abc123_x.tmp",  # a killed save's leftover: removed
            "alive": f".genlab-tmp-{_host_tag()}-{alive.pid}-abc123_x.tmp",  # a save in progress: kept
            "other_host": f".genlab-tmp-0badc0de-{dead_pid}-abc123_x.tmp",  # a shared folder: kept (age only)
            "old_legacy": ".genlab-k2j4h5g6.tmp",  # written by an older genlab a week ago: removed
            "new_legacy": ".genlab-a1b2c3d4.tmp",  # an older genlab's save maybe in progress: kept
            "foreign": ".genlab-tmp-notes.tmp",  # not our pattern: never touched
            "user": "model.genlab.tmp",
        }
        for name in names.values():
            (folder / name).write_bytes(b"partial")
        week_ago = time.time() - 7 * 24 * 3600
        os.utime(folder / names["old_legacy"], (week_ago, week_ago))
        model.save(path)
        left = {p.name for p in folder.iterdir()}
        assert left == {"model.genlab"} | {names[k] for k in ("alive", "other_host", "new_legacy", "foreign", "user")}
        genlab.load(path)
    finally:
        alive.kill()
        alive.wait()


def test_temporary_file_is_removed_when_the_write_fails(tmp_path):
    from genlab.utils.files import atomic_write

    target = tmp_path / "out.bin"
    with pytest.raises(ValueError, match="boom"), atomic_write(target, "wb") as handle:
        handle.write(b"half")
        raise ValueError("boom")
    assert list(tmp_path.iterdir()) == []


def test_temporary_names_carry_the_writer(tmp_path):
    from genlab.utils.files import _TMP_NAME, atomic_write

    with atomic_write(tmp_path / "x.txt", "w") as handle:
        handle.write("text")
        (name,) = [p.name for p in tmp_path.iterdir()]
        assert _TMP_NAME.fullmatch(name), name
        assert f"-{os.getpid()}-" in name
    assert [p.name for p in tmp_path.iterdir()] == ["x.txt"]


# -- neural networks: build nothing whose weights are not in the file --------------------------------------------------
_MEASURE_LOAD = """
import resource, sys
import genlab, torch  # the imports, before the baseline
from genlab.neural.language_model import LanguageModel
from genlab.errors import ModelFileError
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    genlab.load(sys.argv[1])
    outcome = "loaded"
except ModelFileError as exc:
    outcome = "ModelFileError: " + str(exc)
grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
print(f"{grown:.1f}")
print(outcome)
"""


def _hostile_language_model(tmp_path):
    path = tmp_path / "lm.genlab"
    tiny_model("LanguageModel").save(path)
    rewrite(path, lambda h: h["fitted"]["config_"]["__dict__"].update(n_hidden=6000))
    assert path.stat().st_size < 10_000
    return path


def test_language_model_file_asking_for_a_huge_network_builds_nothing_real(tmp_path, monkeypatch):
    """Issue 17: a 9 KB language-model file asking for n_hidden=6000 made load build the network (2 GB) before
    checking its weights. Now only a meta-device network (no memory) is built before the refusal."""
    pytest.importorskip("torch")
    from genlab.neural.language_model import LanguageModel

    path = _hostile_language_model(tmp_path)
    built = []
    original = LanguageModel._build_module

    def spy(self, config):
        module = original(self, config)
        built.append({p.device.type for p in module.parameters()})
        return module

    monkeypatch.setattr(LanguageModel, "_build_module", spy)
    with pytest.raises(ModelFileError, match=r"fitted/weights_\.rnn\.\w+ has shape .*; the network of config_ needs"):
        genlab.load(path)
    assert built == [{"meta"}], built


@pytest.mark.slow
def test_small_language_model_file_asking_for_a_huge_network_is_refused_without_building_it(tmp_path):
    """Issue 17: a 1 KB language-model file asking for n_hidden=6000 made load build a 2 GB network before checking
    its weights. Now the network is built on the meta device and compared first: refused, with little memory."""
    import subprocess
    import sys

    pytest.importorskip("torch")
    path = _hostile_language_model(tmp_path)
    result = subprocess.run([sys.executable, "-c", _MEASURE_LOAD, str(path)], capture_output=True, text=True,
                            timeout=300, check=True)
    grown_mb, outcome = result.stdout.splitlines()[:2]
    assert outcome.startswith("ModelFileError") and "weights_" in outcome, outcome
    assert float(grown_mb) < 100, f"load grew the process by {grown_mb} MB"


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (lambda c: c.update(n_layer=10**9), "config_.n_layer"),
        (lambda c: c.update(n_layer=2), "weights_"),
        (lambda c: c.update(n_embd="8"), "config_"),
        (lambda c: c.update(backbone="transformer"), "config_"),
        (lambda c: c.update(surprise=1), "config_"),
        (lambda c: c.update(vocab_size=-1), "config_"),
    ],
)
def test_language_model_configuration_must_match_its_weights(tmp_path, edit, fragment):
    pytest.importorskip("torch")
    path = tmp_path / "lm.genlab"
    tiny_model("LanguageModel").save(path)
    rewrite(path, lambda h: edit(h["fitted"]["config_"]["__dict__"]))
    with pytest.raises(ModelFileError, match=fragment):
        genlab.load(path)


def test_language_model_weight_of_another_dtype_or_unknown_name_is_refused(tmp_path):
    pytest.importorskip("torch")
    path = tmp_path / "lm.genlab"
    tiny_model("LanguageModel").save(path)
    _, _, tensors = read_parts(path.read_bytes())
    first = next(k for k in sorted(tensors) if k.startswith("fitted/weights_."))
    original = tensors[first]

    rewrite(path, edit_tensors=lambda t: t.update({first: original.astype(np.float64)}))
    with pytest.raises(ModelFileError, match="dtype float64"):
        genlab.load(path)

    def extra(header):
        header["fitted"]["weights_"]["__dict__"]["surplus"] = {"__tensor__": first}

    rewrite(path, extra, lambda t: t.update({first: original}))
    with pytest.raises(ModelFileError, match=r"weights_\.surplus"):
        genlab.load(path)

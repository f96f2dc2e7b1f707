"""The model-file rule of every registered model class (see :mod:`genlab._model_schema` for the language).

A rule receives the freshly constructed model (hyperparameters only) and a :class:`~genlab._model_schema.FileCheck`
over the file's fitted attributes. It runs the class's own hyperparameter checks where the class has them (the
ones ``fit`` runs), then declares each fitted attribute the class reads: its kind and its shape in terms of the
hyperparameters (``"n_components"``) and of symbols shared between arrays (``"D"``: the number of features).
Fitted attributes a rule does not declare are bookkeeping (an iteration count, a history) that no method indexes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from genlab._model_schema import FLOAT, INT, FileCheck, rule, run_own_checks

#: The covariance arrays of each ``covariance_type``, as stored (scikit-learn's and hmmlearn's compact forms).
COVARIANCE_SHAPES: dict[str, tuple[str, ...]] = {
    "full": ("K", "D", "D"),
    "tied": ("D", "D"),
    "diag": ("K", "D"),
    "spherical": ("K",),
}


def _covariance_shape(check: FileCheck, name: str, covariance_type: Any) -> tuple[str, ...]:
    if covariance_type not in COVARIANCE_SHAPES:
        check.fail("", f"covariance_type {covariance_type!r} is not one of {sorted(COVARIANCE_SHAPES)}.")
    return COVARIANCE_SHAPES[covariance_type]


def _convergence(check: FileCheck) -> None:
    """The bookkeeping of an iterative fit, where present."""
    check.scalar("n_iter_", "int", minimum=0)
    check.scalar("converged_", "bool")
    check.array("lower_bounds_", ("*",), finite=False, optional=True)
    check.scalar("n_features_in_", "int", minimum=1)
    if check.has("n_features_in_"):
        check.bind("D", int(check.fitted["n_features_in_"]), "n_features_in_")


# -- mixtures ---------------------------------------------------------------------------------------------------------
@rule("GaussianMixture", "BayesianGaussianMixture")
def _mixture(model: Any, check: FileCheck) -> None:
    run_own_checks(model, "_check_common_parameters")
    check.bind("K", model.n_components, "params/n_components")
    _convergence(check)
    check.array("weights_", ("K",))
    check.array("means_", ("K", "D"))
    shape = _covariance_shape(check, "covariances_", model.covariance_type)
    for name in ("covariances_", "precisions_", "precisions_cholesky_"):
        check.array(name, shape)
    if type(model).__name__ == "BayesianGaussianMixture":
        concentration = check.fitted.get("weight_concentration_")
        if isinstance(concentration, (list, tuple)):
            check.arrays("weight_concentration_", 2, lambda i: ("K",))
        else:
            check.array("weight_concentration_", ("K",))
        check.array("mean_precision_", ("K",))
        check.array("mean_prior_", ("D",))
        if model.covariance_type == "tied":
            check.scalar("degrees_of_freedom_", "real", optional=False)
        else:
            check.array("degrees_of_freedom_", ("K",))
        for name in ("weight_concentration_prior_", "mean_precision_prior_", "degrees_of_freedom_prior_"):
            check.scalar(name, "real", optional=False)
        prior = check.fitted.get("covariance_prior_")
        if isinstance(prior, (int, float)) and not isinstance(prior, bool):
            check.scalar("covariance_prior_", "real")
        else:
            check.array("covariance_prior_", {"full": ("D", "D"), "tied": ("D", "D"), "diag": ("D",),
                                               "spherical": ()}[model.covariance_type])


# -- hidden Markov models -------------------------------------------------------------------------------------------
def _chain(model: Any, check: FileCheck) -> None:
    """The Markov chain every HMM shares, after the class's own hyperparameter checks."""
    run_own_checks(model, "_check_hyperparameters")
    check.bind("K", model.n_states, "params/n_states")
    _convergence(check)
    check.array("startprob_", ("K",))
    check.array("transmat_", ("K", "K"))


def _n_features(model: Any, check: FileCheck, symbol: str) -> None:
    """Bind ``symbol`` (symbols "M" or count features "D") to the ``n_features`` hyperparameter where it is set."""
    if getattr(model, "n_features", None) is not None:
        check.bind(symbol, int(model.n_features), "params/n_features")


@rule("GaussianHMM")
def _gaussian_hmm(model: Any, check: FileCheck) -> None:
    _chain(model, check)
    check.array("means_", ("K", "D"))
    check.array("covars_", _covariance_shape(check, "covars_", model.covariance_type))


@rule("VariationalGaussianHMM")
def _variational_gaussian_hmm(model: Any, check: FileCheck) -> None:
    _gaussian_hmm(model, check)
    covariance = _covariance_shape(check, "scale_posterior_", model.covariance_type)
    for stage in ("prior", "posterior"):
        check.array(f"startprob_{stage}_", ("K",))
        check.array(f"transmat_{stage}_", ("K", "K"))
        check.array(f"means_{stage}_", ("K", "D"))
        check.array(f"beta_{stage}_", ("K",))
        if model.covariance_type != "tied":
            check.array(f"dof_{stage}_", ("K",))
        elif isinstance(check.fitted.get(f"dof_{stage}_"), np.ndarray):  # one shared value, as a 1-element array
            check.array(f"dof_{stage}_", (1,))
        else:
            check.scalar(f"dof_{stage}_", "real", optional=False)
        check.array(f"scale_{stage}_", covariance)


@rule("GMMHMM")
def _gmm_hmm(model: Any, check: FileCheck) -> None:
    _chain(model, check)
    check.bind("M", model.n_mix, "params/n_mix")
    check.array("weights_", ("K", "M"))
    check.array("means_", ("K", "M", "D"))
    check.array("covars_", {"full": ("K", "M", "D", "D"), "tied": ("K", "D", "D"), "diag": ("K", "M", "D"),
                            "spherical": ("K", "M")}.get(model.covariance_type, ("K", "M", "D")))


@rule("CategoricalHMM", "MultinomialHMM")
def _categorical_hmm(model: Any, check: FileCheck) -> None:
    _chain(model, check)
    _n_features(model, check, "M")
    check.array("emissionprob_", ("K", "M"))
    if type(model).__name__ == "MultinomialHMM":
        check.scalar("n_trials_", "int", minimum=1)


@rule("VariationalCategoricalHMM")
def _variational_categorical_hmm(model: Any, check: FileCheck) -> None:
    _categorical_hmm(model, check)
    for stage in ("prior", "posterior"):
        check.array(f"startprob_{stage}_", ("K",))
        check.array(f"transmat_{stage}_", ("K", "K"))
        check.array(f"emissionprob_{stage}_", ("K", "M"))


@rule("PoissonHMM")
def _poisson_hmm(model: Any, check: FileCheck) -> None:
    _chain(model, check)
    _n_features(model, check, "D")
    check.array("lambdas_", ("K", "D"))


@rule("HiddenMarkovModel")
def _composed_hmm(model: Any, check: FileCheck) -> None:
    from genlab.distributions._base import Distribution
    from genlab.hmm.independent import IndependentEmissions

    _chain(model, check)
    emissions = check.sequence("emissions_", check.dim("K"))
    for i, dist in enumerate(emissions):
        if isinstance(dist, dict) and isinstance(dist.get("type"), str):
            continue  # a file of the former format (a record per distribution), converted and checked on load
        if not isinstance(dist, (Distribution, IndependentEmissions)):
            check.fail(f"emissions_.{i}", f"must be a distribution; the file holds a {type(dist).__name__}.")
    emissions = [dist for dist in emissions if not isinstance(dist, dict)]
    kinds = {type(dist) for dist in emissions}
    if len(kinds) > 1:
        check.fail("emissions_", "mixes distribution families; every state's emission has the same family.")
    widths = {getattr(dist, "n_features", None) for dist in emissions}
    if len(widths) > 1:
        check.fail("emissions_", f"has emissions over different numbers of features ({sorted(map(str, widths))}).")


@rule("HiddenSemiMarkovModel")
def _semi_markov(model: Any, check: FileCheck) -> None:
    run_own_checks(model, "_check_hyperparameters")
    check.bind("K", model.n_states, "params/n_states")
    _convergence(check)
    check.array("startprob_", ("K",))
    check.array("transmat_", ("K", "K"))
    if model.duration == "poisson":
        check.array("duration_lambdas_", ("K",))
    else:
        check.array("duration_probs_", ("K", "max_duration"))
    if model.emission == "gaussian":
        check.array("means_", ("K", "D"))
        check.array("covars_", _covariance_shape(check, "covars_", model.covariance_type))
    else:
        _n_features(model, check, "M")
        check.array("emissionprob_", ("K", "M"))


# -- classifiers --------------------------------------------------------------------------------------------------
def _classes(check: FileCheck) -> None:
    classes = check.fitted.get("classes_")
    if isinstance(classes, (list, tuple)):
        for i, label in enumerate(classes):
            if not isinstance(label, (str, int, float, bool)):
                check.fail(f"classes_.{i}", f"must be a label (text or a number); got a {type(label).__name__}.")
        if len(set(classes)) != len(classes):
            check.fail("classes_", "repeats a class.")
        check.bind("C", len(classes), "classes_")
    else:
        check.array("classes_", ("C",), INT + FLOAT + "bU")
    check.array("class_prior_", ("C",))


@rule("NaiveBayes")
def _naive_bayes(model: Any, check: FileCheck) -> None:
    _classes(check)
    kinds = check.strings("feature_kinds_", unique=False)
    allowed = {"gaussian", "poisson", "categorical", "bernoulli"}
    for i, kind in enumerate(kinds):
        if kind not in allowed:
            check.fail(f"feature_kinds_.{i}", f"is {kind!r}; expected one of {sorted(allowed)}.")
    counts = {kind: kinds.count(kind) for kind in allowed}
    counts["categorical"] += counts["bernoulli"]  # one log-probability table per categorical or bernoulli feature
    check.bind("G", counts["gaussian"], "feature_kinds_ (gaussian features)")
    check.bind("P", counts["poisson"], "feature_kinds_ (poisson features)")
    if counts["gaussian"]:
        check.array("theta_", ("C", "G"))
        check.array("var_", ("C", "G"))
    if counts["poisson"]:
        check.array("rate_", ("C", "P"))
    if counts["categorical"]:
        check.arrays("category_log_probs_", counts["categorical"], lambda i: ("C", "*"), finite=False)


@rule("GenerativeClassifier")
def _generative_classifier(model: Any, check: FileCheck) -> None:
    _classes(check)
    for i, record in enumerate(check.sequence("models_", check.dim("C"))):
        check.model(f"models_.{i}", record)
    template = model.model
    if isinstance(template, dict):
        if not {"class", "params"} <= set(template) or not isinstance(template.get("class"), str) \
                or not isinstance(template.get("params"), dict):
            check.fail("", "params/model is not a model template (class and params).")
        from genlab._model_schema import check_params
        from genlab.base import get_model_class

        check_params(get_model_class(template["class"]), template["params"], where="params/model.params/")
    check.scalar("mean_length_", "real", minimum=0.0)


@rule("ClutterModel")
def _clutter(model: Any, check: FileCheck) -> None:
    run_own_checks(model, "_check_params")
    for name in ("posterior_mean_", "posterior_variance_", "log_evidence_"):
        check.scalar(name, "real", optional=False)
    _convergence(check)
    check.array("grid_", ("G",))
    check.array("grid_log_weights_", ("G",), finite=False)


# -- series -------------------------------------------------------------------------------------------------------
@rule("LinearAutoRegressive")
def _autoregressive(model: Any, check: FileCheck) -> None:
    order = check.scalar("order_", "int", optional=False, minimum=0)
    check.bind("p", int(order), "order_")
    _convergence(check)
    check.array("intercept_", ("D",))
    check.array("coef_", ("p", "D", "D"))
    check.array("noise_covariance_", ("D", "D"))
    check.array("last_observations_", ("p", "D"), optional=True)
    check.array("criterion_values_", ("*",), finite=False, optional=True)


# -- text ---------------------------------------------------------------------------------------------------------
def _tokens(check: FileCheck) -> list[Any]:
    """A saved vocabulary: distinct tokens, each a hashable value (text, a number, a tuple of them)."""
    tokens = check.sequence("vocabulary_")
    for i, token in enumerate(tokens):
        try:
            hash(token)
        except TypeError:
            check.fail(f"vocabulary_.{i}", f"must be a token (text, a number or a tuple); got {token!r:.40}.")
    if len(set(tokens)) != len(tokens):
        check.fail("vocabulary_", "repeats a token.")
    return tokens


@rule("MarkovChain")
def _markov_chain(model: Any, check: FileCheck) -> None:
    from genlab.sequence.vocabulary import N_SPECIAL

    run_own_checks(model, "_check_params")
    tokens = _tokens(check)
    n = model.ngram_order  # order + 1 tables: unigrams, bigrams, ...
    check.sequence("ngrams_", n)
    check.bind("V", len(tokens) + N_SPECIAL, "vocabulary_ (with <unk>, <s>, </s>)")
    ngrams = check.arrays("ngrams_", n, lambda i: (f"N{i}", i + 1) if i else ("V", "*"), INT)
    for i, table in enumerate(ngrams):
        check.bind(f"N{i}", table.shape[0], f"ngrams_.{i}")
    check.arrays("log10_probs_", n, lambda i: (f"N{i}",), finite="no-nan")
    check.arrays("log10_backoffs_", n, lambda i: (f"N{i}",), finite="no-nan")
    check.array("discounts_", ("*", 3), optional=True)


@rule("LDA", "LabeledLDA")
def _topics(model: Any, check: FileCheck) -> None:
    if type(model).__name__ == "LDA":
        run_own_checks(model, "_check_parameters")
        check.bind("K", model.n_topics, "params/n_topics")
    else:  # one topic per label
        labels = check.sequence("labels_")
        for i, label in enumerate(labels):
            if not isinstance(label, (str, int)) or isinstance(label, bool):
                check.fail(f"labels_.{i}", f"must be a label (text or an integer); got {label!r:.40}.")
        check.bind("K", len(labels), "labels_")
    check.bind("V", len(_tokens(check)), "vocabulary_")
    check.array("components_", ("K", "V"))
    if check.has("doc_topic_prior_") and not isinstance(check.fitted["doc_topic_prior_"], (int, float)):
        check.array("doc_topic_prior_", ("K",))
    if check.has("topic_word_prior_") and not isinstance(check.fitted["topic_word_prior_"], (int, float)):
        check.array("topic_word_prior_", ("*",))
    _convergence(check)


# -- grammars and tree models -----------------------------------------------------------------------------------------
@rule("PCFG")
def _pcfg(model: Any, check: FileCheck) -> None:
    from genlab.trees.pcfg import check_saved_grammar

    run_own_checks(model, "_check_params")
    rules = check.sequence("rules_")
    check.bind("R", len(rules), "rules_")
    probabilities = check.array("probabilities_", ("R",))
    problem = check_saved_grammar(check.fitted.get("start_"), rules, probabilities)
    if problem is not None:
        check.fail("rules_", f"/ start_ / probabilities_: {problem}")
    _convergence(check)


@rule("CountTreeModel")
def _count_tree_model(model: Any, check: FileCheck) -> None:
    from genlab.trees.python_ast import VALUE_TYPES
    from genlab.trees.tree_count import CONTEXTS
    from genlab.trees.tree_count import _width as _count_table_width

    run_own_checks(model, "_check_params")
    symbols = check.strings("symbols_")
    vocabulary = check.mapping("vocabulary_")
    for name, tokens in vocabulary.items():
        if name not in VALUE_TYPES:
            check.fail(f"vocabulary_.{name}", f"is not a value type ({', '.join(VALUE_TYPES)}).")
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            check.fail(f"vocabulary_.{name}", "must be a list of token strings.")
    # one table per context level, longest context first, then the slot classes' table (one context column)
    n_levels = len(CONTEXTS[model.context])
    tables = check.arrays("counts_", n_levels + 1, lambda k: ("*", _count_table_width(n_levels, k)), INT)
    for k, rows in enumerate(tables):
        # columns: the context's symbol ids, the token's symbol id, then its count (>= 1)
        if rows.size and (rows[:, :-1].min() < 0 or rows[:, :-1].max() >= len(symbols) or rows[:, -1].min() < 1):
            check.fail(f"counts_.{k}", "holds a symbol id outside symbols_ or a count below 1.")
        if not _strictly_increasing_rows(rows[:, :-1]):  # fit writes each (context, token) once, in sorted order
            check.fail(f"counts_.{k}", "repeats or reorders (context, token) rows; the file was altered.")
    for name in ("n_train_trees_", "n_train_nodes_", "n_train_decisions_"):
        check.scalar(name, "int", optional=False, minimum=0)


def _strictly_increasing_rows(keys: np.ndarray) -> bool:
    """Whether the rows of an integer matrix are strictly increasing in lexicographic order (sorted, no repeats)."""
    if len(keys) < 2:
        return True
    step = np.diff(keys, axis=0)
    differs = step != 0
    first = np.argmax(differs, axis=1)  # the first column where consecutive rows differ
    return bool(np.all(differs.any(axis=1)) and np.all(step[np.arange(len(step)), first] > 0))


@rule("TreeModel")
def _tree_model(model: Any, check: FileCheck) -> None:
    engines = {"count": "CountTreeModel", "neural": "NeuralTreeModel"}
    if model.kind not in engines:
        check.fail("", f"kind {model.kind!r} is not one of {sorted(engines)}.")
    record = check.mapping("model_")
    if record.get("class") != engines[model.kind]:
        check.fail("model_", f"must be a {engines[model.kind]} record for kind={model.kind!r}.")
    check.model("model_", record)


# -- Bayesian networks ------------------------------------------------------------------------------------------------
@rule("BayesianNetwork")
def _bayesian_network(model: Any, check: FileCheck) -> None:
    variables = check.strings("variables_")
    states = check.mapping("state_names_")
    parents = check.mapping("parents_")
    cpts = check.mapping("cpts_")
    for mapping, name in ((states, "state_names_"), (parents, "parents_"), (cpts, "cpts_")):
        if set(mapping) != set(variables):
            odd = sorted(set(mapping) ^ set(variables))[0]
            check.fail(f"{name}", f"does not list the same variables as variables_ (e.g. {odd!r}).")
    for variable in variables:
        names = states[variable]
        if not isinstance(names, (list, tuple)) or not names or not all(isinstance(s, str) for s in names):
            check.fail(f"state_names_.{variable}", "must be a non-empty list of state names.")
        if len(set(names)) != len(names):
            check.fail(f"state_names_.{variable}", "repeats a state.")
        mine = parents[variable]
        if not isinstance(mine, (list, tuple)) or not all(isinstance(p, str) and p in states for p in mine):
            check.fail(f"parents_.{variable}", "must be a list of the network's variables.")
        if variable in mine or len(set(mine)) != len(mine):
            check.fail(f"parents_.{variable}", "repeats a parent or names the variable itself.")
    _check_acyclic(check, variables, parents)
    for variable in variables:
        shape = (*(len(states[p]) for p in parents[variable]), len(states[variable]))  # parents first
        check.array_value(f"cpts_.{variable}", cpts[variable], shape, FLOAT)
    if check.has("name_") and not isinstance(check.fitted["name_"], str):
        check.fail("name_", "must be a string.")
    check.scalar("n_iter_", "int", minimum=0)
    check.scalar("converged_", "bool")


def _check_acyclic(check: FileCheck, variables: list[str], parents: dict[str, Any]) -> None:
    """Kahn's algorithm: a network whose parents form a cycle cannot be ordered for inference."""
    remaining = {v: set(parents[v]) for v in variables}
    ready = [v for v, ps in remaining.items() if not ps]
    children: dict[str, list[str]] = {v: [] for v in variables}
    for v in variables:
        for p in parents[v]:
            children[p].append(v)
    seen = 0
    while ready:
        v = ready.pop()
        seen += 1
        for child in children[v]:
            remaining[child].discard(v)
            if not remaining[child]:
                ready.append(child)
    if seen != len(variables):
        check.fail("parents_", "form a cycle; a Bayesian network's graph is acyclic.")


def _vq_prior(check: FileCheck) -> None:
    """A VQ-VAE's prior: a PixelCNN record that models the autoencoder's code grids (one channel of ``n_codes``
    levels, the grid shape its encoder gives)."""
    from genlab.images.vq_module import code_grid_shape

    state = check.mapping("prior_")
    check.model("prior_", {"class": "PixelCNN", "params": state.get("params"), "fitted": state.get("fitted")})
    config, prior = check.mapping("config_"), state["fitted"]
    try:
        grid = code_grid_shape(tuple(config["image_shape"]), int(config["n_downsample"]))
        n_codes = int(config["n_codes"])
        stored_grid = tuple(int(s) for s in check.sequence("code_shape_", 2))
        prior_shape = tuple(int(s) for s in prior["image_shape_"])
        prior_levels = {int(prior["n_levels_"]), int(prior["config_"]["n_levels"])}
    except (KeyError, TypeError, ValueError) as exc:
        check.fail("prior_", f"does not describe the code grids of this VQ-VAE ({exc}); the file was altered.")
    if stored_grid != grid:
        check.fail("code_shape_", f"is {stored_grid}, but the encoder gives {grid} code grids; the file was altered.")
    if prior_shape != (1, *grid) or prior_levels != {n_codes}:
        check.fail("prior_", f"models {prior_shape} grids of {sorted(prior_levels)} levels, but the autoencoder's "
                             f"codes are {grid} grids of {n_codes} codes; the file was altered.")


# -- neural models ----------------------------------------------------------------------------------------------------
@rule("LanguageModel", "Seq2Seq", "Captioner", "SequenceDetector", "VAE", "ConditionalVAE", "Autoencoder", "PixelCNN",
      "ConditionalPixelCNN", "WaveNet", "NeuralAutoRegressive", "MaskedLanguageModel", "VQVAE", "NeuralTreeModel")
def _neural(model: Any, check: FileCheck) -> None:
    """The shared training hyperparameters; the network itself is checked against its weights by
    :func:`genlab.neural._file_check.check_network`."""
    run_own_checks(model, "_check_shared_parameters")
    check.mapping("config_")
    check.mapping("weights_")
    if type(model).__name__ == "Autoencoder" and check.has("latent_mixture_"):
        state = check.mapping("latent_mixture_")
        record = {"class": "GaussianMixture", "params": state.get("params"), "fitted": state.get("fitted")}
        check.model("latent_mixture_", record)
    if type(model).__name__ == "VQVAE":
        _vq_prior(check)
    if type(model).__name__ == "MaskedLanguageModel":  # what its figures are (bound / pseudo) follows the network
        config = check.mapping("config_")
        if config.get("objective") != model.objective:
            check.fail("config_", f"holds a network trained with objective {config.get('objective')!r}, but "
                                  f"params/objective is {model.objective!r}; the file was altered.")
        if model.tokenizer not in ("char", "byte", "bpe"):
            check.fail("tokenizer_", f"is stored for params/tokenizer {model.tokenizer!r}, which is not a tokenizer of "
                                     "a masked language model.")

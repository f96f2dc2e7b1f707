"""``genlab fit classifier``: generative classifiers (one density per class) from a labelled numeric table.

The label column holds numbers (class codes) or, in a ``.csv`` / ``.tsv`` file with a header row, any text (class
names such as ``setosa``); the other columns are numeric features. The saved model keeps the class names. It is a
genlab generative model of the feature columns: ``genlab score`` gives the mean ``log p(x)`` per row of a table of
those columns (no label column), ``genlab sample`` draws feature rows from ``p(x)``.
"""

import enum
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer

from genlab.cli._app import _naming, _print_fields, _warn_lines, fit_app


class ClassModel(str, enum.Enum):
    """``genlab fit classifier --model``: each class's density, a Gaussian mixture or naive Bayes."""

    gmm = "gmm"
    naive_bayes = "naive-bayes"


class CovarianceType(str, enum.Enum):
    """``genlab fit classifier --covariance``: the covariance of each mixture component (``--model gmm``)."""

    full = "full"
    tied = "tied"
    diag = "diag"
    spherical = "spherical"


def _labelled_table(data: Path, target: str) -> tuple[Any, Any, list[str] | None, int]:
    """Features (N, D) float64, labels (N,), the header (or None) and the label column's index.

    A numeric table is read by :func:`genlab.data.load_table` (labels that are whole numbers become int64 class
    codes). When that fails on a ``.csv`` / ``.tsv`` file with a header row, the file is read as text by
    :func:`genlab.data.read_records` and the label column is kept as text, provided every other cell is a
    number; otherwise the numeric reader's error (which names the first bad cell) is raised.
    """
    import numpy as np

    from genlab.data.tabular import load_table, table_header
    from genlab.errors import DataError

    try:
        table = load_table(data)
    except DataError as numeric_error:
        labelled = _text_labelled_table(data, target)
        if labelled is None:
            raise numeric_error from None
        return labelled
    if table.shape[1] < 2:
        raise DataError(f"{data}: a labelled table needs the label column and at least one feature column.")
    header = table_header(data)
    column = _target_column(target, header, table.shape[1])
    y = table[:, column]
    if np.array_equal(y, np.round(y)):
        y = y.astype(np.int64)  # integer class codes print and save as integers
    return np.delete(table, column, axis=1), y, header, column


def _text_labelled_table(data: Path, target: str) -> tuple[Any, Any, list[str] | None, int] | None:
    """The table of :func:`_labelled_table` with text labels; None when DATA is not such a table."""
    import numpy as np

    from genlab.data.records import read_records
    from genlab.errors import DataError

    if data.suffix.lower() not in (".csv", ".tsv"):
        return None
    try:
        frame = read_records(data)  # every cell as text, empty cells missing
    except DataError:
        return None
    header = [str(name) for name in frame.columns]
    if len(header) < 2:
        return None
    column = _target_column(target, header, len(header))
    labels = frame.iloc[:, column]
    features = frame.drop(columns=frame.columns[column])
    try:
        X = np.array([[float(cell) for cell in row] for row in features.astype(object).to_numpy()], dtype=np.float64)
    except (TypeError, ValueError):
        return None  # a feature cell that is not a number: the numeric reader's message says which
    if not np.isfinite(X).all():
        return None
    if labels.isna().any():
        row = int(np.flatnonzero(labels.isna().to_numpy())[0]) + 1
        raise DataError(f"{data}: row {row} has no label in column {header[column]!r}; every row needs a class.")
    return X, labels.astype(str).to_numpy(dtype=str), header, column


def _target_column(target: str, header: list[str] | None, n_columns: int) -> int:
    """The index of the label column: a header name, or a 0-based index (negative counts from the end)."""
    from genlab.errors import DataError

    if header is not None and target in header:
        return header.index(target)
    try:
        index = int(target)
    except ValueError:
        known = f"; the columns are {', '.join(header)}" if header else " (the file has no header row)"
        raise DataError(f"--target {target!r} names no column{known}.") from None
    if not -n_columns <= index < n_columns:
        raise DataError(f"--target {index} is out of range for a table of {n_columns} columns.")
    return index % n_columns


@fit_app.command("classifier")
def fit_classifier(
    data: Annotated[
        Path,
        typer.Argument(
            metavar="DATA",
            help="Labelled training data: a numeric .csv / .tsv / .txt table or .npy; in a .csv / .tsv file with a "
            "header row the label column may hold class names (text).",
        ),
    ],
    target: Annotated[
        str, typer.Option("--target", "-t", help="The label column: its header name or 0-based index.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to save the fitted model, e.g. model.genlab.")],
    model: Annotated[
        ClassModel,
        typer.Option("--model", "-m", help="Density of each class: a Gaussian mixture, or naive Bayes."),
    ] = ClassModel.gmm,
    components: Annotated[
        int, typer.Option("--components", "-k", min=1, help="gmm: mixture components per class.")
    ] = 1,
    covariance: Annotated[
        CovarianceType, typer.Option("--covariance", help="gmm: covariance of each component.")
    ] = CovarianceType.full,
    features: Annotated[
        str,
        typer.Option(
            "--features",
            help="naive-bayes: one family for every feature (gaussian, categorical, bernoulli, poisson) or a "
            "comma-separated list, one per feature column.",
        ),
    ] = "gaussian",
    alpha: Annotated[float, typer.Option("--alpha", min=0.0, help="naive-bayes: count smoothing.")] = 1.0,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (mixture initialisation).")] = 0,
) -> None:
    """Fit one density per class of the --target column and save the classifier.

    Example: genlab fit classifier data.csv --target label --model gmm --components 2 --out model.genlab
    """
    import numpy as np

    from genlab.classify import GenerativeClassifier, NaiveBayes

    X, y, header, column = _labelled_table(data, target)
    names = [name for i, name in enumerate(header) if i != column] if header else None
    estimator: Any
    if model is ClassModel.gmm:
        from genlab.mixture import GaussianMixture

        estimator = GenerativeClassifier(
            GaussianMixture(components, covariance_type=covariance.value, random_state=seed)
        )
        description = f"GenerativeClassifier (GaussianMixture, K = {components}, {covariance.value} covariances)"
    else:
        kinds = [part.strip() for part in features.split(",")]
        estimator = NaiveBayes(features=kinds[0] if len(kinds) == 1 else kinds, alpha=alpha)
        description = f"NaiveBayes ({features})"
    with warnings.catch_warnings(record=True) as caught, _naming(data):
        warnings.simplefilter("always")
        estimator.fit(X, y)
    _warn_lines(caught)
    estimator.save(out)
    counts = ", ".join(f"{label}: {int(np.sum(y == label))}" for label in estimator.classes_.tolist())
    _print_fields(
        [
            ("model", description),
            ("data", f"{data} ({X.shape[0]} rows, {X.shape[1]} feature columns, label column {target!r})"),
            ("features", ", ".join(names) if names else f"{X.shape[1]} unnamed columns"),
            ("classes", counts),
            ("training accuracy", f"{estimator.accuracy(X, y):.4f}"),
            ("log-likelihood", f"{estimator.log_likelihood_score(X):.6g} nats per row (log p(x), labels unused)"),
            ("saved to", str(out)),
        ]
    )

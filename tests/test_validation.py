"""The one family of input validators (genlab.utils.validation): each bad input's error type and message."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

import genlab
from genlab.base import check_class_labels as base_check_class_labels
from genlab.base import check_vectors as base_check_vectors
from genlab.errors import DataError, NonNumericDataError
from genlab.utils.validation import (
    check_array_2d,
    check_class_labels,
    check_sample_weight,
    check_vectors,
)


def test_base_re_exports_the_validators():
    assert base_check_vectors is check_vectors
    assert base_check_class_labels is check_class_labels


@pytest.mark.parametrize(
    ("data", "error", "match"),
    [
        (sparse.csr_array(np.ones((3, 2))), DataError, r"X is a scipy sparse matrix, and sparse input is not supported "
                                                       r"by the model; pass a dense array \(X.toarray\(\)\)"),
        (np.ones((3, 2), dtype=complex), DataError, "Complex data not supported: X holds complex numbers"),
        (np.array([[1.0, {"a": 1}]], dtype=object), NonNumericDataError, "X must be numeric"),
        ([["1.5", "x"]], DataError, "X must be numeric"),
        (np.ones(3), DataError, r"X is 1-D with shape \(3,\); the model expects a 2-D array .* Reshape your data"),
        (np.ones((2, 2, 2)), DataError, "X must be 2-D"),
        (np.ones((3, 0)), DataError, r"X has 0 feature\(s\) \(shape=\(3, 0\)\) while a minimum of 1 is required"),
        (np.ones((0, 2)), DataError, "X has 0 rows"),
        (np.array([[1.0, 2.0], [np.inf, 0.0]]), DataError, "first is row 1, which has inf"),
    ],
)
def test_check_array_2d_says_what_is_wrong(data, error, match):
    with pytest.raises(error, match=match) as caught:
        check_array_2d(data)
    # NonNumericDataError is the TypeError scikit-learn expects for a value that is not a number
    assert isinstance(caught.value, TypeError) == (error is NonNumericDataError)


def test_check_array_2d_feature_count_names_who_expects_what():
    with pytest.raises(DataError, match=r"X has 3 features, but the model is expecting 2 features as input \(it was "
                                        r"fitted on 2\)"):
        check_array_2d(np.ones((4, 3)), n_features=2)
    with pytest.raises(DataError, match="batch has 1 features, but GaussianHMM is expecting 2"):
        check_array_2d(np.ones(4), name="batch", n_features=2, allow_1d_as_column=True, model="GaussianHMM")
    column = check_array_2d([1, 2, 3], allow_1d_as_column=True)
    assert column.shape == (3, 1) and column.dtype == np.float64 and column.flags.c_contiguous


def test_check_vectors_keeps_n_features_in():
    model = genlab.GaussianMixture()
    X = check_vectors(model, np.ones((5, 3)), reset=True)
    assert model.n_features_in_ == 3 and X.shape == (5, 3)
    with pytest.raises(DataError, match="X has 2 features, but GaussianMixture is expecting 3 features"):
        check_vectors(model, np.ones((5, 2)), reset=False)


def test_models_outside_the_estimator_checks_reject_complex_and_sparse_data_the_same_way():
    with pytest.raises(DataError, match="Complex data not supported: X holds complex numbers"):
        genlab.GaussianHMM(n_states=2).fit(np.ones((10, 2), dtype=complex))
    with pytest.raises(DataError, match="sparse input is not supported"):
        genlab.GaussianHMM(n_states=2).fit(sparse.csr_array(np.ones((10, 2))))


@pytest.mark.parametrize(
    ("weights", "match"),
    [
        (np.zeros(4), r"sample_weight is all zero \(the weights sum to 0\)"),
        (-np.ones(4), r"negative values \(first at row 0: -1.0\)"),
        (np.ones(3), r"sample_weight has shape \(3,\); expected \(4,\)"),
        ([1.0, np.nan, 1.0, 1.0], "NaN or inf"),
        (["a", "b", "c", "d"], "sample_weight must be numeric"),
    ],
)
def test_check_sample_weight_says_what_is_wrong(weights, match):
    with pytest.raises(DataError, match=match):
        check_sample_weight(weights, 4)


def test_check_sample_weight_values():
    assert check_sample_weight(None, 3) is None
    np.testing.assert_array_equal(check_sample_weight(2, 3), [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(check_sample_weight([0, 1, 2], 3), [0.0, 1.0, 2.0])


def test_check_class_labels():
    model = genlab.NaiveBayes()
    with pytest.raises(DataError, match="NaiveBayes requires y to be passed"):
        check_class_labels(model, None, 3)
    with pytest.raises(DataError, match=r"y must hold one label per item: shape \(3,\); got \(2,\)"):
        check_class_labels(model, [0, 1], 3)
    with pytest.raises(DataError, match=r"Unknown label type: y holds continuous values \(e.g. 0.5\)"):
        check_class_labels(model, [0.0, 0.5, 1.0], 3)
    with pytest.warns(Warning, match="column-vector y"):
        labels = check_class_labels(model, [[0], [1], [1]], 3)
    np.testing.assert_array_equal(labels, [0, 1, 1])

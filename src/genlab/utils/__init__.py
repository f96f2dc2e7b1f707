"""Small shared helpers: input validation and random-state handling."""

from genlab.utils.random import check_random_state, legacy_random_state
from genlab.utils.validation import check_array_2d, check_in, check_positive_int, check_sample_weight

__all__ = [
    "check_array_2d",
    "check_in",
    "check_positive_int",
    "check_random_state",
    "check_sample_weight",
    "legacy_random_state",
]

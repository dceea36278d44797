"""The rubric's arithmetic: renormalisation over assessable criteria and consolidation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker.errors import InvalidScoresError
from tracker.rubric import RUBRIC_V1, assessment_mpi, consolidate, criterion_means, validate_scores

KEYS = RUBRIC_V1.keys
valid_scores = st.fixed_dictionaries({k: st.one_of(st.none(), st.integers(0, 4)) for k in KEYS}).filter(
    lambda s: any(v is not None for v in s.values())
)


def test_rubric_v1_weights_sum_to_100_over_six_criteria() -> None:
    assert sum(c.weight for c in RUBRIC_V1.criteria) == 100
    assert KEYS == ("relevance", "effectiveness", "transferability", "sustainability", "partnership", "openness")
    assert RUBRIC_V1.scale[4] == "independently verified"


def test_mpi_is_weighted_when_every_criterion_is_assessable() -> None:
    scores = {
        "relevance": 4,
        "effectiveness": 3,
        "transferability": 2,
        "sustainability": 1,
        "partnership": 0,
        "openness": 4,
    }
    # 100 × (20·1 + 20·.75 + 20·.5 + 20·.25 + 10·0 + 10·1) / 100
    assert assessment_mpi(scores) == 60.0


@given(valid_scores)
def test_mpi_stays_within_0_and_100_when_any_criterion_may_be_null(scores: dict[str, int | None]) -> None:
    assert 0 <= assessment_mpi(scores) <= 100


@given(valid_scores, st.sampled_from(KEYS))
def test_null_is_never_counted_as_zero_when_renormalising(scores: dict[str, int | None], key: str) -> None:
    nulled = scores | {key: None}
    if all(v is None for v in nulled.values()):
        return
    as_zero = scores | {key: 0}
    assert assessment_mpi(nulled) >= assessment_mpi(as_zero)
    assessed = [c for c in RUBRIC_V1.criteria if nulled[c.key] is not None]
    expected = 100 * sum(c.weight * nulled[c.key] / 4 for c in assessed) / sum(c.weight for c in assessed)  # type: ignore[operator]
    assert assessment_mpi(nulled) == pytest.approx(round(expected, 2))


def test_consolidation_reports_mean_count_and_spread() -> None:
    result = consolidate([80.0, 50.0, 65.0])
    assert result is not None
    assert (result.value, result.evaluators, result.spread) == (65.0, 3, 30.0)
    assert consolidate([]) is None


def test_criterion_means_skip_assessments_that_could_not_assess_a_criterion() -> None:
    means = criterion_means([dict.fromkeys(KEYS, 2) | {"openness": None}, dict.fromkeys(KEYS, 4)])
    assert means["openness"] == 4
    assert means["relevance"] == 3


@pytest.mark.parametrize("bad", [None, [], "4", {"relevance": 4}])
def test_validate_scores_is_refused_when_scores_are_not_a_complete_mapping(bad: object) -> None:
    with pytest.raises(InvalidScoresError):
        validate_scores(bad)

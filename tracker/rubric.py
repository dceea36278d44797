"""The mainstreaming-potential rubric as data, and the scores computed from it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import pairwise
from statistics import fmean
from typing import Any

from tracker import limits
from tracker.errors import InvalidScoresError
from tracker.validation import text


@dataclass(frozen=True)
class Criterion:
    key: str
    weight: int
    description: str


@dataclass(frozen=True)
class Rubric:
    version: int
    criteria: tuple[Criterion, ...]
    scale: Mapping[int, str]

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.criteria)

    @property
    def max_score(self) -> int:
        return max(self.scale)


# Grounded in the Erasmus+ award criteria, ExpandNet/WHO scalability and the EU Innovation Radar.
RUBRIC_V1 = Rubric(
    version=1,
    criteria=(
        Criterion("relevance", 20, "documented need; fit with EU and national VET priorities"),
        Criterion("effectiveness", 20, "evidence of outcomes from testing"),
        Criterion("transferability", 20, "works in varied settings, simple, affordable per learner"),
        Criterion("sustainability", 20, "owner, funding beyond the grant, embedded in curricula"),
        Criterion("partnership", 10, "employers and authorities engaged"),
        Criterion("openness", 10, "open licence, results published"),
    ),
    scale={0: "none", 1: "claimed", 2: "partial", 3: "evidenced", 4: "independently verified"},
)

RUBRICS: dict[int, Rubric] = {RUBRIC_V1.version: RUBRIC_V1}
CURRENT_RUBRIC = RUBRIC_V1

Scores = dict[str, int | None]
Comments = dict[str, str]

# The assessable criteria must carry at least this share of the weight, so that one criterion alone never scores 100.
MIN_ASSESSABLE_WEIGHT = 0.6
# The Erasmus+ expert rule: scores this far apart need a third evaluator, and with three or more the consolidated
# MPI is the mean of the two closest scores.
MAX_SPREAD = 30.0
TIEBREAK_EVALUATORS = 3


@dataclass(frozen=True)
class Consolidated:
    """The consolidated MPI: mean of each evaluator's latest assessment, with count and spread."""

    value: float
    evaluators: int
    spread: float

    def as_dict(self) -> dict[str, Any]:
        return {"value": self.value, "evaluators": self.evaluators, "spread": self.spread}


def validate_scores(scores: Any, rubric: Rubric = CURRENT_RUBRIC) -> Scores:
    """All criteria present, each an integer on the scale or None (not assessable)."""
    if not isinstance(scores, Mapping):
        raise InvalidScoresError("scores", "must be an object with one score per criterion")
    missing = [k for k in rubric.keys if k not in scores]
    unknown = [k for k in scores if k not in rubric.keys]
    if missing:
        raise InvalidScoresError("scores", f"missing criteria: {', '.join(missing)}", rule="scores.incomplete")
    if unknown:
        raise InvalidScoresError(
            "scores", f"unknown criteria: {', '.join(map(str, unknown))}", rule="scores.unknown_criterion"
        )
    cleaned: Scores = {}
    for key in rubric.keys:
        value = scores[key]
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value not in rubric.scale):
            raise InvalidScoresError(
                f"scores.{key}",
                f"must be an integer from {min(rubric.scale)} to {rubric.max_score} or null",
                rule="scores.out_of_range",
            )
        cleaned[key] = value
    if all(v is None for v in cleaned.values()):
        raise InvalidScoresError("scores", "at least one criterion must be assessable", rule="scores.none_assessable")
    assessed = sum(c.weight for c in rubric.criteria if cleaned[c.key] is not None)
    share = assessed / sum(c.weight for c in rubric.criteria)
    if share < MIN_ASSESSABLE_WEIGHT:
        raise InvalidScoresError(
            "scores",
            f"the assessable criteria carry {share:.0%} of the rubric's weight; at least "
            f"{MIN_ASSESSABLE_WEIGHT:.0%} must be assessable",
            rule="scores.too_little_assessable",
        )
    return cleaned


def validate_comments(comments: Any, rubric: Rubric = CURRENT_RUBRIC) -> Comments:
    """An optional comment per criterion, as Erasmus+ experts comment per award criterion; blank ones are dropped."""
    if comments is None:
        return {}
    if not isinstance(comments, Mapping):
        raise InvalidScoresError("comments", "must be an object with a comment per criterion")
    unknown = [k for k in comments if k not in rubric.keys]
    if unknown:
        raise InvalidScoresError(
            "comments", f"unknown criteria: {', '.join(map(str, unknown))}", rule="comments.unknown_criterion"
        )
    cleaned: Comments = {}
    for key in rubric.keys:
        comment = text(comments.get(key), f"comments.{key}", max_length=limits.COMMENT_MAX, required=False)
        if comment is not None:
            cleaned[key] = comment
    return cleaned


def assessment_mpi(scores: Mapping[str, int | None], rubric: Rubric = CURRENT_RUBRIC) -> float:
    """MPI = 100 × Σ(wᵢ·sᵢ/max) / Σwᵢ over the assessable criteria, to two decimals."""
    assessed = [(c.weight, scores[c.key]) for c in rubric.criteria if scores.get(c.key) is not None]
    total_weight = sum(w for w, _ in assessed)
    weighted = sum(w * s / rubric.max_score for w, s in assessed if s is not None)
    return round(100 * weighted / total_weight, 2)


def consolidate(mpis: Iterable[float]) -> Consolidated | None:
    """Consolidate per-evaluator MPIs (already reduced to each evaluator's latest): their mean, except that with
    TIEBREAK_EVALUATORS or more whose spread is MAX_SPREAD or more, the mean of the two closest scores (the mean of
    all when two pairs are equally close)."""
    values = sorted(mpis)
    if not values:
        return None
    spread = round(values[-1] - values[0], 2)
    value = fmean(values)
    if len(values) >= TIEBREAK_EVALUATORS and spread >= MAX_SPREAD:
        gaps = [round(b - a, 6) for a, b in pairwise(values)]
        closest = min(gaps)
        if gaps.count(closest) == 1:
            at = gaps.index(closest)
            value = fmean(values[at : at + 2])
    return Consolidated(round(value, 2), len(values), spread)


def criterion_means(
    score_sets: Iterable[Mapping[str, int | None]], rubric: Rubric = CURRENT_RUBRIC
) -> dict[str, float]:
    """Mean of each criterion over the assessments that could assess it."""
    sets = list(score_sets)
    means: dict[str, float] = {}
    for key in rubric.keys:
        values = [s[key] for s in sets if s.get(key) is not None]
        if values:
            means[key] = fmean(v for v in values if v is not None)
    return means

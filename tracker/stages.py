"""Stage-Gate vocabulary: stages, statuses and decisions."""

from __future__ import annotations

STAGES = ("identification", "testing", "development", "assessment", "mainstreamed")
STATUSES = ("active", "on_hold", "mainstreamed", "discontinued")
DECISIONS = ("advance", "hold", "resume", "recycle", "discontinue")
# Stages in which an innovation is confidential to its owner, its evaluators and the roles that read all
# (API.md, "Who sees what"); the others are public to every caller.
CONFIDENTIAL_STAGES = ("identification",)
PUBLIC_STAGES = tuple(stage for stage in STAGES if stage not in CONFIDENTIAL_STAGES)
EVIDENCE_KINDS = (
    "report",
    "evaluation",
    "dataset",
    "publication",
    "case_study",
    "testimonial",
    "video",
    "curriculum",
    "policy_document",
    "other",
)

# Which status each stage may be in; the hypothesis state machine checks states against it.
LEGAL_STATES = frozenset(
    [(stage, status) for stage in STAGES[:-1] for status in ("active", "on_hold", "discontinued")]
    + [("mainstreamed", "mainstreamed")]
)


def stage_index(stage: str) -> int:
    return STAGES.index(stage)


def next_stage(stage: str) -> str:
    return STAGES[stage_index(stage) + 1]

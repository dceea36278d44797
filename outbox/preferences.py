"""Which kinds of e-mail a person receives: every kind is on until the person turns it off.

An invitation cannot be turned off: it is sent before the person has an account to choose with."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import Engine, delete, insert, select

from outbox.derive import ENDPOINT_DISABLED, EVALUATOR_ASSIGNED, GATE_DECISION
from outbox.tables import email_opt_outs
from tracker.errors import ValidationError

CHOOSABLE = (EVALUATOR_ASSIGNED, GATE_DECISION, ENDPOINT_DISABLED)
# The kinds each role is written to (by derive.Derivation and sending.Sender): what a person's choices are about.
KINDS_FOR_ROLE = {
    "evaluator": (EVALUATOR_ASSIGNED,),
    "provider": (GATE_DECISION,),
    "admin": (ENDPOINT_DISABLED,),
}


class Preferences:
    def __init__(self, engine: Engine, writer: Engine, write_lock: object) -> None:
        self.engine = engine
        self.writer = writer
        self.write_lock = write_lock

    def of(self, person_id: UUID) -> dict[str, bool]:
        """Each choosable kind: True when the person receives it."""
        with self.engine.connect() as conn:
            off = set(conn.scalars(select(email_opt_outs.c.kind).where(email_opt_outs.c.person_id == person_id)))
        return {kind: kind not in off for kind in CHOOSABLE}

    def set(self, person_id: UUID, choices: dict[str, bool]) -> dict[str, bool]:
        """Turn kinds on (True) or off (False); kinds not named stay as they are."""
        if not choices:
            raise ValidationError("changes", f"name at least one kind of e-mail: {', '.join(CHOOSABLE)}")
        unknown = sorted(set(choices) - set(CHOOSABLE))
        if unknown:
            raise ValidationError("body", f"unknown kinds of e-mail {unknown}; the kinds are {', '.join(CHOOSABLE)}")
        with self.write_lock, self.writer.begin() as tx:  # type: ignore[attr-defined]
            for kind, on in choices.items():
                tx.execute(
                    delete(email_opt_outs).where(email_opt_outs.c.person_id == person_id, email_opt_outs.c.kind == kind)
                )
                if not on:
                    tx.execute(insert(email_opt_outs).values(person_id=person_id, kind=kind))
        return self.of(person_id)

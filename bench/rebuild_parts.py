"""Where a SQLite rebuild's time goes: each step of its batches, and its end, per event.

python -m bench.rebuild_parts [--events 137000]

Writes a portfolio of about `--events` events into a fresh SQLite store, rebuilds the read model once, and times the
steps of every batch by wrapping them: reading the events, decoding them, the audit chain's hashes, binding the
rows' values, the rest of working the rows out (the handlers), running the statements under the writer lock, and
what is left of the batch (taking the lock, checking the tracking rows, the commit); then the end (the indexes and
running counts built once, the checkpoint and ANALYZE). The wrappers themselves cost a few per cent.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Callable
from datetime import date
from functools import wraps
from typing import Any
from unittest import mock

from bench.common import fresh_store, machine, table
from bench.portfolio import Portfolio
from bootstrap import open_application
from projections import read_model as read_model_module
from projections.read_model import ReadModel
from projections.rows import Rows

# The steps timed inside a batch, and what each is called in the table.
BATCH_STEPS = {
    "_apply_batch_sqlite": "the batch",
    "_project_ahead": "working the rows out",
    "_write": "the statements, under the writer lock",
}
END_STEPS = {
    "_finish_rebuild": "the end: indexes and running counts",
    "_checkpoint": "the end: the checkpoint",
    "analyze": "the end: ANALYZE",
    "_empty": "emptying the tables",
}


def _timed(spent: Counter[str], name: str, function: Callable[..., Any], *, drain: bool = False) -> Callable[..., Any]:
    """`function`, its time added to spent[name]; with `drain`, the generator it returns is run out inside."""

    @wraps(function)
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            result = function(*args, **kwargs)
            return list(result) if drain else result
        finally:
            spent[name] += time.perf_counter() - started

    return timed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=137_000)
    args = parser.parse_args(argv)

    spent: Counter[str] = Counter()
    with fresh_store("sqlite") as url:
        app = open_application(url)
        Portfolio(app).generate(args.events)
        model = ReadModel(app, url)
        patches = [
            mock.patch.object(
                app.recorder, "select_notifications", _timed(spent, "read", app.recorder.select_notifications)
            ),
            mock.patch.object(app.mapper, "to_domain_event", _timed(spent, "decode", app.mapper.to_domain_event)),
            mock.patch.object(read_model_module, "chain", _timed(spent, "chain", read_model_module.chain, drain=True)),
            mock.patch.object(Rows, "prepare", _timed(spent, "bind", Rows.prepare)),
            *(
                mock.patch.object(ReadModel, step, _timed(spent, step, getattr(ReadModel, step)))
                for step in (*BATCH_STEPS, *END_STEPS)
            ),
        ]
        for patch in patches:
            patch.start()
        try:
            started = time.perf_counter()
            events = model.rebuild()
            total = time.perf_counter() - started
        finally:
            for patch in patches:
                patch.stop()
            model.close()
            app.close()

    ahead = spent["_project_ahead"]
    parts = {
        "reading the events": spent["read"],
        "working the rows out: decoding the events": spent["decode"],
        "working the rows out: the audit chain's hashes": spent["chain"],
        "working the rows out: binding their values": spent["bind"],
        "working the rows out: the handlers and the rest": ahead - spent["decode"] - spent["chain"] - spent["bind"],
        BATCH_STEPS["_write"]: spent["_write"],
        "the rest of the batch: the lock, the tracking rows, the commit": spent["_apply_batch_sqlite"]
        - spent["read"]
        - ahead
        - spent["_write"],
        **{label: spent[step] for step, label in END_STEPS.items()},
    }
    parts["everything else"] = total - sum(parts.values())
    print(f"\nA SQLite rebuild, part by part, {date.today().isoformat()}, {machine()}")
    print(f"{events:,} events in {total:.2f} s: {events / total:,.0f} events/s\n")
    rows = [[part, f"{seconds:.2f}", f"{seconds / events * 1e6:.1f}"] for part, seconds in parts.items()]
    print(table(["part", "s", "µs per event"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

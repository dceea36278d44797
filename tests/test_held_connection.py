"""On PostgreSQL a load reads an aggregate's snapshots and events on one pooled connection, so with one ping
(storage.postgres.HoldingDatastore); a unit of work that holds its connection gives back one that breaks, and the
next call checks out another, as the pool's ping would have made it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError

from storage.application import StoredTrackerApplication, open_application
from storage.config import StoreConfig
from storage.postgres import HoldingDatastore
from storage.schema import create_event_tables
from tests.world import World, build_world

pytestmark = pytest.mark.postgres


@pytest.fixture(params=[False, True], ids=["alone", "group-commit"])
def held(
    postgres_url: str, request: pytest.FixtureRequest
) -> Iterator[tuple[StoredTrackerApplication, HoldingDatastore, World, list[int]]]:
    """The application (without and with group commit), its datastore, a world in it, and a list to which each
    checkout from the pool adds the backend's process id."""
    create_event_tables(postgres_url)
    app = open_application(postgres_url, group_commit=request.param)
    assert isinstance(app, StoredTrackerApplication)
    datastore = app.factory.datastore  # type: ignore[attr-defined]
    assert isinstance(datastore, HoldingDatastore)
    world = build_world(app)
    checkouts: list[int] = []
    connection = datastore.pool.connection

    def counted(*args: Any, **kwargs: Any) -> Any:
        manager = connection(*args, **kwargs)

        class Counted:
            def __enter__(self) -> Any:
                conn = manager.__enter__()
                checkouts.append(conn.info.backend_pid)
                return conn

            def __exit__(self, *exc: Any) -> Any:
                return manager.__exit__(*exc)

        return Counted()

    datastore.pool.connection = counted  # type: ignore[method-assign]
    yield app, datastore, world, checkouts
    app.close()


def test_a_load_reads_on_one_connection_and_a_unit_of_work_keeps_it(held: Any) -> None:
    app, _datastore, world, checkouts = held
    innovation = world.submit()
    checkouts.clear()
    app.get_innovation(innovation)
    assert len(checkouts) == 1, "a load's snapshots and events are read on one connection"
    loads: list[Any] = []
    load = app._get

    def counted_load(*args: Any, **kwargs: Any) -> Any:
        loads.append(args)
        return load(*args, **kwargs)

    app._get = counted_load
    checkouts.clear()
    app.decide_gate(innovation, actor=world.manager, decision="hold", rationale="Waiting for the pilot data.")
    del app._get
    assert len(loads) >= 1
    assert len(checkouts) == len(loads) + 1, "one connection for each load, and one for the save (which may wait)"
    checkouts.clear()
    with app.connection_held():
        app.get_innovation(innovation)
        app.get_innovation(innovation)
    assert len(checkouts) == 1, "nested units of work share the outermost one's connection"
    checkouts.clear()
    app.get_innovation(innovation)
    app.get_innovation(innovation)
    assert len(checkouts) == 2, "outside a unit of work each call checks out on its own"


def test_a_connection_broken_inside_the_unit_of_work_is_replaced(held: Any, postgres_url: str) -> None:
    app, _datastore, world, checkouts = held
    innovation = world.submit()
    checkouts.clear()
    with app.connection_held():
        app.get_innovation(innovation)
        (first,) = checkouts
        with StoreConfig.from_url(postgres_url).connect(autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (first,))
        # The recorder tries again (storage.postgres.ATTEMPTS) on a connection checked out afresh.
        assert app.get_innovation(innovation).status == "active"
        assert app.get_innovation(innovation).status == "active"
    assert len(checkouts) == 2
    assert checkouts[1] != first
    app.decide_gate(innovation, actor=world.manager, decision="hold", rationale="Waiting.")
    assert app.get_innovation(innovation).status == "on_hold"


def test_an_error_inside_the_unit_of_work_is_the_librarys_own_and_the_next_call_works(held: Any) -> None:
    app, _datastore, world, checkouts = held
    innovation = world.submit()
    stored = app.recorder.select_events(innovation)
    checkouts.clear()
    with app.connection_held():
        with pytest.raises(IntegrityError):
            app.recorder.insert_events(stored[:1])  # its version is stored already
        assert app.get_innovation(innovation).version == len(stored)
    assert len(checkouts) == 2, "the failed call gave its connection back, and the next one checked out afresh"


def test_a_save_in_a_group_commit_holds_no_connection_while_it_waits(held: Any) -> None:
    """A save may wait for another thread's transaction, which may need a connection: the held one goes back first."""
    app, datastore, world, checkouts = held
    innovation = world.submit()
    checkouts.clear()
    with app.connection_held():
        app.get_innovation(innovation)
        app.decide_gate(innovation, actor=world.manager, decision="hold", rationale="Waiting.")
        app.get_innovation(innovation)
    if app.group_commit is None:
        assert len(checkouts) == 1, "without group commit the save stores on the held connection"
    else:
        # The load's connection, then one for the save (which goes on being held) after the first went back.
        assert len(checkouts) == 2
    assert datastore._held.checkout is None, "the scope gave its connection back"

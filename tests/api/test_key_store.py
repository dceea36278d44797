"""Creating keys while other connections write to the same SQLite file; key names per person."""

from __future__ import annotations

import pytest

from access.keys import KeyError_
from bootstrap import build_services, upgrade_database
from runtime.settings import Settings
from storage.config import StoreConfig
from tests.api.conftest import Env
from tests.sqlite_interference import a_select, another_writer


@pytest.mark.parametrize("action", ["create", "revoke"])
def test_a_key_is_created_or_revoked_when_another_connection_writes_between_its_check_and_its_write(
    sqlite_url: str, action: str
) -> None:
    settings = Settings(database_url=sqlite_url)
    upgrade_database(settings)
    services = build_services(settings)
    path = StoreConfig.from_url(sqlite_url).path
    if action == "revoke":
        _, made = services.keys.create(name="while-writing", role="analyst")
    # Right after the check (is the name taken? which key is it?), another connection writes and commits a moment
    # later, as the web process's projection thread does: the key's own write must not be the one that fails.
    try:
        with another_writer(path, a_select, services.read_model.reader, services.read_model.writer) as interfered:
            if action == "create":
                token, info = services.keys.create(name="while-writing", role="analyst")
                assert token.startswith("iet_")
                assert info.name == "while-writing"
            else:
                assert services.keys.revoke(made.id) == 1
                assert services.keys.list(include_revoked=True)[0].revoked_at is not None
    finally:
        services.close()
    assert interfered == ["database is locked"]  # the other writer waited for the key's transaction, not the reverse


def test_key_names_are_per_person_and_an_ambiguous_name_is_revoked_only_by_id(env: Env) -> None:
    services = env.app.extensions["tracker"]
    people = [
        services.people.create(actor_id="test", name=f"Person {n}", email=f"p{n}@example.org", role="analyst")
        for n in (1, 2)
    ]
    (first, first_info), (second, _) = (services.keys.create_for(person_id=p.id, name="laptop") for p in people)
    with pytest.raises(KeyError_, match="exists"):
        services.keys.create_for(person_id=people[0].id, name="laptop")
    with pytest.raises(KeyError_, match="revoke one by its id"):
        services.keys.revoke("laptop")
    assert services.keys.verify(first) is not None
    assert services.keys.revoke("laptop", person_id=people[1].id) == 1
    assert services.keys.verify(second) is None
    assert services.keys.verify(first) is not None
    assert services.keys.revoke(first_info.id) == 1
    assert services.keys.verify(first) is None
    inactive = services.people.update(people[0].id, {"active": False}, actor_id="test")
    with pytest.raises(KeyError_, match="no active person"):
        services.keys.create_for(person_id=inactive.id, name="phone")

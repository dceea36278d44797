"""The admin's directory pages over Flask's test client: registering an organisation (twice is refused) and an
ecosystem, and adding a member."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.pages.conftest import Pages, csrf_of


@pytest.fixture
def admin(pages: Pages) -> FlaskClient:
    pages.person("admin", "ada@example.org", name="Ada Adams")
    client = pages.client()
    assert pages.sign_in(client, "ada@example.org").status_code == 302
    return client


def test_registering_an_organisation_and_refusing_it_twice(pages: Pages, admin: FlaskClient) -> None:
    token = csrf_of(admin.get("/admin/organisations"))
    data = {
        "csrf_token": token,
        "name": "Vilniaus technologijų mokymo centras",
        "country": "lt",
        "kind": "vet_provider",
    }
    assert admin.post("/admin/organisations", data=data).status_code == 302
    assert pages.services.app.find_organisation_id("Vilniaus technologijų mokymo centras", "LT") is not None
    assert "Vilniaus technologijų mokymo centras" in admin.get("/admin/organisations?q=vilniaus").get_data(as_text=True)
    again = admin.post("/admin/organisations", data=data)
    assert again.status_code == 409
    assert "registered already" in again.get_data(as_text=True)
    bad = admin.post("/admin/organisations", data=data | {"country": "XX", "name": "Elsewhere"})
    assert bad.status_code == 422


def test_registering_an_ecosystem_and_adding_a_member(pages: Pages, admin: FlaskClient) -> None:
    token = csrf_of(admin.get("/admin/ecosystems"))
    made = admin.post("/admin/ecosystems", data={"csrf_token": token, "acronym": "WELD", "title": "Welding network"})
    assert made.status_code == 302
    page = admin.get(made.headers["Location"])
    assert "Welding network" in page.get_data(as_text=True)
    version = page.get_data(as_text=True).split('name="version" type="hidden" value="')[1].split('"')[0]
    added = admin.post(
        made.headers["Location"],
        data={
            "csrf_token": csrf_of(page),
            "organisation": str(pages.world.site),
            "role": "partner",
            "version": version,
        },
    )
    assert added.status_code == 302
    assert "partner" in admin.get(made.headers["Location"]).get_data(as_text=True)
    unknown = admin.post(
        made.headers["Location"],
        data={"csrf_token": csrf_of(page), "organisation": "not-an-id", "role": "partner", "version": version},
    )
    assert unknown.status_code == 422
    # Nothing is chosen at first: sent as it is, the form asks for an organisation instead of adding the first one.
    page = admin.get(made.headers["Location"])
    assert '<option value="">–</option>' in page.get_data(as_text=True)
    assert "selected" not in page.get_data(as_text=True).split('id="organisation"')[1].split("</select>")[0]
    version = page.get_data(as_text=True).split('name="version" type="hidden" value="')[1].split('"')[0]
    unchosen = admin.post(
        made.headers["Location"],
        data={"csrf_token": csrf_of(page), "organisation": "", "role": "partner", "version": version},
    )
    assert unchosen.status_code == 422
    assert "Choose an organisation." in unchosen.get_data(as_text=True)
    # One coordinator per ecosystem, said so.
    for organisation in (pages.world.owner, pages.world.member):
        page = admin.get(made.headers["Location"])
        version = page.get_data(as_text=True).split('name="version" type="hidden" value="')[1].split('"')[0]
        answer = admin.post(
            made.headers["Location"],
            data={
                "csrf_token": csrf_of(page),
                "organisation": str(organisation),
                "role": "coordinator",
                "version": version,
            },
        )
    assert answer.status_code == 409
    assert "An ecosystem has one coordinator, and this one has one already." in answer.get_data(as_text=True)


def test_only_admins_keep_the_directory(pages: Pages) -> None:
    pages.person("manager", "marta@example.org")
    client = pages.client()
    pages.sign_in(client, "marta@example.org")
    assert client.get("/admin/organisations").status_code == 403
    assert client.get("/admin/ecosystems").status_code == 403


def test_a_long_directory_pages_by_fifty(pages: Pages, admin: FlaskClient) -> None:
    for n in range(60):
        pages.services.app.register_organisation(
            actor=pages.world.manager, name=f"Paged College {n:02d}", country="LT", kind="vet_provider"
        )
    pages.services.read_model.catch_up()
    first = admin.get("/admin/organisations?q=paged").get_data(as_text=True)
    assert "Paged College 00" in first
    assert "Paged College 55" not in first
    assert 'href="/admin/organisations?page=2&amp;q=paged">Next page</a>' in first
    second = admin.get("/admin/organisations?q=paged&page=2").get_data(as_text=True)
    assert "Paged College 55" in second
    assert "Previous page" in second
    assert "Next page" not in second

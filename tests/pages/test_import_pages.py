"""The admin's imports over Flask's test client: a real CoVE file (part of ../shared/data) imported in the background,
its progress page, its summary with refused rows, and refusals of a wrong file; an import whose process stopped,
taken over by another."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from flask.testing import FlaskClient

from pages.imports import IMPORT_JOBS
from projections.clock import utc_now
from runtime.import_jobs import STALE_AFTER, ImportJobs, TakenOver, _Reporter, new_runner
from tests.pages.conftest import Pages, csrf_of, make_pages
from tests.readmodel import running_import_job, store_fails_at

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "cove-projects.json"


@pytest.fixture
def admin(pages: Pages) -> FlaskClient:
    pages.person("admin", "ada@example.org", name="Ada Adams")
    client = pages.client()
    assert pages.sign_in(client, "ada@example.org").status_code == 302
    return client


def upload(client: FlaskClient, content: bytes, filename: str, source: str = "cove", filters: str = "") -> Any:
    token = csrf_of(client.get("/admin/imports"))
    data = {"csrf_token": token, "source": source, "filters": filters, "file": (io.BytesIO(content), filename)}
    return client.post("/admin/imports", data=data, content_type="multipart/form-data")


def finished(client: FlaskClient, location: str) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        page = client.get(location).get_data(as_text=True)
        if "data-poll=" not in page:
            return page
        time.sleep(0.2)
    raise AssertionError("the import did not end within 60 s")


def test_a_cove_file_is_imported_in_the_background_with_its_summary(pages: Pages, admin: FlaskClient) -> None:
    projects = json.loads(DATA.read_text(encoding="utf-8"))[:3]
    projects.append({"acronym": "", "project_title": ""})  # a row the importer refuses, with its reason
    started = upload(admin, json.dumps(projects).encode(), "cove-part.json")
    assert started.status_code == 302
    page = finished(admin, started.headers["Location"])
    assert "Created</dt><dd>3</dd>" in page
    assert "Refused</dt><dd>1</dd>" in page
    assert "Refused rows" in page
    assert "cove-part.json" in admin.get("/admin/imports").get_data(as_text=True)
    again = finished(admin, upload(admin, json.dumps(projects).encode(), "cove-part.json").headers["Location"])
    assert "Unchanged (already here)</dt><dd>3</dd>" in again


def test_the_summary_and_a_failure_read_in_the_admins_language(pages: Pages) -> None:
    pages.person("admin", "ausra@example.org", locale="lt")
    client = pages.client()
    pages.sign_in(client, "ausra@example.org")
    projects = [*json.loads(DATA.read_text(encoding="utf-8"))[:1], {"acronym": "", "project_title": ""}]
    page = finished(client, upload(client, json.dumps(projects).encode(), "cove-part.json").headers["Location"])
    assert "projektui reikia id, acronym ir project_title" in page
    assert "a project needs" not in page
    broken = finished(client, upload(client, b"{not json", "broken.json").headers["Location"])
    assert "broken.json nėra perskaitomas JSON failas" in broken
    summary = jobs_of(pages).recent()[1]["summary"]
    assert summary["problems"][0]["code"] == "project_fields"
    assert summary["problems"][0]["reason"] == "a project needs id, acronym and project_title"


def test_a_file_that_is_not_json_fails_with_its_reason_and_imports_nothing(pages: Pages, admin: FlaskClient) -> None:
    before = pages.services.app.current_position()
    page = finished(admin, upload(admin, b"{not json", "broken.json").headers["Location"])
    assert "could not be imported" in page
    assert "not a readable JSON file" in page
    assert pages.services.app.current_position() == before


def test_a_wrong_kind_of_file_or_filter_is_refused_at_once(pages: Pages, admin: FlaskClient) -> None:
    wrong = upload(admin, b"a,b\n1,2\n", "projects.csv", source="cove")
    assert wrong.status_code == 422
    assert "takes .json files" in wrong.get_data(as_text=True)
    bad_filter = upload(admin, b"a,b\n1,2\n", "projects.csv", source="erasmus", filters="a=1\nnonsense\n=x")
    assert bad_filter.status_code == 422
    said = bad_filter.get_data(as_text=True)
    assert "Write each filter as a column, = or ~, and a value" in said
    assert "(not: nonsense; =x)" in said  # every line refused, and only those
    filtered_cove = upload(admin, b"[]", "projects.json", source="cove", filters="Key Action~mobility")
    assert filtered_cove.status_code == 422
    assert "filters apply to Erasmus+ exports only, not to a cove import" in filtered_cove.get_data(as_text=True)
    token = csrf_of(admin.get("/admin/imports"))
    missing = admin.post("/admin/imports", data={"csrf_token": token, "source": "cove"})
    assert missing.status_code == 422
    assert "Choose a file." in missing.get_data(as_text=True)


def test_a_check_of_a_file_says_what_importing_it_would_do_and_writes_nothing(pages: Pages, admin: FlaskClient) -> None:
    projects = json.loads(DATA.read_text(encoding="utf-8"))[:3]
    before = pages.services.app.current_position()
    token = csrf_of(admin.get("/admin/imports"))
    data = {
        "csrf_token": token,
        "source": "cove",
        "dry_run": "y",
        "file": (io.BytesIO(json.dumps(projects).encode()), "c.json"),
    }
    started = admin.post("/admin/imports", data=data, content_type="multipart/form-data")
    page = finished(admin, started.headers["Location"])
    assert "A check of the file: nothing was written." in page
    assert "Created</dt><dd>3</dd>" in page
    assert pages.services.app.current_position() == before
    assert "a check, nothing written" in admin.get("/admin/imports").get_data(as_text=True)


def test_a_workbook_named_in_greek_letters_is_read_as_a_workbook(pages: Pages, admin: FlaskClient) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Project Identifier", "Project Title", "Coordinating organisation name", "Coordinator's country"])
    sheet.append(["2020-1-GR01-KA202-000001", "Έργο", "Σχολή", "Greece"])
    content = io.BytesIO()
    book.save(content)
    page = finished(admin, upload(admin, content.getvalue(), "Έργα.xlsx", source="erasmus").headers["Location"])
    assert "Created</dt><dd>1</dd>" in page, page


def test_an_import_the_store_stops_keeps_its_summary_and_says_to_import_again(
    pages: Pages, admin: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_fails_at(monkeypatch, pages.services.app, 3)
    projects = json.loads(DATA.read_text(encoding="utf-8"))[:4]
    page = finished(admin, upload(admin, json.dumps(projects).encode(), "cove-part.json").headers["Location"])
    assert "The import stopped at row 3" in page
    assert "import the file again to finish" in page
    assert "nothing in it was imported" not in page
    assert "Created</dt><dd>2</dd>" in page


# ---- an import whose process stopped ------------------------------------------------------------------------------


def dead_pid() -> int:
    """The id of a process of this host that has ended."""
    ended = subprocess.Popen([sys.executable, "-c", ""])
    ended.wait()
    return ended.pid


def stopped_job(pages: Pages, tmp_path: Path, *, runner: str, updated_at: datetime, keep_file: bool = True) -> UUID:
    """A job as a process leaves it when it stops mid-import: running, its file kept, half its progress written."""
    projects = json.loads(DATA.read_text(encoding="utf-8"))[:3]
    folder = tmp_path / "upload"
    folder.mkdir()
    path = folder / "cove-part.json"
    if keep_file:
        path.write_text(json.dumps(projects), encoding="utf-8")
    person = pages.person("admin", f"{uuid4().hex[:8]}@example.org")
    return running_import_job(
        pages.services, person_id=person.id, runner=runner, path=str(path), updated_at=updated_at, done=1
    )


def jobs_of(pages: Pages) -> ImportJobs:
    found: ImportJobs = pages.app.extensions[IMPORT_JOBS]
    return found


def test_an_import_whose_process_is_gone_is_taken_over_and_finishes(
    pages: Pages, admin: FlaskClient, tmp_path: Path
) -> None:
    job_id = stopped_job(pages, tmp_path, runner=f"{socket.gethostname()}:{dead_pid()}:a1b2c3d4", updated_at=utc_now())
    assert jobs_of(pages).resume_now() == [job_id]
    page = finished(admin, f"/admin/imports/{job_id}")
    assert "Created</dt><dd>3</dd>" in page
    assert "taken over from the start by another process" in page
    assert jobs_of(pages).get(job_id)["resumed"] == 1
    assert not (tmp_path / "upload").exists(), "the kept file is removed when the job ends"
    assert jobs_of(pages).resume_now() == []


def test_a_job_nobody_heard_of_is_taken_over_by_one_process_only(pages: Pages, tmp_path: Path) -> None:
    """Another host's job, silent for longer than STALE_AFTER: of two processes looking at once, one takes it."""
    job_id = stopped_job(pages, tmp_path, runner="elsewhere:4242:0", updated_at=utc_now() - STALE_AFTER * 2)
    rivals = [ImportJobs(pages.services), ImportJobs(pages.services)]
    with ThreadPoolExecutor(2) as pool:
        taken = list(pool.map(lambda jobs: jobs.resume_now(), rivals))
    assert sorted(len(t) for t in taken) == [0, 1]
    deadline = time.monotonic() + 60
    while jobs_of(pages).get(job_id)["state"] == "running":
        assert time.monotonic() < deadline, "the import taken over did not end"
        time.sleep(0.1)
    assert jobs_of(pages).get(job_id)["summary"]["created"] == 3


def test_a_live_job_is_left_to_its_process(pages: Pages, tmp_path: Path) -> None:
    job_id = stopped_job(pages, tmp_path, runner=new_runner(), updated_at=utc_now())
    assert jobs_of(pages).resume_now() == []
    assert jobs_of(pages).get(job_id)["resumed"] == 0


def test_a_running_jobs_page_updates_its_progress_in_place_and_without_a_script_reloads_itself(
    pages: Pages, admin: FlaskClient, tmp_path: Path
) -> None:
    """No refresh that resets the reader's place: a script asks for the progress as JSON; the page's own refresh is
    only for a browser without JavaScript (in <noscript>)."""
    job_id = stopped_job(pages, tmp_path, runner=new_runner(), updated_at=utc_now())
    page = admin.get(f"/admin/imports/{job_id}").get_data(as_text=True)
    head = page.split("</head>")[0]
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in head
    script = head.split('<script src="')[1].split('"')[0]
    assert script.endswith("/import-job.js")
    served = admin.get(script)
    assert served.status_code == 200
    served.close()
    assert f'data-poll="/admin/imports/{job_id}"' in page
    assert '<span id="progress-value">33%</span>' in page
    polled = admin.get(f"/admin/imports/{job_id}", headers={"Accept": "application/json"})
    assert (polled.status_code, polled.json) == (200, {"state": "running", "percent": 33})


def test_a_stopped_job_whose_file_is_gone_says_to_import_it_again(
    pages: Pages, admin: FlaskClient, tmp_path: Path
) -> None:
    job_id = stopped_job(
        pages, tmp_path, runner=f"{socket.gethostname()}:{dead_pid()}:0", updated_at=utc_now(), keep_file=False
    )
    assert jobs_of(pages).resume_now() == []
    page = admin.get(f"/admin/imports/{job_id}").get_data(as_text=True)
    assert "stopped before it finished" in page
    assert "Import the file again" in page
    assert 'http-equiv="refresh"' not in page


def test_any_request_takes_over_a_stopped_import(pages: Pages, admin: FlaskClient, tmp_path: Path) -> None:
    job_id = stopped_job(pages, tmp_path, runner=f"{socket.gethostname()}:{dead_pid()}:0", updated_at=utc_now())
    jobs_of(pages)._checked = 0.0  # as in a process that has not looked yet
    assert admin.get("/healthz").status_code == 200
    assert "Created</dt><dd>3</dd>" in finished(admin, f"/admin/imports/{job_id}")


def test_a_run_taken_over_stops_at_its_next_report(pages: Pages, tmp_path: Path) -> None:
    job_id = stopped_job(pages, tmp_path, runner="elsewhere:1:0", updated_at=utc_now())
    with pytest.raises(TakenOver):
        _Reporter(jobs_of(pages), job_id, runner="this-one:2:0", total=3).update(3)
    assert jobs_of(pages).get(job_id)["done"] == 1


def test_an_unreachable_store_does_not_fail_the_request_that_looks_for_stopped_imports(
    pages: Pages, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    def unreachable() -> list[UUID]:
        raise OperationalError("SELECT", {}, Exception("connection refused"))

    jobs = jobs_of(pages)
    monkeypatch.setattr(jobs, "resume_now", unreachable)
    jobs._checked = 0.0
    assert pages.client().get("/healthz").status_code == 200
    assert jobs._checked > 0, "the look was made, and its failure swallowed"


def test_a_file_over_the_largest_upload_gets_the_form_again_saying_the_limit(sqlite_url: str) -> None:
    small = make_pages(sqlite_url, import_max_bytes=4096)
    try:
        small.person("admin", "ada@example.org")
        client = small.client()
        small.sign_in(client, "ada@example.org")
        answer = upload(client, b"[" + b" " * 8192 + b"]", "big.json")
        assert answer.status_code == 413
        assert answer.content_type.startswith("text/html")
        assert "The file is larger than the largest upload, 0.004 MiB." in answer.get_data(as_text=True)
    finally:
        small.services.close()


def test_the_recent_imports_say_what_each_created_and_refused(pages: Pages, admin: FlaskClient) -> None:
    projects = [*json.loads(DATA.read_text(encoding="utf-8"))[:2], {"acronym": "", "project_title": ""}]
    finished(admin, upload(admin, json.dumps(projects).encode(), "cove-part.json").headers["Location"])
    assert "done, 2 created, 1 refused" in admin.get("/admin/imports").get_data(as_text=True)


def test_a_project_that_differs_from_what_is_stored_is_shown_with_both_values(pages: Pages, admin: FlaskClient) -> None:
    projects = json.loads(DATA.read_text(encoding="utf-8"))[:1]
    finished(admin, upload(admin, json.dumps(projects).encode(), "cove-part.json").headers["Location"])
    projects[0]["project_title"] = "A title said otherwise"
    page = finished(admin, upload(admin, json.dumps(projects).encode(), "cove-part.json").headers["Location"])
    assert "Rows that differ from what is stored" in page
    assert "the file says “A title said otherwise”" in page

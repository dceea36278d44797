"""The rooms' import contracts (import-linter, run by `make lint`) are alive: a forbidden import breaks them."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import COMMANDS, main

ROOT = Path(__file__).resolve().parent.parent
ROOMS = ("tracker", "storage", "projections", "access", "importers", "runtime", "web", "api", "pages", "cli")
COPIED = (*ROOMS, "bootstrap", "bench", "soak", "tests")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(  # noqa: S603 - the project's own lint-imports, on a copy of its own tree
        [str(LINT_IMPORTS), "--config", "pyproject.toml", "--no-cache"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("module", "line", "complaint"),
    [
        ("tracker/stages.py", "import sqlite3", "tracker is not allowed to import sqlite3"),
        ("tracker/rubric.py", "import sqlalchemy", "tracker is not allowed to import sqlalchemy"),
        ("api/http.py", "import pages.dashboard", "api is not allowed to import pages"),
        ("projections/handlers.py", "import web.services", "projections is not allowed to import web"),
        ("storage/config.py", "import projections.tables", "storage is not allowed to import projections"),
    ],
)
def test_contracts_break_when_a_room_imports_across_its_wall(
    tmp_path: Path, module: str, line: str, complaint: str
) -> None:
    for room in COPIED:
        shutil.copytree(ROOT / room, tmp_path / room, ignore=shutil.ignore_patterns("__pycache__", "static"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    assert lint_imports(tmp_path).returncode == 0, "the copied tree should keep every contract before the change"
    target = tmp_path / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert complaint in result.stdout


def loaded_after(setup: str, packages: set[str]) -> list[str]:
    """Which of `packages` a fresh interpreter has loaded once it has run `setup` (the project's own code)."""
    probe = f"import sys\n{setup}\nprint(sorted({{m.split('.')[0] for m in sys.modules}} & set({sorted(packages)!r})))"
    loaded = subprocess.run(  # noqa: S603 - this interpreter, on the project's own modules
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    return ast.literal_eval(loaded.stdout.strip())


def test_the_domain_loads_no_driver_and_no_web_when_imported() -> None:
    """What import-linter cannot see: a driver reached through a sub-module of a library (eventsourcing.sqlite)."""
    modules = sorted(f"tracker.{path.stem}" for path in (ROOT / "tracker").glob("*.py") if path.stem != "__init__")
    setup = f"import importlib\nfor name in {modules!r}: importlib.import_module(name)"
    drivers_and_web = {
        "psycopg",
        "psycopg_pool",
        "sqlite3",
        "_sqlite3",
        "sqlalchemy",
        "flask",
        "werkzeug",
        "marshmallow",
    }
    assert loaded_after(setup, drivers_and_web) == []


@pytest.mark.parametrize("command", sorted(set(COMMANDS) - {"outbox"}))
def test_a_command_that_serves_no_pages_loads_no_web_app(command: str) -> None:
    """The web app is the slowest part of the tracker to import: the commands that serve no pages, the projection
    worker's among them, start without it (only the outbox's commands render e-mails with it)."""
    setup = f"from cli.main import main\nassert main.get_command(None, {command!r}) is not None"
    assert loaded_after(setup, {"flask", "flask_smorest", "api", "pages", "web"}) == []


def test_a_mistyped_command_is_answered_with_the_one_that_was_meant() -> None:
    result = CliRunner().invoke(main, ["impor"])
    assert result.exit_code == 2
    assert "Did you mean 'import'?" in result.output

"""Dependencies point inward: the domain imports no web framework, no SQL toolkit and no outer layer."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "tracker": {"api", "projections", "flask", "marshmallow", "sqlalchemy", "flask_smorest", "werkzeug", "alembic"},
    "projections": {"api", "flask", "marshmallow", "flask_smorest", "werkzeug"},
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_nothing_forbidden_when_scanned_module_by_module(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_modules(path) & FORBIDDEN[package])
        for path in (ROOT / package).rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_scanner_notices_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import flask\nfrom sqlalchemy.orm import Session\nfrom . import sibling\n")
    assert imported_modules(module) == {"flask", "sqlalchemy"}

"""The start page: each role's tasks, and the navigation every page shows."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from pages.session import signed_in

blp = Blueprint("home", __name__, template_folder="templates", static_folder="static", static_url_path="/pages/static")

# Each role's tasks: (endpoint, label, what it is for). The first ones are also the navigation.
DASHBOARD = ("dashboard.index", _l("Dashboard"), _l("The portfolio by stage, its scores and trends."))
AUDIT = ("audit.trail", _l("Audit"), _l("Who did what and when; the audit chain's head and its check."))
PORTFOLIO = (
    "manager.portfolio",
    _l("Portfolio"),
    _l("Every innovation by stage with its round's progress: assign evaluators and take the gate decisions."),
)
TASKS = {
    "admin": [
        ("admin.people", _l("People"), _l("Invite people, change their roles, deactivate or erase them, make keys.")),
        ("directory_pages.organisations", _l("Organisations"), _l("The organisations of the directory; register one.")),
        (
            "directory_pages.ecosystems",
            _l("Ecosystems"),
            _l("The ecosystems and their members; register one, add members."),
        ),
        (
            "imports_pages.imports",
            _l("Imports"),
            _l("Import CoVE and Erasmus+ files; watch an import and read its summary."),
        ),
        (
            "webhook_pages.webhooks",
            _l("Webhooks and e-mail"),
            _l("Where other systems receive the tracker's events, each delivery's attempts, and the e-mails sent."),
        ),
        PORTFOLIO,
        DASHBOARD,
        AUDIT,
    ],
    "manager": [PORTFOLIO, DASHBOARD, AUDIT],
    "analyst": [DASHBOARD, AUDIT],
    "provider": [
        ("provider.mine", _l("My innovations"), _l("Your organisation's innovations in every stage, and their pages.")),
        ("provider.submit", _l("Submit an innovation"), _l("Record a new idea for the network to test.")),
    ],
    "evaluator": [
        (
            "evaluator.my_queue",
            _l("My queue"),
            _l("The innovations waiting for your assessment, and those you assessed."),
        ),
    ],
}
ACCOUNT = ("signin.account", _l("Your account"), _l("Your password and your language."))


def tasks(role: str) -> list[tuple[str, str, str]]:
    return [*TASKS.get(role, []), ACCOUNT]


def navigation(role: str) -> list[tuple[str, str]]:
    return [("home.index", _l("Start"))] + [(endpoint, label) for endpoint, label, _ in tasks(role)]


@blp.get("/")
@login_required
def index() -> str:
    return render_template("home/index.html", tasks=tasks(signed_in().role))

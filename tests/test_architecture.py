"""The import graph between the project's apps runs one way.

    statuspage  <-  incidents  <-  website
         ^              ^            ^
         +---- notifications, checker ----+   (never each other)
                   ^
                 manage   (the Manage API v1: may import notifications and all below it)
                          ^
                        health   (reads them all; nothing imports it)

The project package (`statuspage`) names the other apps only as dotted strings in its settings,
root URLconf and Celery app, which assemble the project; none of its modules imports them, but
for its WSGI entry point, which wraps Django in the published site's fast path.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("statuspage", "incidents", "website", "notifications", "checker", "manage", "health")

# The served application is assembled here, above every app.
ENTRY_POINTS = {"statuspage/wsgi.py"}

# What each app may import, besides itself.
ALLOWED: dict[str, set[str]] = {
    "statuspage": set(),
    "incidents": {"statuspage"},
    "website": {"statuspage", "incidents"},
    "notifications": {"statuspage", "incidents", "website"},
    "checker": {"statuspage", "incidents", "website"},
    "manage": {"statuspage", "incidents", "website", "notifications"},
    "health": {"statuspage", "incidents", "website", "notifications", "checker"},
}


def _imported_apps(path: Path) -> set[tuple[str, int]]:
    """The first-party apps a module imports, anywhere in it (functions included)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[tuple[str, int]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top in APPS:
                found.add((top, node.lineno))
    return found


def _violations(app: str) -> list[str]:
    problems = []
    for path in sorted((ROOT / app).rglob("*.py")):
        if "migrations" in path.parts:
            continue  # migrations name other apps' models by label, as Django writes them
        if path.relative_to(ROOT).as_posix() in ENTRY_POINTS:
            continue
        for imported, line in sorted(_imported_apps(path)):
            if imported != app and imported not in ALLOWED[app]:
                problems.append(f"{path.relative_to(ROOT)}:{line} imports {imported}")
    return problems


@pytest.mark.parametrize("app", APPS)
def test_an_app_imports_only_the_apps_below_it(app):
    assert _violations(app) == []


def test_the_check_sees_a_forbidden_import(tmp_path, monkeypatch):
    # The check itself must be able to fail: a module of statuspage importing website is caught.
    package = tmp_path / "statuspage"
    package.mkdir()
    (package / "bad.py").write_text("def f():\n    from website.selectors import home_page\n")
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    assert _violations("statuspage") == ["statuspage/bad.py:2 imports website"]


def test_the_allowed_graph_has_no_cycle():
    seen: set[str] = set()

    def visit(app: str, path: tuple[str, ...]) -> None:
        assert app not in path, " -> ".join((*path, app))
        if app in seen:
            return
        for below in ALLOWED[app]:
            visit(below, (*path, app))
        seen.add(app)

    for app in APPS:
        visit(app, ())

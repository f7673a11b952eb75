"""Views are thin: every change goes through an action, which checks the user's right to make
it, makes it in one transaction and writes the audit record. A view that saves a model itself
bypasses all three, so no view module calls a model's writing methods."""

import ast
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
VIEW_FOLDERS = [
    "income/views",
    "tenants/views",
    "platform/console/views",
    "platform/counterfoil/views",
    "billing/views",
]
WRITING_METHODS = {
    "save", "save_m2m", "create", "delete", "update", "bulk_create", "bulk_update",
    "get_or_create", "update_or_create", "add", "remove", "clear", "set",
}  # fmt: skip
# Not models: a session is the framework's, and saved by it.
ALLOWED_RECEIVERS = {"session", "messages"}


def _view_modules() -> list[Path]:
    modules: list[Path] = []
    for folder in VIEW_FOLDERS:
        path = REPOSITORY / folder
        if path.is_dir():
            modules += [p for p in path.rglob("*.py") if "migrations" not in p.parts]
    return sorted(modules)


def _writes(module: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(module.read_text())):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in WRITING_METHODS:
            continue
        receiver = node.func.value
        name = receiver.attr if isinstance(receiver, ast.Attribute) else getattr(receiver, "id", "")
        if name in ALLOWED_RECEIVERS:
            continue
        found.append(f"{module.relative_to(REPOSITORY)}:{node.lineno} .{node.func.attr}()")
    return found


def test_there_are_view_modules_to_check():
    assert len(_view_modules()) > 20


@pytest.mark.parametrize("module", _view_modules(), ids=lambda p: str(p.relative_to(REPOSITORY)))
def test_no_view_writes_a_model_itself(module):
    assert _writes(module) == []

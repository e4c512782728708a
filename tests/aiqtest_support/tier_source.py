"""Reading a test module's source to tell, before importing it, that it holds no unit test.

``-m unit`` must not pay for importing the modules that hold none (tiers.pytest_ignore_collect). A
module is skipped only when its source shows that every test in it uses a service fixture (directly
or through the fixtures of the module and of conftest.py) or names a process or service helper, or
when it states a non-unit tier. tiers.pytest_collection_modifyitems keeps this sound: a collection
that finds a unit test in a module this reads as having none fails.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
from pathlib import Path

FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
Function = ast.FunctionDef | ast.AsyncFunctionDef


def _decorator_name(node: ast.expr) -> str:
    target = node.func if isinstance(node, ast.Call) else node
    if isinstance(target, ast.Attribute):
        return target.attr
    return target.id if isinstance(target, ast.Name) else ""


def _marks(decorators: list[ast.expr], mark: str) -> list[ast.Call]:
    found = []
    for node in decorators:
        if isinstance(node, ast.Call) and _decorator_name(node) == mark:
            found.append(node)
    return found


def _strings(call: ast.Call) -> set[str]:
    return {arg.value for arg in call.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str)}


@dataclasses.dataclass(frozen=True)
class _Fixture:
    requests: frozenset[str]
    autouse: bool


def _fixtures(tree: ast.Module) -> dict[str, _Fixture]:
    """The fixtures a module defines: name -> what they request and whether they are autouse."""
    found: dict[str, _Fixture] = {}
    for node in tree.body:
        if not isinstance(node, FUNCTIONS):
            continue
        for decorator in node.decorator_list:
            if _decorator_name(decorator) != "fixture":
                continue
            name, autouse = node.name, False
            if isinstance(decorator, ast.Call):
                for keyword in decorator.keywords:
                    if keyword.arg == "name" and isinstance(keyword.value, ast.Constant):
                        name = str(keyword.value.value)
                    if keyword.arg == "autouse" and isinstance(keyword.value, ast.Constant):
                        autouse = bool(keyword.value.value)
            found[name] = _Fixture(frozenset(_parameters(node)), autouse)
    return found


def _parameters(node: Function) -> list[str]:
    args = node.args
    return [a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs] if a.arg not in ("self", "cls")]


def _names(node: ast.AST) -> set[str]:
    names: set[str] = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            names.add(child.id)
        elif isinstance(child, ast.Attribute):
            names.add(child.attr)
    return names


@functools.cache
def _conftest_fixtures(conftest: Path) -> dict[str, _Fixture]:
    return _fixtures(ast.parse(conftest.read_text()))


def _certainly_not_unit(
    test: Function,
    fixtures: dict[str, _Fixture],
    extra: set[str],
    service_fixtures: frozenset[str],
    names: frozenset[str],
) -> bool:
    """Whether a test's fixtures reach a service fixture, or its own code names a process or service."""
    pending = set(_parameters(test)) | extra
    pending |= {name for name, fixture in fixtures.items() if fixture.autouse}
    for call in _marks(test.decorator_list, "usefixtures"):
        pending |= _strings(call)
    closure: set[str] = set()
    while pending:
        name = pending.pop()
        if name in closure:
            continue
        closure.add(name)
        if name in fixtures:
            pending |= fixtures[name].requests
    if closure & service_fixtures:
        return True
    return bool(_names(test) & names)


@functools.cache
def may_hold_unit_tests(path: Path, service_fixtures: frozenset[str], names: frozenset[str]) -> bool:
    """False only when the module's source shows that none of its tests is a unit test.

    ``service_fixtures``: fixtures whose use means the services; ``names``: names whose use in a test's
    code means a process or a service.
    """
    try:
        tree = ast.parse(path.read_text())
    except (OSError, SyntaxError, ValueError):
        return True
    for node in tree.body:  # a module-level tier: `pytestmark = pytest.mark.integration` (or a list)
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets
        ):
            return bool(_names(node.value) & {"unit"}) or not (_names(node.value) & {"integration", "e2e"})
    fixtures = {**_conftest_fixtures(path.parent / "conftest.py"), **_fixtures(tree)}
    tests: list[tuple[Function, set[str]]] = []
    for node in tree.body:
        if isinstance(node, FUNCTIONS) and node.name.startswith("test"):
            tests.append((node, set()))
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            extra = {name for call in _marks(node.decorator_list, "usefixtures") for name in _strings(call)}
            for member in node.body:
                if isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef)) and member.name.startswith(
                    "test"
                ):
                    tests.append((member, extra))
    return not tests or not all(
        _certainly_not_unit(test, fixtures, extra, service_fixtures, names) for test, extra in tests
    )

"""The scheduling library is self-contained: it imports nothing else from OpenCDMO."""

import ast
from pathlib import Path

import opencdmo.scheduling as scheduling

ROOT = Path(scheduling.__file__).parent


def test_scheduling_imports_only_itself_from_opencdmo() -> None:
    outside = []
    for path in sorted(ROOT.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            outside += [
                f"{path.name}: {n}"
                for n in names
                if n.startswith("opencdmo") and not n.startswith("opencdmo.scheduling")
            ]
    assert outside == []


def test_public_names_are_exported() -> None:
    assert sorted(scheduling.__all__) == sorted(n for n in scheduling.__all__ if hasattr(scheduling, n))
    assert {"Problem", "solve", "check", "Result", "Status", "greedy"} <= set(scheduling.__all__)

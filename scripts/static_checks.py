"""Type-check (mypy) and check import layers (import-linter) with the package's own import paths.

Static tools resolve a module from its file's place on disk and cannot follow the ``package_dir``
mapping in setup.py (``domain/x.py`` is ``aiqleads.domain.x``). This builds ``build/static/``, a tree of
real folders holding symlinks to the source files, laid out as the package is imported, runs both tools
on it, and writes their findings with the files' real paths (``domain/x.py``), so every tool names a
file the same way. The tree is a build artefact; nothing imports it at run time.

    .venv/bin/python scripts/static_checks.py
"""

from __future__ import annotations

import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TREE = ROOT / "build" / "static"


def package_dir() -> dict[str, str]:
    """The import-name → folder mapping, read from setup.py so there is one definition."""
    namespace = runpy.run_path(str(ROOT / "setup.py"), run_name="aiqleads_setup_introspection")
    return dict(namespace["package_dir"])


def build_tree(mapping: dict[str, str]) -> None:
    """Mirror each mapped folder under its import path, symlinking every Python file."""
    shutil.rmtree(TREE, ignore_errors=True)
    for name, folder in mapping.items():
        source = ROOT / folder
        target = TREE / Path(*name.split("."))
        for path in source.rglob("*.py"):
            relative = path.relative_to(source)
            if "__pycache__" in relative.parts or _mapped_elsewhere(mapping, name, relative):
                continue
            link = target / relative
            link.parent.mkdir(parents=True, exist_ok=True)
            if not link.exists():
                link.symlink_to(path)
        (target / "py.typed").parent.mkdir(parents=True, exist_ok=True)


def _mapped_elsewhere(mapping: dict[str, str], name: str, relative: Path) -> bool:
    """True when a file under ``name``'s folder belongs to a more specific mapping."""
    first = relative.parts[0] if len(relative.parts) > 1 else ""
    return bool(first) and f"{name}.{first}" in mapping


def real_paths(text: str, mapping: dict[str, str]) -> str:
    """Rewrite tree paths (``aiqleads/domain/x.py``) to source paths (``domain/x.py``)."""
    for name in sorted(mapping, key=len, reverse=True):
        text = text.replace(name.replace(".", "/") + "/", mapping[name] + "/\0")
    return text.replace("\0", "")


def run(label: str, command: list[str], mapping: dict[str, str]) -> int:
    """Run one tool inside the tree and print its output with source paths."""
    env = {**os.environ, "PYTHONPATH": str(TREE), "MYPY_FORCE_COLOR": "0"}
    result = subprocess.run(command, cwd=TREE, env=env, capture_output=True, text=True, check=False)
    output = real_paths(result.stdout + result.stderr, mapping).strip()
    print(f"[static] {label}: {'ok' if result.returncode == 0 else 'FAILED'}")
    if result.returncode != 0 or os.environ.get("AIQ_STATIC_VERBOSE"):
        print(output)
    return result.returncode


def main() -> int:
    """Build the tree, then run mypy and import-linter; non-zero if either fails."""
    mapping = package_dir()
    build_tree(mapping)
    bin_dir = Path(sys.executable).parent
    packages = [arg for name in mapping if "." not in name for arg in ("-p", name)]
    config = str(ROOT / "pyproject.toml")
    failures = run("mypy", [str(bin_dir / "mypy"), "--config-file", config, *packages], mapping)
    failures |= run(
        "import layers", [str(bin_dir / "lint-imports"), str(ROOT / ".importlinter"), "--no-cache"], mapping
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

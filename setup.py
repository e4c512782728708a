"""Packaging: each top-level source folder is one sub-package of ``aiqleads``.

The product keeps ``schema/``, ``resolvers/``, ``domain/``, ``workers/`` and ``migrations/`` at the top of
the repository, but those generic names must not be importable on their own (they would clash with
installed distributions called ``schema`` or ``domain``). ``package_dir`` maps each folder to
``aiqleads.<folder>``, so every file has exactly one import path, in the checkout (editable install) and
in an installed wheel. ``devtools/`` (local services, seeding, demo site and its data) is the separate
``aiqleads_dev`` package, which the runtime never imports.
"""

from __future__ import annotations

from setuptools import find_packages, setup

_RUNTIME = ("schema", "resolvers", "domain", "workers", "migrations")
_DATA = [
    "*.json",
    "*.csv",
    "*.html",
    "*.graphql",
    "*.txt",
    "*.gz",
    "*.mako",
    "*.ini",
    "data/*",
    "**/*.html",
    "**/*.json",
]


def _mapped(folder: str, name: str) -> tuple[list[str], dict[str, str]]:
    """Packages found under ``folder`` and the package_dir entries that map them to ``name``."""
    packages = [name] + [f"{name}.{sub}" for sub in find_packages(folder)]
    return packages, {name: folder}


packages = ["aiqleads"]
package_dir = {"aiqleads": "aiqleads"}
for folder in _RUNTIME:
    found, mapping = _mapped(folder, f"aiqleads.{folder}")
    packages += found
    package_dir.update(mapping)
found, mapping = _mapped("devtools", "aiqleads_dev")
packages += found
package_dir.update(mapping)

if __name__ == "__main__":  # setuptools runs this file as __main__; scripts/static_checks.py only reads it
    setup(packages=packages, package_dir=package_dir, package_data={"": _DATA}, include_package_data=False)

"""The shipped sample pages on disk (``pages/``: one file per page and ``manifest.json``)."""

from __future__ import annotations

import json
from pathlib import Path

PAGES_DIR = Path(__file__).resolve().parent / "pages"


def load_shipped_sites() -> tuple[dict[str, dict[str, str]], dict[str, list[str]]]:
    """The shipped sample pages (source → path → HTML) and the regions each source has pages for."""
    manifest = json.loads((PAGES_DIR / "manifest.json").read_text())
    sites = {
        source: {path: (PAGES_DIR / file).read_text(encoding="utf-8") for path, file in pages.items()}
        for source, pages in manifest["pages"].items()
    }
    return sites, manifest["regions"]

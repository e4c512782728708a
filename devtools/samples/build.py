"""Write the shipped sample pages: ``python -m aiqleads_dev.samples.build``.

Renders every page of ``site_pages()`` (the data set in ``data/samples.json``) under ``pages/<source>/``
and writes ``pages/manifest.json`` (source → URL path → file, and the regions of each source).
"""

from __future__ import annotations

import json
from pathlib import Path

from aiqleads_dev.samples.dataset import samples_for
from aiqleads_dev.samples.shipped import PAGES_DIR
from aiqleads_dev.samples.site import site_pages


def _file_name(source: str, path: str) -> str:
    path, _, query = path.partition("?")
    name = path.strip("/") or "index"
    if path.endswith("/"):
        name += "/index"
    if query:
        name += "__" + query.replace("&", "_").replace("=", "-")
    return f"{source}/{name.removesuffix('.html')}.html"


def write_samples(target: Path = PAGES_DIR) -> dict[str, dict[str, str]]:
    """Write every page under target/<source>/ and manifest.json (source → URL path → file)."""
    manifest: dict[str, dict[str, str]] = {}
    for source, pages in site_pages().items():
        manifest[source] = {}
        for path, body in sorted(pages.items()):
            name = _file_name(source, path)
            file = target / name
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text(body, encoding="utf-8")
            manifest[source][path] = name
    regions = {src: sorted(samples_for(src)) for src in manifest}
    document = {"pages": manifest, "regions": regions}
    (target / "manifest.json").write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
    return manifest


if __name__ == "__main__":
    written = write_samples()
    print(f"wrote {sum(len(p) for p in written.values())} sample pages under {PAGES_DIR}")

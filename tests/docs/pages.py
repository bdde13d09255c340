"""Which pages are documentation: README.md and every page under docs/."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
# Third-party files the reference site serves (docs/assets/vendor/): not our pages.
VENDORED = DOCS / "assets"


def pages() -> list[Path]:
    """README.md and every docs/**/*.md: a page added later is picked up by itself.

    That includes the reference site's own pages (docs/index.md, docs/reference/),
    which hold mkdocstrings directives and no Python today: an example added there
    follows the same rules and runs like any other.
    """
    found = (p for p in DOCS.rglob("*.md") if not p.is_relative_to(VENDORED))
    return [ROOT / "README.md", *sorted(found)]

"""Which pages are documentation: README.md and every docs/*.md."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def pages() -> list[Path]:
    """README.md and every docs/*.md: a page added later is picked up by itself."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

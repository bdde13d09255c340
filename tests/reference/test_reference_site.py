"""The reference site builds with --strict, offline, and shows the whole public surface.

One build per session (about five seconds): mkdocs-material with mkdocstrings over
src/, the guides in docs/ as its pages (mkdocs.yml). The build runs with every proxy
pointed at a dead loopback port, so anything that tried to download an asset (a font,
a CDN script) would fail the strict build rather than pass because this machine had a
network. The built site is then read back: nothing a page loads may come from
elsewhere.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

import pytest

ROOT = Path(__file__).resolve().parents[2]
MKDOCS = Path(sys.executable).with_name("mkdocs")
DEAD_PROXY = "http://127.0.0.1:9"
# Loaders in mkdocs-material's bundle that run only when a page needs them; none of
# these conditions holds for this site, which the tests below check.
CONDITIONAL_JS_URLS = {
    "https://unpkg.com/mermaid@11/dist/mermaid.min.js": "a page with a Mermaid diagram",
    "https://unpkg.com/resize-observer-polyfill": "a browser without ResizeObserver",
    "https://api.github.com/repos/": "repo_url set in mkdocs.yml",
    "https://api.github.com/users/": "repo_url set in mkdocs.yml",
}
EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)


def build(site_dir: Path, config: Path = ROOT / "mkdocs.yml") -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "NO_MKDOCS_2_WARNING": "1",
        **{name: DEAD_PROXY for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")},
    }
    env.pop("NO_PROXY", None)
    env.pop("no_proxy", None)
    return subprocess.run(
        [
            str(MKDOCS),
            "build",
            "--strict",
            "--config-file",
            str(config),
            "--site-dir",
            str(site_dir),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site_dir = tmp_path_factory.mktemp("site")
    done = build(site_dir)
    assert done.returncode == 0, done.stderr[-4000:]
    assert "WARNING" not in done.stderr, done.stderr[-4000:]
    assert "Downloading external file" not in done.stderr
    return site_dir


class _Loads(HTMLParser):
    """Every URL an HTML page makes the browser fetch by itself (not the links)."""

    ATTRS: ClassVar[dict[str, tuple[str, ...]]] = {
        "script": ("src",),
        "img": ("src", "srcset"),
        "iframe": ("src",),
        "source": ("src", "srcset"),
        "video": ("src", "poster"),
        "audio": ("src",),
        "embed": ("src",),
        "object": ("data",),
        "input": ("src",),
    }

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.mermaid = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        wanted = self.ATTRS.get(tag, ())
        if tag == "link" and (values.get("rel") or "") not in ("canonical", "alternate"):
            wanted = ("href",)
        self.urls += [v for name, v in attrs if name in wanted and v]
        self.urls += re.findall(r"url\(\s*['\"]?([^'\")]+)", values.get("style") or "")
        self.mermaid |= "mermaid" in (values.get("class") or "").split()


def _pages(site: Path) -> Iterator[Path]:
    yield from sorted(site.rglob("*.html"))


def test_the_site_has_every_guide_and_reference_page(site: Path) -> None:
    guides = {p.stem for p in (ROOT / "docs").glob("*.md")}
    assert guides <= {p.stem for p in site.glob("*.html")}
    reference = {p.stem for p in (ROOT / "docs" / "reference").glob("*.md")}
    assert reference == {p.stem for p in (site / "reference").glob("*.html")}
    assert (site / "search" / "search_index.js").is_file()  # searchable from file:// too


def test_nothing_a_page_loads_comes_from_elsewhere(site: Path) -> None:
    external = []
    for page in _pages(site):
        parser = _Loads()
        parser.feed(page.read_text(encoding="utf-8"))
        assert not parser.mermaid, f"{page.name} has a Mermaid diagram: its script is on a CDN"
        external += [f"{page.relative_to(site)}: {u}" for u in parser.urls if EXTERNAL.match(u)]
    assert external == []
    for sheet in site.rglob("*.css"):
        text = sheet.read_text(encoding="utf-8")
        urls = re.findall(r"url\(\s*['\"]?([^'\")]+)", text) + re.findall(
            r"@import\s+['\"]([^'\"]+)", text
        )
        assert [u for u in urls if EXTERNAL.match(u)] == [], sheet.name
    files = [p for p in site.rglob("*") if p.is_file()]
    text = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in files)
    assert "fonts.googleapis.com" not in text and "fonts.gstatic.com" not in text


def test_the_only_remote_urls_in_scripts_are_loaders_this_site_never_triggers(site: Path) -> None:
    found = set()
    for script in site.rglob("*.js"):
        for url in re.findall(r"https?://[^\s\"'`)]+", script.read_text(encoding="utf-8")):
            found.add(url)
    loaders = {u for u in found if "unpkg.com" in u or "api.github.com" in u or "cdn" in u}
    unknown = {u for u in loaders if not any(u.startswith(k) for k in CONDITIONAL_JS_URLS)}
    assert unknown == set()
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "md-source" not in index  # no repo_url: the GitHub facts loader never runs
    assert "assets/vendor/iframe-worker/shim.js" in index  # the file:// search shim, local


def test_the_reference_shows_the_public_surface(site: Path) -> None:
    client = (site / "reference" / "client.html").read_text(encoding="utf-8")
    for anchor in (
        "methodic.Chronicle.with_options",
        "methodic.namespaces.experiments.Experiments.lineage",
        "methodic.namespaces.runs.Runs.heartbeat",
    ):
        assert f'id="{anchor}"' in client, anchor
    types = (site / "reference" / "types.html").read_text(encoding="utf-8")
    for anchor in ("methodic.types.Page.to_pandas", "methodic.types.LineageResponse.to_svg"):
        assert f'id="{anchor}"' in types, anchor
    fake = (site / "reference" / "fake.html").read_text(encoding="utf-8")
    assert 'id="methodic_fake.FakeChronicle.advance"' in fake
    assert "methodic_fake (the pytest fixture)" in fake
    cli = (site / "reference" / "cli.html").read_text(encoding="utf-8")
    for command in ("methodic runs list", "methodic uploads resume", "methodic-fake serve"):
        assert f"usage: {command}" in cli, command


def test_a_dead_link_or_a_broken_cross_reference_fails_the_build(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text(
        "# t\n\n[gone](nowhere.md) and [a ref][methodic.Chronicle.no_such_method]\n"
        "and [an anchor](#no-such-heading)\n"
    )
    config = tmp_path / "mkdocs.yml"
    config.write_text(
        f"INHERIT: {ROOT / 'mkdocs.yml'}\ndocs_dir: {docs}\nnav:\n  - index.md\nhooks: []\n"
    )
    done = build(tmp_path / "site", config)
    assert done.returncode != 0
    assert "nowhere.md" in done.stderr
    assert "methodic.Chronicle.no_such_method" in done.stderr
    assert "no-such-heading" in done.stderr

"""Refuse to publish unless the release tag names exactly the package's version.

The version lives in one place, ``src/methodic/_version.py`` (hatchling reads it when
building). The publish workflow runs this before the tests with the pushed tag, and again
after building with ``--dist`` so the files about to be uploaded are checked too:

    python .ci/release/check_tag_version.py --tag methodic-lib-v0.1.0
    python .ci/release/check_tag_version.py --tag methodic-lib-v0.1.0 --dist dist

Standard library only: it runs before any dependency is installed.
"""

from __future__ import annotations

import argparse
import ast
import email.parser
import os
import re
import sys
import tarfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

TAG_PREFIX = "methodic-lib-v"
DIST_NAME = "methodic"
REPO_ROOT = Path(__file__).resolve().parents[2]
VERSION_FILE = REPO_ROOT / "src" / "methodic" / "_version.py"

# Canonical public PEP 440 versions (what a tag may carry): 1.2.3, 1.2.3rc1, 1.2.3.post1,
# 1.2.3.dev4. Anything else (leading "v", local "+abc", upper case) is rejected because
# PyPI would normalise it and the tag would no longer name the published version.
_CANONICAL_VERSION = re.compile(
    r"(?:0|[1-9]\d*)(?:\.(?:0|[1-9]\d*))*(?:(?:a|b|rc)\d+)?(?:\.post\d+)?(?:\.dev\d+)?"
)


class VersionMismatch(Exception):
    """The tag, the source version and the built files do not all agree."""


def read_source_version(version_file: Path = VERSION_FILE) -> str:
    """Read ``__version__`` from the version module without importing the package."""
    tree = ast.parse(version_file.read_text(encoding="utf-8"), filename=str(version_file))
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "__version__" for t in node.targets)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            return node.value.value
    raise VersionMismatch(f'{version_file}: no `__version__ = "..."` assignment found')


def version_from_tag(tag: str) -> str:
    """``methodic-lib-v0.1.0`` -> ``0.1.0``; anything else is an error naming the rule."""
    tag = tag.removeprefix("refs/tags/")
    if not tag.startswith(TAG_PREFIX):
        raise VersionMismatch(
            f"tag {tag!r} does not start with {TAG_PREFIX!r}; only methodic-lib-v<version> "
            "tags publish the SDK (methodic-v* is reserved for the platform)"
        )
    version = tag[len(TAG_PREFIX) :]
    if not _CANONICAL_VERSION.fullmatch(version):
        raise VersionMismatch(
            f"tag {tag!r}: {version!r} is not a canonical PEP 440 version such as 0.1.0"
        )
    return version


def check_tag(tag: str, version_file: Path = VERSION_FILE) -> str:
    """Return the version if ``tag`` names exactly the version in ``version_file``."""
    tag_version = version_from_tag(tag)
    source_version = read_source_version(version_file)
    if tag_version != source_version:
        raise VersionMismatch(
            f"tag {tag!r} says version {tag_version!r} but {version_file.name} has "
            f"__version__ = {source_version!r}; nothing was published: delete the tag, make "
            "them agree on main, and tag again (RELEASING.md)"
        )
    return tag_version


def _wheel_version(path: Path) -> str:
    with zipfile.ZipFile(path) as wheel:
        names = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
        if len(names) != 1:
            raise VersionMismatch(f"{path.name}: expected one .dist-info/METADATA")
        metadata = email.parser.BytesParser().parsebytes(wheel.read(names[0]))
    return str(metadata["Version"])


def _sdist_version(path: Path) -> str:
    with tarfile.open(path) as sdist:
        members = [m for m in sdist.getmembers() if m.name.count("/") == 1]
        pkg_info = next((m for m in members if m.name.endswith("/PKG-INFO")), None)
        extracted = sdist.extractfile(pkg_info) if pkg_info else None
        if extracted is None:
            raise VersionMismatch(f"{path.name}: no top-level PKG-INFO")
        metadata = email.parser.BytesParser().parsebytes(extracted.read())
    return str(metadata["Version"])


def check_dist(dist_dir: Path, version: str) -> list[Path]:
    """Every file in ``dist_dir`` is a methodic sdist/wheel of ``version``, by name and metadata."""
    files = sorted(p for p in dist_dir.iterdir() if p.is_file())
    wheels = [p for p in files if p.name.endswith(".whl")]
    sdists = [p for p in files if p.name.endswith(".tar.gz")]
    others = [p.name for p in files if p not in wheels and p not in sdists]
    if others:
        raise VersionMismatch(f"{dist_dir}: unexpected files would be uploaded: {others}")
    if len(sdists) != 1 or not wheels:
        raise VersionMismatch(
            f"{dist_dir}: expected one sdist and at least one wheel, found "
            f"{[p.name for p in files]}"
        )
    for path in files:
        stem = f"{DIST_NAME}-{version}"
        if not (path.name == f"{stem}.tar.gz" or path.name.startswith(f"{stem}-")):
            raise VersionMismatch(f"{path.name} is not named for {DIST_NAME} {version}")
        built = _wheel_version(path) if path in wheels else _sdist_version(path)
        if built != version:
            raise VersionMismatch(f"{path.name}: metadata says version {built!r}, not {version!r}")
    return files


def _fail(message: str) -> int:
    if os.environ.get("GITHUB_ACTIONS") == "true":
        # Surfaces on the run's summary page, not only in the step log.
        print(f"::error title=Release tag/version mismatch::{message}")
    print(f"error: {message}", file=sys.stderr)
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--tag",
        default=os.environ.get("GITHUB_REF_NAME"),
        help="the pushed tag (default: $GITHUB_REF_NAME)",
    )
    parser.add_argument("--version-file", type=Path, default=VERSION_FILE)
    parser.add_argument("--dist", type=Path, help="also check the built files in this directory")
    args = parser.parse_args(argv)
    if not args.tag:
        return _fail("no tag given (--tag or $GITHUB_REF_NAME)")
    try:
        version = check_tag(args.tag, args.version_file)
        if args.dist is not None:
            for path in check_dist(args.dist, version):
                print(f"ok: {path.name} is version {version}")
    except VersionMismatch as error:
        return _fail(str(error))
    print(f"ok: tag {args.tag} matches methodic {version}")
    output = os.environ.get("GITHUB_OUTPUT")
    if output:
        with open(output, "a", encoding="utf-8") as handle:
            handle.write(f"version={version}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The release tag must name exactly the version in src/methodic/_version.py."""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from release_tools import REPO_ROOT, TOOLS_DIR, check_tag_version

import methodic

VersionMismatch = check_tag_version.VersionMismatch


def _version_file(tmp_path: Path, version: str) -> Path:
    path = tmp_path / "_version.py"
    path.write_text(f'"""Version."""\n\n__version__ = "{version}"\n', encoding="utf-8")
    return path


def test_the_version_lives_in_one_place_and_the_package_reports_it() -> None:
    assert check_tag_version.read_source_version() == methodic.__version__
    assert check_tag_version.check_tag(f"methodic-lib-v{methodic.__version__}") == (
        methodic.__version__
    )


@pytest.mark.parametrize(
    ("tag", "version"),
    [
        ("methodic-lib-v0.1.0", "0.1.0"),
        ("refs/tags/methodic-lib-v0.1.0", "0.1.0"),
        ("methodic-lib-v2.0.0rc1", "2.0.0rc1"),
        ("methodic-lib-v1.0.0.post2", "1.0.0.post2"),
        ("methodic-lib-v1.1.dev3", "1.1.dev3"),
    ],
)
def test_version_from_tag(tag: str, version: str) -> None:
    assert check_tag_version.version_from_tag(tag) == version


@pytest.mark.parametrize(
    ("tag", "reason"),
    [
        ("methodic-v0.1.0", "reserved"),
        ("v0.1.0", "does not start with"),
        ("methodic-lib-v", "not a canonical"),
        ("methodic-lib-vv0.1.0", "not a canonical"),
        ("methodic-lib-v0.1.0+local", "not a canonical"),
        ("methodic-lib-v01.0", "not a canonical"),
        ("methodic-lib-v0.1.0-rc1", "not a canonical"),
    ],
)
def test_malformed_tags_are_rejected_with_the_rule(tag: str, reason: str) -> None:
    with pytest.raises(VersionMismatch, match=reason):
        check_tag_version.version_from_tag(tag)


def test_mismatch_names_both_versions(tmp_path: Path) -> None:
    version_file = _version_file(tmp_path, "0.2.0")
    assert check_tag_version.check_tag("methodic-lib-v0.2.0", version_file) == "0.2.0"
    with pytest.raises(VersionMismatch, match=r"'0\.1\.0'.*'0\.2\.0'"):
        check_tag_version.check_tag("methodic-lib-v0.1.0", version_file)


def test_version_file_without_a_literal_version_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "_version.py"
    path.write_text("__version__ = compute()\n", encoding="utf-8")
    with pytest.raises(VersionMismatch, match="no `__version__"):
        check_tag_version.read_source_version(path)


def test_cli_fails_loudly_with_a_github_annotation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.delenv("GITHUB_OUTPUT", raising=False)
    version_file = _version_file(tmp_path, "0.1.0")
    code = check_tag_version.main(
        ["--tag", "methodic-lib-v0.1.1", "--version-file", str(version_file)]
    )
    out, err = capsys.readouterr()
    assert code == 1
    assert out.startswith("::error title=")
    assert "'0.1.1'" in err and "'0.1.0'" in err


def test_cli_success_exports_the_version_as_a_step_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = tmp_path / "github_output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    monkeypatch.setenv("GITHUB_REF_NAME", "methodic-lib-v3.1.4")
    assert check_tag_version.main(["--version-file", str(_version_file(tmp_path, "3.1.4"))]) == 0
    assert output.read_text(encoding="utf-8") == "version=3.1.4\n"


def test_script_runs_standalone_before_dependencies_exist() -> None:
    # `python -I -S`: no site-packages at all, as on a bare runner before `make test`.
    version = check_tag_version.read_source_version()
    script = TOOLS_DIR / "check_tag_version.py"
    ok = subprocess.run(
        [sys.executable, "-I", "-S", script, "--tag", f"methodic-lib-v{version}"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run(
        [sys.executable, "-I", "-S", script, "--tag", "methodic-lib-v999.0.0"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 1
    assert "999.0.0" in bad.stderr


def _metadata(version: str) -> bytes:
    return f"Metadata-Version: 2.4\nName: methodic\nVersion: {version}\n".encode()


def _write_wheel(dist: Path, name: str, version: str) -> None:
    with zipfile.ZipFile(dist / name, "w") as wheel:
        wheel.writestr(f"methodic-{version}.dist-info/METADATA", _metadata(version))


def _write_sdist(dist: Path, name: str, version: str) -> None:
    with tarfile.open(dist / name, "w:gz") as sdist:
        data = _metadata(version)
        info = tarfile.TarInfo(f"methodic-{version}/PKG-INFO")
        info.size = len(data)
        sdist.addfile(info, io.BytesIO(data))


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    path = tmp_path / "dist"
    path.mkdir()
    _write_sdist(path, "methodic-0.1.0.tar.gz", "0.1.0")
    _write_wheel(path, "methodic-0.1.0-py3-none-any.whl", "0.1.0")
    return path


def test_built_files_of_the_tagged_version_pass(dist: Path) -> None:
    names = [p.name for p in check_tag_version.check_dist(dist, "0.1.0")]
    assert names == ["methodic-0.1.0-py3-none-any.whl", "methodic-0.1.0.tar.gz"]


def test_built_files_of_another_version_fail(dist: Path) -> None:
    with pytest.raises(VersionMismatch, match=r"not named for methodic 0\.2\.0"):
        check_tag_version.check_dist(dist, "0.2.0")


def test_file_named_right_but_built_wrong_fails(dist: Path) -> None:
    (dist / "methodic-0.1.0-py3-none-any.whl").unlink()
    _write_wheel(dist, "methodic-0.1.0-py3-none-any.whl", "0.1.0.dev0")
    with pytest.raises(VersionMismatch, match=r"metadata says version '0\.1\.0\.dev0'"):
        check_tag_version.check_dist(dist, "0.1.0")


def test_stray_or_missing_files_fail(dist: Path) -> None:
    (dist / "notes.txt").write_text("not a distribution", encoding="utf-8")
    with pytest.raises(VersionMismatch, match="unexpected files"):
        check_tag_version.check_dist(dist, "0.1.0")
    (dist / "notes.txt").unlink()
    (dist / "methodic-0.1.0.tar.gz").unlink()
    with pytest.raises(VersionMismatch, match="expected one sdist"):
        check_tag_version.check_dist(dist, "0.1.0")

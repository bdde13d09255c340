"""The static wheel/sdist rules catch the packaging mistakes they exist for."""

from __future__ import annotations

import email.message

import pytest
from release_tools import dist_inspect

V = "0.1.0"
GOOD_WHEEL = [
    "methodic/__init__.py",
    "methodic/_version.py",
    "methodic/py.typed",
    "methodic/client.py",
    "methodic/cli/__init__.py",
    "methodic_fake/__init__.py",
    "methodic_fake/py.typed",
    "methodic_fake/pytest_plugin.py",
    "methodic_fake/cli.py",
    f"methodic-{V}.dist-info/METADATA",
    f"methodic-{V}.dist-info/entry_points.txt",
    f"methodic-{V}.dist-info/licenses/LICENSE",
    f"methodic-{V}.dist-info/RECORD",
]
GOOD_ENTRY_POINTS = """\
[console_scripts]
methodic = methodic.cli:main
methodic-fake = methodic_fake.cli:main

[pytest11]
methodic_fake = methodic_fake.pytest_plugin
"""


def test_a_well_formed_wheel_has_no_content_problems() -> None:
    assert dist_inspect.wheel_content_problems(GOOD_WHEEL, V) == []


@pytest.mark.parametrize(
    "leak",
    [
        "tests/test_client.py",
        "tests/conftest.py",
        "methodic_fake/tests/test_app.py",
        "cassettes/experiments.yaml",
        "methodic/cassettes/run.yaml",
        "methodic/test_transport.py",
        "methodic/conftest.py",
        "methodic/__pycache__/client.cpython-312.pyc",
        "bench/bench_upload.py",
    ],
)
def test_leaks_into_the_wheel_are_reported(leak: str) -> None:
    problems = dist_inspect.wheel_content_problems([*GOOD_WHEEL, leak], V)
    assert problems and all(p.startswith(leak) for p in problems)


@pytest.mark.parametrize("missing", ["methodic/py.typed", "methodic_fake/py.typed"])
def test_missing_py_typed_is_reported(missing: str) -> None:
    names = [n for n in GOOD_WHEEL if n != missing]
    assert dist_inspect.wheel_content_problems(names, V) == [
        f"{missing} is missing (PEP 561 needs py.typed)"
    ]


def test_modules_named_like_tests_but_not_tests_are_fine() -> None:
    names = [*GOOD_WHEEL, "methodic_fake/testing.py", "methodic/attestation.py"]
    assert dist_inspect.wheel_content_problems(names, V) == []


def test_entry_points_must_be_declared_and_point_at_shipped_modules() -> None:
    assert dist_inspect.entry_point_problems(GOOD_ENTRY_POINTS, GOOD_WHEEL) == []
    without_cli = [n for n in GOOD_WHEEL if n != "methodic_fake/cli.py"]
    assert dist_inspect.entry_point_problems(GOOD_ENTRY_POINTS, without_cli) == [
        "entry point [console_scripts] methodic-fake = methodic_fake.cli:main: "
        "module not in the wheel"
    ]
    no_plugin = GOOD_ENTRY_POINTS.replace("methodic_fake = methodic_fake.pytest_plugin", "")
    assert dist_inspect.entry_point_problems(no_plugin, GOOD_WHEEL) == [
        "entry point [pytest11] methodic_fake is not declared"
    ]


def test_a_package_directory_satisfies_an_entry_point_module() -> None:
    names = [n for n in GOOD_WHEEL if n != "methodic_fake/cli.py"]
    names.append("methodic_fake/cli/__init__.py")
    assert dist_inspect.entry_point_problems(GOOD_ENTRY_POINTS, names) == []


def _metadata(requires: list[str], *, version: str = V) -> email.message.Message:
    message = email.message.Message()
    message["Name"] = "methodic"
    message["Version"] = version
    message["Provides-Extra"] = "fake"
    for requirement in requires:
        message["Requires-Dist"] = requirement
    return message


GOOD_REQUIRES = [
    "httpx2>=2.16",
    "pyyaml>=6.0",
    "fastapi>=0.110; extra == 'fake'",
    'uvicorn>=0.29; extra == "fake"',
    "pytest>=8; extra == 'dev'",
]


def test_web_stack_only_behind_the_fake_extra() -> None:
    assert dist_inspect.metadata_problems(_metadata(GOOD_REQUIRES), V) == []
    core_fastapi = [*GOOD_REQUIRES, "fastapi>=0.110"]
    assert dist_inspect.metadata_problems(_metadata(core_fastapi), V) == [
        "'fastapi>=0.110' is a core dependency; it belongs in [fake]"
    ]
    core_pydantic = [*GOOD_REQUIRES, "Pydantic (>=2)"]
    assert dist_inspect.metadata_problems(_metadata(core_pydantic), V) == [
        "'Pydantic (>=2)' is a core dependency; it belongs in [fake]"
    ]
    no_uvicorn = [r for r in GOOD_REQUIRES if not r.startswith("uvicorn")]
    assert dist_inspect.metadata_problems(_metadata(no_uvicorn), V) == [
        "the [fake] extra does not require uvicorn"
    ]


def test_metadata_version_must_be_the_source_version() -> None:
    problems = dist_inspect.metadata_problems(_metadata(GOOD_REQUIRES, version="0.0.1"), V)
    assert problems == ["Version is '0.0.1', want '0.1.0' (_version.py)"]


def test_sdist_must_be_self_contained_and_clean() -> None:
    root = f"methodic-{V}"
    good = [
        f"{root}/{n}"
        for n in (
            "PKG-INFO",
            "pyproject.toml",
            "README.md",
            "CHANGELOG.md",
            "src/methodic/_version.py",
            "src/methodic/py.typed",
            "src/methodic_fake/py.typed",
            "tests/conftest.py",
        )
    ]
    assert dist_inspect.sdist_content_problems(good, V) == []
    dirty = [*good, f"{root}/.venv/bin/python", f"{root}/src/methodic/__pycache__/x.pyc"]
    assert len(dist_inspect.sdist_content_problems(dirty, V)) == 2
    no_changelog = [n for n in good if not n.endswith("CHANGELOG.md")]
    assert dist_inspect.sdist_content_problems(no_changelog, V) == [
        f"{root}/CHANGELOG.md is missing from the sdist"
    ]

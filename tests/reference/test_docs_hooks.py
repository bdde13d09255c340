"""The site's own checks (.ci/docs_hooks.py): a public name without a docstring, or
without a reference page, is reported; the CLI page covers every command."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _hooks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / ".ci" / "docs_hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hooks = _hooks()


@pytest.fixture
def sample(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """A module (under the methodic_ prefix the check covers) with gaps in its docs."""
    (tmp_path / "methodic_sample.py").write_text(
        textwrap.dedent(
            '''
            """A sample module."""
            import dataclasses
            import functools

            __all__ = ["Documented", "Gappy", "Plain", "bare"]

            class Base:
                """Our base."""
                def inherited(self):
                    pass

            class Documented(Base):
                """Fine."""
                def method(self):
                    """Fine too."""

                def _private(self):
                    pass

            class Gappy(Base):
                """Some members are not."""
                def method(self):
                    pass

                @property
                def prop(self):
                    return 1

                @functools.cached_property
                def cached(self):
                    return 1

                @classmethod
                def make(cls):
                    pass

                attribute = 3

            @dataclasses.dataclass
            class Plain:
                x: int

            def bare():
                pass
            '''
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "methodic_sample", raising=False)
    return importlib.import_module("methodic_sample")


def test_every_undocumented_public_name_is_reported(sample: ModuleType) -> None:
    assert hooks.undocumented(sample, "methodic_sample") == [
        "methodic_sample.Documented.inherited",  # inherited from our own base: shown, so checked
        "methodic_sample.Gappy.method",
        "methodic_sample.Gappy.prop",
        "methodic_sample.Gappy.cached",
        "methodic_sample.Gappy.make",
        "methodic_sample.Gappy.inherited",
        "methodic_sample.Plain",  # a dataclass's generated signature is no docstring
        "methodic_sample.bare",
    ]


def test_the_real_reference_has_no_gaps() -> None:
    assert hooks.check_docstrings(ROOT / "docs" / "reference") == []


def test_a_public_name_missing_from_the_reference_is_reported(tmp_path: Path) -> None:
    (tmp_path / "errors.md").write_text("# Errors\n\n::: methodic.errors\n")
    problems = hooks.check_docstrings(tmp_path)
    assert "methodic.Chronicle is public but no page under docs/reference/ shows it" in problems
    assert "methodic_fake.FakeChronicle is public but no page under docs/reference/ shows it" in (
        problems
    )
    assert not [p for p in problems if "Error" in p.split(" ")[0]]  # the errors are covered


def test_the_cli_page_covers_every_command() -> None:
    from methodic.cli.main import build_parser

    text = hooks.cli_help("methodic.cli.main", "build_parser")
    parser = build_parser()
    groups = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    for name in groups[0].choices:
        assert f"usage: methodic {name}" in text, name
    assert "\x1b[" not in text  # no terminal colours, whatever the Python
    assert "usage: methodic-fake serve" in hooks.cli_help("methodic_fake.cli", "_parser")

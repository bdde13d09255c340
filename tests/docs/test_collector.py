"""The docs-as-tests collector itself: what it reads from a page, and that running a page
twice, in a fresh process, against a real dev server catches what a reader would hit."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from .blocks import DocsSyntaxError, python_blocks, read_page
from .devserver import DevServer
from .pages import ROOT, pages
from .test_docs import run_page

SETUP = (
    "```sh\nmethodic-fake serve\nexport CHRONICLE_BASE_URL=http://127.0.0.1:8765\n"
    "export CHRONICLE_API_KEY={key}\n```\n\n"
)
RESEARCHER = SETUP.format(key="eyJhbGciOiAiUlMyNTYi…")


def page(tmp_path: Path, text: str, name: str = "page.md") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- reading a page -------------------------------------------------------------------


def test_python_blocks_run_notest_and_other_languages_do_not(tmp_path: Path) -> None:
    path = page(
        tmp_path,
        "# t\n\n```python notest\nf(*, x)\n```\n\n" + RESEARCHER + "```python\na = 1\n```\n\n"
        "```sh\nmake test\n```\n\n```py\nb = 2\n```\n\n```\nplain\n```\n",
    )
    blocks = python_blocks(path)
    assert [(b.line, b.code.line, b.notest) for b in blocks] == [
        (3, 4, True),
        (13, 14, False),
        (21, 22, False),
    ]
    assert blocks[1].code.source == "a = 1\n"


def test_fences_are_parsed_as_commonmark(tmp_path: Path) -> None:
    path = page(
        tmp_path,
        RESEARCHER + "````markdown\n```python\nnot_a_block()\n```\n````\n\n"
        "- a list item:\n\n  ```python\n  in_list = True\n  ```\n\n~~~python\ntilde = 1\n~~~\n",
    )
    blocks = python_blocks(path)
    assert [b.code.source for b in blocks] == ["in_list = True\n", "tilde = 1\n"]
    assert [b.code.line for b in blocks] == [16, 20]


@pytest.mark.parametrize(
    ("key", "role"),
    [("sk_worker_…", "worker"), ("sk_agent_…", "agent"), ("eyJhbGciOi…", "researcher")],
)
def test_the_key_a_page_exports_is_its_audience(tmp_path: Path, key: str, role: str) -> None:
    path = page(tmp_path, SETUP.format(key=key) + "```python\nx = 1\n```\n")
    assert read_page(path).role == role


def test_only_the_setup_before_the_first_example_counts(tmp_path: Path) -> None:
    path = page(
        tmp_path,
        SETUP.format(key="sk_worker_…") + "```python\nx = 1\n```\n\n"
        "```sh\nexport CHRONICLE_API_KEY=sk_agent_…   # how a CLI user would\n```\n",
    )
    assert read_page(path).role == "worker"


def test_a_page_without_examples_needs_no_setup(tmp_path: Path) -> None:
    path = page(tmp_path, "# Signatures\n\n```python notest\nf(x)\n```\n")
    assert read_page(path).role is None and read_page(path).runnable == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (RESEARCHER + "```python no-test\nx\n```\n", "page.md:7: unknown info word(s) ['no-test']"),
        (
            "<!-- docs-setup\nrun_id = 'r1'\n-->\n" + RESEARCHER + "```python\nrun_id\n```\n",
            "page.md:1: hidden docs-setup comments are gone",
        ),
        ("```python\nx = 1\n```\n", "page.md:1: a Python block before the page's setup"),
        (
            SETUP.format(key="your-key-here") + "```python\nx = 1\n```\n",
            "page.md:1: cannot tell whose key `export CHRONICLE_API_KEY=your-key-here` is",
        ),
        (
            RESEARCHER + "text\n\n<!-- docs-check\nassert x\n-->\n",
            "page.md:9: a docs-check comment must follow a Python block",
        ),
        (
            RESEARCHER + "```python\nx = 1\n```\n\ntext\n\n<!-- docs-check\nassert x\n-->\n",
            "page.md:13: a docs-check comment must follow a Python block",
        ),
        (
            RESEARCHER + "```python\nx = 1\n```\n<!-- docs-check assert x -->\n",
            "page.md:10: write the comment as '<!-- docs-check'",
        ),
    ],
    ids=[
        "typo",
        "hidden-setup",
        "no-setup",
        "unknown-key",
        "check-alone",
        "check-after-text",
        "check-one-line",
    ],
)
def test_mistakes_are_errors_naming_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(DocsSyntaxError, match=re.escape(message)):
        read_page(page(tmp_path, text))


def test_every_page_is_collected() -> None:
    docs = ROOT / "docs"
    assert pages()[0] == ROOT / "README.md"
    # The reference site's pages too (docs/index.md, docs/reference/): they hold no
    # Python today, but an example added there must follow the rules and run.
    assert {docs / "index.md", docs / "reference" / "client.md"} <= set(pages())
    vendored = {p for p in docs.rglob("*.md") if p.is_relative_to(docs / "assets")}
    assert vendored  # docs/assets/vendor/: third-party files the site serves, not pages
    assert set(pages()[1:]) == set(docs.rglob("*.md")) - vendored


# --- running a page, as the docs tests do ---------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    with DevServer(tmp_path_factory.mktemp("collector-fake")) as dev:
        yield dev


def twice(path: Path, server: DevServer, workdir: Path) -> list[tuple[int, str]]:
    """(exit status, stderr) of two runs of the page against `server`, as the docs test runs."""
    role = read_page(path).role
    assert role is not None
    outcomes = []
    for _ in range(2):
        done = run_page(path, server, role, workdir)
        outcomes.append((done.returncode, done.stderr + done.stdout))
    return outcomes


def test_a_hidden_name_fails_the_page(server: DevServer, tmp_path: Path) -> None:
    # `run_id` is what the old hidden docs-setup comments supplied: a reader has none.
    path = page(
        tmp_path,
        RESEARCHER + "```python\nfrom methodic import Chronicle, Run\n\n"
        "run = Run(Chronicle(), run_id)\n```\n",
    )
    [(code, out), _] = twice(path, server, tmp_path / "work")
    assert code == 1
    assert f"{path}:7: this block failed" in out
    assert f'File "{path}", line 10' in out
    assert "NameError: name 'run_id' is not defined" in out


def test_an_example_that_only_works_once_fails_its_second_run(
    server: DevServer, tmp_path: Path
) -> None:
    # The fixed idempotency key hands the second run the experiment the first committed.
    path = page(
        tmp_path,
        RESEARCHER + "```python\nfrom methodic import Chronicle\n\nchronicle = Chronicle()\n"
        'exp = chronicle.experiments.create("warmup study", idempotency_key="warmup-1")\n'
        "chronicle.experiments.commit(exp.id)\n```\n",
    )
    [(first, _), (second, out)] = twice(path, server, tmp_path / "work")
    assert first == 0
    assert second == 1
    assert f'File "{path}", line 12' in out
    assert "ConflictError: 409 Conflict: cannot commit experiment" in out


def test_the_same_example_with_a_key_per_run_passes_twice(
    server: DevServer, tmp_path: Path
) -> None:
    path = page(
        tmp_path,
        RESEARCHER + "```python\nimport uuid\n\nfrom methodic import Chronicle\n\n"
        "chronicle = Chronicle()\nkey = f'warmup-{uuid.uuid4()}'\n"
        'exp = chronicle.experiments.create("warmup study", idempotency_key=key)\n'
        "chronicle.experiments.commit(exp.id)\n```\n",
    )
    assert twice(path, server, tmp_path / "work") == [(0, ""), (0, "")]


def test_blocks_share_one_namespace_and_checks_cannot_add_to_it(
    server: DevServer, tmp_path: Path
) -> None:
    path = page(
        tmp_path,
        RESEARCHER + "```python\nseen = ['a']\n```\n<!-- docs-check\nassert seen == ['a']\n"
        "helper = 'from a check'\n-->\n\n```python\nseen.append('b')\nhelper\n```\n",
    )
    [(code, out), _] = twice(path, server, tmp_path / "work")
    assert code == 1
    assert f"{path}:15: this block failed" in out
    assert "NameError: name 'helper' is not defined" in out


def test_a_failed_check_points_at_its_line_with_the_values(
    server: DevServer, tmp_path: Path
) -> None:
    path = page(
        tmp_path,
        RESEARCHER + "```python\nstate = 'draft'\n```\n<!-- docs-check\n"
        "assert state == 'committed'\n-->\n",
    )
    [(code, out), _] = twice(path, server, tmp_path / "work")
    assert code == 1
    assert f'File "{path}", line 11' in out
    assert "AssertionError: assert 'draft' == 'committed'" in out


def test_tests_a_block_defines_run_under_pytest_with_fixtures(
    server: DevServer, tmp_path: Path
) -> None:
    path = page(
        tmp_path,
        RESEARCHER
        + "```python\nLIMIT = 2\n\n\ndef helper_not_a_test():\n    raise AssertionError\n\n\n"
        "def test_uses_the_fixture(methodic_fake, tmp_path):\n"
        "    assert methodic_fake.client().experiments.list(limit=LIMIT).items == []\n\n\n"
        "def test_that_fails():\n    assert LIMIT == 3\n```\n",
    )
    [(code, out), _] = twice(path, server, tmp_path / "work")
    assert code == 1
    assert "1 failed, 1 passed" in out
    assert "test_that_fails" in out and "helper_not_a_test" not in out.split("short test")[0]


def test_a_block_after_which_methodic_warned_fails(server: DevServer, tmp_path: Path) -> None:
    path = page(
        tmp_path,
        RESEARCHER + "```python\nimport logging\n\n"
        "logging.getLogger('methodic').warning('heartbeat for run r failed: 503')\n```\n",
    )
    [(code, out), _] = twice(path, server, tmp_path / "work")
    assert code == 1
    assert "methodic logged problems: ['WARNING: heartbeat for run r failed: 503']" in out

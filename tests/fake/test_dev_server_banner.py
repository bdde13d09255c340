"""The banner of `methodic-fake serve`: one labelled block of exports per audience, ready
to paste into a shell, each giving exactly the rights its label promises."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest

from docs.devserver import DevServer  # `methodic-fake serve` as a reader starts it

RESEARCHER_LABEL = "For a researcher session"
WORKER_LABEL = "For a worker"


@pytest.fixture(scope="module")
def banner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with DevServer(tmp_path_factory.mktemp("banner-data")) as server:
        yield server.output


def exports(banner: str, label: str) -> str:
    """The `export` lines right under the line starting with `label`."""
    block = banner.split(label, 1)[1].split("\n")
    start = next(i for i, line in enumerate(block) if line.strip().startswith("export "))
    pasted = []
    for line in block[start:]:
        if not line.strip().startswith("export "):
            break
        pasted.append(line.strip())
    return "\n".join(pasted)


def in_a_shell(pasted: str, code: str) -> subprocess.CompletedProcess[str]:
    """Paste the lines into a fresh shell (no CHRONICLE_* inherited), then run `code`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHRONICLE_")}
    script = f'{pasted}\nexec {sys.executable} -c "$0"'
    return subprocess.run(
        ["bash", "-c", script, code], env=env, capture_output=True, text=True, timeout=60
    )


def test_each_audience_gets_labelled_exports(banner: str) -> None:
    researcher, worker = exports(banner, RESEARCHER_LABEL), exports(banner, WORKER_LABEL)
    url = re.search(r"serving at (\S+)", banner).group(1)  # type: ignore[union-attr]
    assert (
        researcher.splitlines()[0] == worker.splitlines()[0] == f"export CHRONICLE_BASE_URL={url}"
    )
    token = re.search(r"researcher token:\s+(\S+)", banner).group(1)  # type: ignore[union-attr]
    key = re.search(r"worker key:\s+(\S+)", banner).group(1)  # type: ignore[union-attr]
    assert researcher.splitlines()[1] == f"export CHRONICLE_API_KEY={token}"
    assert worker.splitlines()[1] == f"export CHRONICLE_API_KEY={key}"
    # The worker's label says what it may not do, so nobody pastes it into a notebook.
    worker_label = banner.split(WORKER_LABEL, 1)[1].split("export", 1)[0]
    assert "may not create experiments, variations" in " ".join(worker_label.split())


def test_the_pasted_exports_have_the_rights_their_label_says(banner: str) -> None:
    researcher, worker = exports(banner, RESEARCHER_LABEL), exports(banner, WORKER_LABEL)
    created = in_a_shell(
        researcher,
        "from methodic import Chronicle\n"
        "c = Chronicle()\n"
        "e = c.experiments.create('pasted from the banner')\n"
        "c.experiments.commit(e.id)\n"
        "v = c.variations.create(e.id, config={'lr': 0.1})\n"
        "print(c.runs.create(v.id).id)\n",
    )
    assert created.returncode == 0, created.stderr
    run_id = created.stdout.strip()

    refused = in_a_shell(
        worker, "from methodic import Chronicle\nChronicle().experiments.create('no')\n"
    )
    assert refused.returncode == 1
    assert "PermissionDeniedError: 403 Forbidden: a worker key may not create experiments" in (
        refused.stderr
    )
    ran = in_a_shell(
        worker,
        "from methodic import Chronicle, Run\n"
        f"Run(Chronicle(), {run_id!r}).start().heartbeat({{'step': 1}}).succeed()\n",
    )
    assert ran.returncode == 0, ran.stderr


def test_the_python_line_drives_this_server(banner: str) -> None:
    line = banner.split("queue faults from Python", 1)[1].splitlines()[1].strip()
    moved = in_a_shell(
        exports(banner, WORKER_LABEL),
        f"{line}\nbefore = fake.now()\nfake.advance(minutes=5)\nassert fake.now() - before >= 300\n",
    )
    assert moved.returncode == 0, moved.stderr

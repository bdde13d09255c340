"""README.md's "Runners" snippet, run as a new user would: its text, in a fresh process.

Only ``run_id`` is filled in (the README takes it from the researcher's block above,
as a scheduler would pass it); the fake
is reached over a real loopback socket (the ``methodic_fake`` fixture's uvicorn
server). The snippet the README showed before ``lifecycle()`` (heartbeating entered
before ``start()``) is kept here verbatim: it failed every run, and must not again.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from methodic.tracker import UploadTracker

from .conftest import new_run_id, wait_until

if TYPE_CHECKING:
    from methodic import Chronicle
    from methodic_fake.harness import FakeChronicle

README = Path(__file__).resolve().parents[2] / "README.md"
TRIALS = 10

OLD_SNIPPET = """\
from methodic import Chronicle, Run

with Chronicle() as chronicle:
    run = Run(chronicle, run_id)
    config = run.get_variation_config().config_json
    with run.fail_on_crash(), run.heartbeating(interval=60):
        run.start()
        run.resume_uploads()                          # finish what a killed predecessor left
        run.download_checkpoint("resume/")            # None on a fresh start
        ...                                           # train
        run.register_and_upload_async("checkpoint", "step-1000", {"model.bin": "out/model.bin"})
        run.succeed()                                 # waits for background uploads first
"""


def readme_runner_snippet() -> str:
    """The runner of README.md's "## Runners" section (its `lifecycle()` block), as written."""
    text = README.read_text()
    section = text.split("\n## Runners\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```python[^\n]*\n(.*?)^```", section, re.S | re.M)
    runners = [block for block in blocks if ".lifecycle(" in block]
    assert len(runners) == 1, "expected one lifecycle() block in README.md's Runners section"
    return runners[0]


class Runner:
    """Runs a snippet in a child process, in its own working directory and cache."""

    def __init__(self, fake: FakeChronicle, workdir: Path, snippet: str) -> None:
        self.fake = fake
        self.workdir = workdir
        self.snippet = snippet
        self.model = workdir / "out" / "model.bin"
        self.model.parent.mkdir(parents=True, exist_ok=True)
        self.model.write_bytes(os.urandom(3 << 20))  # the README's runner writes its own
        self.env = dict(os.environ)
        self.env.update(
            CHRONICLE_BASE_URL=fake.base_url,
            CHRONICLE_API_KEY=fake.worker_key,
            XDG_CACHE_HOME=str(workdir / "cache"),
        )
        # The methodic_fake fixture points the default journal at its own temp file;
        # this runner's default journal is the one under its XDG cache.
        self.env.pop("METHODIC_TRACKER_PATH", None)

    def spawn(self, run_id: str) -> subprocess.Popen[str]:
        code = f"run_id = {run_id!r}\n" + self.snippet
        return subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=self.workdir,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run(self, run_id: str) -> tuple[int, str]:
        child = self.spawn(run_id)
        _, err = child.communicate(timeout=120)
        return child.returncode, err

    @property
    def sha256(self) -> str:
        """Of the checkpoint file as the runner left it."""
        return hashlib.sha256(self.model.read_bytes()).hexdigest()

    def journal_is_empty(self) -> bool:
        path = self.workdir / "cache" / "methodic" / "uploads.sqlite3"
        if not path.exists():
            return True
        with UploadTracker(path) as tracker:
            return tracker.incomplete() == []


def _outcome(researcher: Chronicle, runner: Runner, run_id: str, code: int, err: str) -> str:
    run = researcher.runs.get(run_id)
    if code != 0 or run.state != "succeeded":
        return f"exit {code}, run {run.state} ({run.failure_message}): {err[-800:]}"
    checkpoints = [a for a in researcher.assets.list(run_id=run_id) if a.kind == "checkpoint"]
    if [(a.state, [c.sha256 for c in a.components]) for a in checkpoints] != [
        ("ready", [runner.sha256])
    ]:
        return f"checkpoints: {checkpoints}"
    if not runner.journal_is_empty():
        return "the journal still holds uploads"
    return "ok"


@pytest.mark.parametrize("form", ["readme", "old order"])
def test_the_runners_snippet_succeeds_every_time(
    fake: FakeChronicle, researcher: Chronicle, tmp_path: Path, form: str
) -> None:
    snippet = readme_runner_snippet() if form == "readme" else OLD_SNIPPET
    outcomes = []
    for trial in range(TRIALS):
        runner = Runner(fake, tmp_path / f"trial-{trial}", snippet)
        run_id = new_run_id(fake)
        code, err = runner.run(run_id)
        outcomes.append(_outcome(researcher, runner, run_id, code, err))
    assert outcomes == ["ok"] * TRIALS


def test_the_readme_form_leads_with_lifecycle() -> None:
    snippet = readme_runner_snippet()
    assert ".lifecycle(" in snippet and ".start()" not in snippet


def test_sigkill_mid_upload_then_restart_with_the_same_run_id(
    fake: FakeChronicle, researcher: Chronicle, tmp_path: Path
) -> None:
    runner = Runner(fake, tmp_path, readme_runner_snippet())
    run_id = new_run_id(fake)
    # Slow storage holds the checkpoint's PUT open: the kill lands inside it.
    fake.faults.add("storage.put", "latency", seconds=5)

    first = runner.spawn(run_id)
    try:
        wait_until(lambda: len(list(researcher.assets.list(run_id=run_id))) == 1, timeout=60)
        time.sleep(0.5)
        first.send_signal(signal.SIGKILL)
        assert first.wait(timeout=30) == -signal.SIGKILL
    finally:
        first.kill()
        first.communicate()
    [pending] = researcher.assets.list(run_id=run_id)
    assert pending.state == "pending" and researcher.runs.get(run_id).state == "running"
    assert not runner.journal_is_empty()
    fake.faults.clear()

    code, err = runner.run(run_id)  # the scheduler restarts it: same run id, same snippet

    assert _outcome(researcher, runner, run_id, code, err) == "ok"
    [asset] = researcher.assets.list(run_id=run_id)
    assert asset.id == pending.id  # finished, not uploaded a second time

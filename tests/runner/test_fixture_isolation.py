"""A downstream suite using the ``methodic_fake`` fixture writes nothing under $HOME.

The default upload journal lives under ``~/.cache``; the fixture points it at a
per-test temporary file (``METHODIC_TRACKER_PATH``) and restores the variable after.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

DOWNSTREAM_TEST = """
import os
from pathlib import Path

from methodic import Chronicle, Run


def test_a_runner_uploads_through_a_plain_run(methodic_fake, tmp_path):
    researcher = methodic_fake.client("researcher")
    exp = researcher.experiments.create("downstream")
    researcher.experiments.commit(exp.id)
    variation = researcher.variations.create(exp.id, config={"lr": 0.1})
    run_id = researcher.runs.create(variation.id).id

    weights = tmp_path / "weights.bin"
    weights.write_bytes(os.urandom(50_000))
    run = Run(Chronicle(), run_id).start()
    run.upload_asset("checkpoint", "step-1", {"weights.bin": weights})
    run.register_and_upload_async("checkpoint", "step-2", {"weights.bin": weights})
    run.succeed()
    assert run.state == "succeeded"
    journal = Path(os.environ["METHODIC_TRACKER_PATH"])
    assert journal.exists() and not journal.is_relative_to(Path.home())


def test_the_journal_is_per_test(methodic_fake):
    assert not Path(os.environ["METHODIC_TRACKER_PATH"]).exists()


def test_the_variable_is_restored_after_the_fixture():
    assert "METHODIC_TRACKER_PATH" not in os.environ
"""


def test_a_downstream_suite_writes_nothing_under_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    suite = tmp_path / "downstream"
    suite.mkdir()
    (suite / "test_runner.py").write_text(textwrap.dedent(DOWNSTREAM_TEST))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "METHODIC_"))}
    env.pop("XDG_CACHE_HOME", None)
    env["HOME"] = str(home)

    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_runner.py"],
        cwd=suite,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout
    assert sorted(home.rglob("*")) == []

"""examples/researcher.ipynb runs top to bottom against the fake, and is kept stripped.

Executed with nbclient on a real IPython kernel (ipykernel), as a researcher would run
it: once pointed at a fake through CHRONICLE_BASE_URL / CHRONICLE_API_KEY, once with
nothing configured (the notebook then starts its own fake). Jupyter's and IPython's
state directories go to the test's temporary directory, never to $HOME.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from methodic import Chronicle
from methodic_fake import FakeChronicle

NOTEBOOK = Path(__file__).with_name("researcher.ipynb")
STRIP = (
    ".venv/bin/python -c \"import nbformat as n; p='examples/researcher.ipynb'; "
    "b=n.read(p, 4); [c.update(outputs=[], execution_count=None) for c in b.cells "
    "if c.cell_type == 'code']; n.write(b, p)\""
)


def _outputs(cell: Any) -> str:
    """Everything a cell showed, text and HTML, as one string."""
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        for value in output.get("data", {}).values():
            parts.append(value if isinstance(value, str) else str(value))
    return "\n".join(parts)


def _cell(notebook: Any, starts_with: str) -> Any:
    [cell] = [
        c for c in notebook.cells if c.cell_type == "code" and c.source.startswith(starts_with)
    ]
    return cell


def test_the_committed_notebook_carries_no_outputs() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert code
    dirty = [i for i, c in enumerate(code) if c.outputs or c.execution_count is not None]
    assert dirty == [], f"strip the outputs before committing: {STRIP}"
    assert "widgets" not in notebook.metadata


@pytest.mark.parametrize("configured", [True, False], ids=["CHRONICLE_BASE_URL", "own-fake"])
def test_the_notebook_runs_against_the_fake(
    configured: bool,
    methodic_fake: FakeChronicle,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    for name in ("JUPYTER_RUNTIME_DIR", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "IPYTHONDIR"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    if configured:  # a researcher's token, as a notebook would have
        monkeypatch.setenv("CHRONICLE_API_KEY", methodic_fake.researcher_token)
    else:
        monkeypatch.delenv("CHRONICLE_BASE_URL")
        monkeypatch.delenv("CHRONICLE_API_KEY")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()  # raises CellExecutionError, with the cell and traceback, on failure

    assert "not fetched yet" in _outputs(_cell(notebook, "handle = Experiment("))
    cached = _outputs(_cell(notebook, "state = handle.state"))
    assert "cached: the last response" in cached and "warmup sweep" in cached
    page = _outputs(_cell(notebook, "chronicle.experiments.list("))
    assert "Page of 2 Experiments; more on the server" in page
    # Newest first: the two experiments made last, not the baseline made first.
    assert "longer warmup" in page and "warmup sweep" in page and "baseline" not in page
    lineage = _outputs(_cell(notebook, "exp.lineage()"))
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="lineage"' in lineage
    assert lineage.count('class="node ') == 3
    runs = _outputs(_cell(notebook, "runs = chronicle.runs.list("))
    assert "progress.loss" in runs and "loss diverged" not in runs  # the columns asked for
    assert "heartbeat_timeout" not in runs
    by_lr = _outputs(_cell(notebook, "configs = "))
    assert "lr=0.0003" in by_lr and "0.42" in by_lr
    hits = _outputs(_cell(notebook, "chronicle.assets.create_inline("))
    assert "Warmup findings" in hits and "research_report" in hits  # a hit's type: its kind

    if configured:  # what it made is on the fake the test owns
        researcher: Chronicle = methodic_fake.client("researcher")
        titles = sorted(e.title for e in researcher.experiments.list())
        assert titles == ["baseline", "longer warmup", "warmup sweep"]
        states = sorted(r.state for r in researcher.runs.list())
        assert states == ["failed", "succeeded", "succeeded"]

"""``to_pandas()``: list pages (every page, lazily, up to a limit) and search results."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field

import pandas as pd
import pytest

from methodic import Chronicle, Experiment, types
from methodic_fake import FakeChronicle


@dataclass
class World:
    researcher: Chronicle
    worker: Chronicle
    exp_id: str
    variation_id: str
    sent: list[str] = field(default_factory=list)


@pytest.fixture
def world() -> Iterator[World]:
    with FakeChronicle.in_process() as fake:
        researcher = fake.client("researcher")
        exp = researcher.experiments.create("frames", tags=["t"])
        researcher.experiments.commit(exp.id)
        variation = researcher.variations.create(
            exp.id, config={"lr": 0.1, "optimizer": {"name": "adam", "betas": [0.9, 0.99]}}
        )
        w = World(researcher, fake.client("worker"), exp.id, variation.id)
        http = researcher.transport.http_client
        http.event_hooks = {"request": [lambda r: w.sent.append(f"{r.method} {r.url.path}")]}
        yield w


def _runs(w: World, n: int) -> list[str]:
    ids = []
    for i in range(n):
        run = w.researcher.runs.create(w.variation_id)
        ids.append(run.id)
        if i % 2 == 0:
            w.worker.runs.start(run.id)
            w.worker.runs.heartbeat(
                run.id, progress={"step": 10 * i, "loss": 1 / (i + 1), "eval": {"acc": 0.5}}
            )
    return ids


def test_runs_with_nested_progress_become_dotted_columns_and_utc_datetimes(world: World) -> None:
    _runs(world, 3)
    df = world.researcher.runs.list(experiment_id=world.exp_id).to_pandas()
    assert list(df.columns) == [
        "id",
        "variation_id",
        "experiment_id",
        "state",
        "created_at",
        "failure_reason",
        "failure_message",
        "progress.step",
        "progress.loss",
        "progress.eval.acc",
        "resume_from_run_id",
        "started_at",
        "last_heartbeat_at",
        "finished_at",
    ]
    assert len(df) == 3
    for column in ("created_at", "started_at", "last_heartbeat_at", "finished_at"):
        dtype = df[column].dtype
        assert isinstance(dtype, pd.DatetimeTZDtype), column
        assert str(dtype.tz) == "UTC" and dtype.unit == "us", column
    assert df["finished_at"].isna().all()
    assert pd.api.types.is_float_dtype(df["progress.loss"])
    running = df[df.state == "running"].sort_values("progress.step")
    assert list(running["progress.step"]) == [0, 20]
    assert list(running["progress.eval.acc"]) == [0.5, 0.5]
    assert df[df.state == "pending"]["progress.step"].isna().all()
    assert (df["created_at"] <= pd.Timestamp.now(tz="UTC")).all()


def test_every_page_is_fetched_lazily_up_to_the_limit(world: World) -> None:
    _runs(world, 5)
    page = world.researcher.runs.list(experiment_id=world.exp_id, limit=2)
    world.sent.clear()
    assert len(page.to_pandas(limit=3)) == 3
    assert world.sent == ["GET /runs"]  # the second page; the first was already here
    world.sent.clear()
    assert len(page.to_pandas()) == 5
    assert world.sent == ["GET /runs", "GET /runs"]
    assert page.to_pandas(limit=0).empty
    with pytest.raises(ValueError, match="limit"):
        page.to_pandas(limit=-1)


def test_json_object_fields_never_show_as_one_column(world: World) -> None:
    world.researcher.runs.create(world.variation_id)  # pending: no progress at all
    df = world.researcher.runs.list().to_pandas()
    assert "progress" not in df.columns and "environment" not in df.columns
    assert not [c for c in df.columns if c.startswith("progress.")]


def test_an_empty_page_still_has_the_columns(world: World) -> None:
    df = world.researcher.runs.list(state="failed").to_pandas()
    assert df.empty
    assert {"id", "state", "created_at", "finished_at"} <= set(df.columns)
    assert isinstance(df["created_at"].dtype, pd.DatetimeTZDtype)
    handles = Experiment(world.researcher, world.exp_id)
    world.researcher.experiments.create("empty", tags=["none"])
    assert list(world.researcher.experiments.list(tag="nope").to_pandas().columns)[:3] == [
        "id",
        "title",
        "state",
    ]
    assert len(handles.variations.list().to_pandas()) == 1


def test_a_page_of_handles_flattens_their_data(world: World) -> None:
    exp = Experiment(world.researcher, world.exp_id)
    df = exp.variations.list().to_pandas()
    assert list(df.columns) == [
        "id",
        "experiment_id",
        "created_at",
        "name",
        "config_yaml",
        "config_json.lr",
        "config_json.optimizer.name",
        "config_json.optimizer.betas",
    ]  # accelerate_config_json and launch_config are unset: no columns
    assert df.loc[0, "config_json.lr"] == 0.1
    assert df.loc[0, "config_json.optimizer.betas"] == [0.9, 0.99]  # lists stay lists


def test_experiments_keep_lists_and_assets_flatten_metadata(world: World) -> None:
    r = world.researcher
    r.assets.create_inline(
        kind="research_report",
        name="notes",
        content="warmup",
        experiment_id=world.exp_id,
        metadata={"author": "ada", "review": {"score": 4}},
    )
    exps = r.experiments.list().to_pandas()
    assert exps.loc[0, "tags"] == ["t"]
    assets = r.assets.list(experiment_id=world.exp_id).to_pandas()
    assert assets.loc[0, "metadata.author"] == "ada"
    assert assets.loc[0, "metadata.review.score"] == 4
    assert assets.loc[0, "components"][0]["name"] == "content"


def test_search_results_one_row_per_hit_in_order(world: World) -> None:
    r = world.researcher
    for name, text in [("a", "warmup warmup warmup"), ("b", "warmup once, then decay")]:
        r.assets.create_inline(
            kind="research_report", name=name, content=text, experiment_id=world.exp_id
        )
    response = r.search.query("warmup")
    df = response.to_pandas()
    assert list(df.columns) == [
        "type",
        "id",
        "title",
        "score",
        "snippet",
        "asset_id",
        "experiment_id",
    ]
    assert list(df["id"]) == [hit.id for hit in response.results]
    assert df["score"].is_monotonic_decreasing
    assert types.SearchResponse("q", 0, []).to_pandas().columns[0] == "type"


def test_without_pandas_the_error_names_the_extra() -> None:
    # pandas stays installed: a meta-path hook makes it unimportable in a child process.
    code = textwrap.dedent(
        """
        import sys

        class NoPandas:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == "pandas":
                    raise ImportError(f"No module named {name!r}")
                return None

        sys.meta_path.insert(0, NoPandas())
        from methodic import types

        page = types.Page.from_dict({"items": [], "next_cursor": None}, types.Run)
        page._repr_html_(), repr(page)  # display needs no pandas
        for call in (page.to_pandas, types.SearchResponse("q", 0, []).to_pandas):
            try:
                call()
            except ImportError as err:
                print(err, "|", err.name)
            else:
                raise SystemExit("no ImportError")
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines == ["to_pandas() needs pandas: pip install 'methodic[pandas]' | pandas"] * 2

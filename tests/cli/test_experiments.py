"""`methodic experiments ...`: list, show, create and the transitions, human and --json."""

from __future__ import annotations

from methodic import Chronicle

from .conftest import CLI, World, fields_of

MISSING = "00000000-0000-0000-0000-000000000000"


def test_list_is_a_table_with_whole_ids_and_json_lists_items(cli: CLI, world: World) -> None:
    out = cli("experiments", "list").ok().out
    header, *rows = out.splitlines()
    assert header.split() == ["ID", "TITLE", "STATE", "TAGS", "CREATED"]
    assert len(rows) == 3
    by_id = {row.split()[0]: row for row in rows}
    assert set(by_id) == {world.parent_id, world.exp_id, world.child_id}
    assert "Warmup length sweep" in by_id[world.exp_id]
    assert "warmup,demo" in by_id[world.exp_id]
    # Columns are aligned: every row's state starts where the header's does.
    column = header.index("STATE")
    assert all(row[column:].split()[0] in ("draft", "committed") for row in rows)

    items = cli("--json", "experiments", "list", "--state", "committed").ok().json()["items"]
    assert {e["id"] for e in items} == {world.parent_id, world.exp_id}
    assert all(e["state"] == "committed" for e in items)
    # --json after the command works as well as before it.
    tagged = cli("experiments", "list", "--tag", "optim", "--json").ok().json()["items"]
    assert [e["id"] for e in tagged] == [world.parent_id]


def test_list_limit_says_when_more_were_left(cli: CLI, world: World) -> None:
    out = cli("experiments", "list", "--limit", "2").ok().out
    lines = out.splitlines()
    assert len(lines) == 4  # header, two rows, the hint
    assert lines[-1] == "(first 2 experiments; --limit N for more, 0 for all)"
    assert len(cli("--json", "experiments", "list", "--limit", "2").ok().json()["items"]) == 2
    assert cli("experiments", "list", "--state", "retracted").ok().out == "no experiments\n"


def test_list_fits_a_narrow_terminal_without_cutting_ids(cli: CLI, world: World) -> None:
    out = cli("experiments", "list", env={"COLUMNS": "70"}).ok().out
    for line in out.splitlines():
        assert len(line) <= 70, line
    assert world.exp_id in out  # whole
    assert "CREATED" not in out  # optional columns go first


def test_show_has_variations_and_run_counts(cli: CLI, world: World) -> None:
    out = cli("experiments", "show", world.exp_id).ok().out
    shown = fields_of(out)
    assert shown["id"] == world.exp_id
    assert shown["hypothesis"] == "a short warmup is enough"
    assert shown["parents"] == world.parent_id
    assert shown["runs"] == "running 1"
    assert world.variation_id in out and "warmup-500" in out and "lr=0.0003" in out

    detail = cli("experiments", "show", world.exp_id, "--json").ok().json()
    assert detail["id"] == world.exp_id
    assert detail["run_counts"] == {"running": 1}
    assert [v["id"] for v in detail["variations"]] == [world.variation_id]


def test_create_then_commit_conclude_retract(cli: CLI, researcher: Chronicle, world: World) -> None:
    created = (
        cli(
            "--json",
            "experiments",
            "create",
            "LR finder",
            "--hypothesis",
            "one cycle finds it",
            "--description",
            "a sweep",
            "--parent",
            world.parent_id,
            "--parent",
            world.exp_id,
            "--tag",
            "lr",
            "--tag",
            "sweep",
        )
        .ok()
        .json()
    )
    exp_id = created["id"]
    assert created["state"] == "draft"
    assert created["parent_ids"] == [world.parent_id, world.exp_id]
    assert created["tags"] == ["lr", "sweep"]
    assert researcher.experiments.get(exp_id).hypothesis == "one cycle finds it"

    shown = fields_of(cli("experiments", "commit", exp_id).ok().out)
    assert shown["state"] == "committed"
    assert shown["committed"].endswith("Z")
    concluded = cli("--json", "experiments", "conclude", exp_id, "--conclusion", "it does")
    assert concluded.ok().json()["conclusion"] == "it does"
    shown = fields_of(cli("experiments", "retract", exp_id, "--reason", "bad data").ok().out)
    assert shown["state"] == "retracted"
    assert shown["retraction reason"] == "bad data"
    assert researcher.experiments.get(exp_id).state == "retracted"


def test_wrong_state_is_one_conflict_line(cli: CLI, world: World) -> None:
    line = cli("experiments", "commit", world.exp_id).failed()
    assert line == (
        f"conflict: cannot commit experiment {world.exp_id}: it is committed (needs draft)"
    )
    line = cli("experiments", "conclude", world.exp_id, "--conclusion", "x", "--json").failed()
    assert line.startswith("conflict: ")


def test_unknown_experiment_is_one_not_found_line(cli: CLI) -> None:
    done = cli("experiments", "show", MISSING)
    assert done.failed() == f"not found: experiment {MISSING} not found"
    assert done.out == ""
    assert cli("--json", "experiments", "show", MISSING).failed().startswith("not found: ")

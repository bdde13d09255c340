"""`methodic variations ...`: list, show, and create from a YAML file (or stdin)."""

from __future__ import annotations

from pathlib import Path

from methodic import Chronicle

from .conftest import CLI, World, fields_of

CONFIG = "optimizer: {name: adamw, lr: 3.0e-4}\nwarmup_steps: 2000\n"


def test_create_from_a_file_and_stdin(
    cli: CLI, researcher: Chronicle, world: World, tmp_path: Path
) -> None:
    config = tmp_path / "long.yaml"
    config.write_text(CONFIG)
    created = cli(
        "--json",
        "variations",
        "create",
        world.exp_id,
        "--config",
        str(config),
        "--name",
        "warmup-2000",
    )
    data = created.ok().json()
    assert data["name"] == "warmup-2000"
    assert data["config_yaml"] == CONFIG  # kept as written
    assert data["config_json"] == {
        "optimizer": {"name": "adamw", "lr": 0.0003},
        "warmup_steps": 2000,
    }
    assert researcher.variations.get(data["id"]).config_json["warmup_steps"] == 2000

    out = cli("variations", "create", world.exp_id, "--config", "-", stdin="lr: 1\n").ok().out
    shown = fields_of(out)
    assert shown["experiment"] == world.exp_id
    assert out.endswith("config\nlr: 1\n")


def test_list_and_show(cli: CLI, world: World) -> None:
    out = cli("variations", "list", world.exp_id).ok().out
    header, row = out.splitlines()
    assert header.split() == ["ID", "NAME", "CONFIG", "CREATED"]
    assert row.split()[:4] == [world.variation_id, "warmup-500", "lr=0.0003", "warmup=500"]
    items = cli("--json", "variations", "list", world.exp_id).ok().json()["items"]
    assert [v["id"] for v in items] == [world.variation_id]
    assert cli("variations", "list", world.child_id).ok().out == "no variations\n"

    out = cli("variations", "show", world.variation_id).ok().out
    assert fields_of(out)["name"] == "warmup-500"
    assert out.endswith("config\nlr: 0.0003\nwarmup: 500\n")
    assert cli("--json", "variations", "show", world.variation_id).ok().json()["config_json"] == {
        "lr": 0.0003,
        "warmup": 500,
    }


def test_invalid_yaml_is_chronicles_400(cli: CLI, world: World) -> None:
    line = cli("variations", "create", world.exp_id, "--config", "-", stdin="[1, 2]\n").failed()
    assert line == "bad request: config_yaml must be a YAML mapping, not list"
    missing = "00000000-0000-0000-0000-000000000000"
    assert (
        cli("variations", "show", missing).failed() == f"not found: variation {missing} not found"
    )

"""Exit statuses, the one-line error reports, usage errors, and the API key staying secret."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from methodic import ConflictError, NotFoundError
from methodic.cli.main import error_kind, main
from methodic.errors import APIConnectionError, APITimeoutError, ChronicleError, ServerError
from methodic_fake.harness import FakeChronicle

from .conftest import CLI, World

# Well-formed for its type, unknown to the fake: the 401 path with a secret to look for.
CANARY = "sk_agent_CANARY0000000xQ9canarySecretThatMustNeverBePrinted"


def test_bad_key_is_one_authentication_line_without_the_key(cli: CLI, world: World) -> None:
    done = cli("experiments", "list", key=CANARY)
    assert done.failed() == "authentication error: invalid API key"
    flag = cli("--api-key", CANARY, "runs", "show", world.run_id, "--json")
    assert flag.failed() == "authentication error: invalid API key"
    for run in (done, flag):
        assert CANARY not in run.out + run.err


def test_debug_shows_requests_and_traceback_but_never_the_key(cli: CLI, world: World) -> None:
    done = cli("--debug", "experiments", "show", world.exp_id, f"--api-key={CANARY}", key=CANARY)
    assert done.code == 1
    assert "Traceback" in done.err and "AuthenticationError" in done.err
    assert f"GET /experiments/{world.exp_id} -> 401" in done.err  # the SDK's request log
    assert done.err.splitlines()[-1].startswith("authentication error: invalid API key")
    assert CANARY not in done.out + done.err
    # A successful --debug run: the request log on stderr, the document on stdout.
    ok = cli("--debug", "--json", "runs", "show", world.run_id)
    assert ok.code == 0 and f"GET /runs/{world.run_id} -> 200" in ok.err
    assert ok.json()["id"] == world.run_id


def test_the_key_is_redacted_even_from_data_that_echoes_it(cli: CLI, fake: FakeChronicle) -> None:
    # Pathological, but "never in any output" means never: a title holding the key.
    token = fake.researcher_token
    done = cli("--json", "experiments", "create", f"about {token}").ok()
    assert token not in done.out
    assert done.json()["title"] == "about <redacted>"


def test_usage_errors_exit_2(cli: CLI) -> None:
    assert "COMMAND" in cli().failed(2)  # as a process: argparse's status reaches the shell
    # Refused by the SDK before anything is sent: an id that would change the route.
    assert cli("runs", "show", "a/b").failed(2).startswith("methodic: error: ")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["experiments"], "ACTION"),
        (["runs", "list", "--bogus"], "unrecognized arguments: --bogus"),
        (["experiments", "list", "--limit", "-1"], "must be 0 or more"),
        (["assets", "list", "--limit", "many"], "not a number"),
        (["experiments", "conclude", "x"], "required: --conclusion"),
        (["runs", "list", "--state", "done"], "invalid choice"),
    ],
)
def test_usage_errors_in_process(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_help_documents_the_exit_statuses(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["runs", "watch", "--help"])
    assert "exit status 130" in " ".join(capsys.readouterr().out.split())


def test_missing_settings_and_unreachable_server_exit_1(cli: CLI, tmp_path: Path) -> None:
    line = cli("experiments", "list", env={"CHRONICLE_BASE_URL": ""}).failed()
    assert line == "error: Chronicle needs base_url (or $CHRONICLE_BASE_URL)"
    # Port 9 (discard) on loopback: nothing listens there.
    down = cli("experiments", "list", "--base-url", "http://127.0.0.1:9").failed()
    assert down.startswith("connection error: ")
    missing = tmp_path / "nope.yaml"
    line = cli("variations", "create", "e", "--config", str(missing)).failed()
    assert line.startswith(f"error: cannot read {missing}: ")


def test_a_base_url_with_a_path_hints_at_the_url(cli: CLI, fake: FakeChronicle) -> None:
    # /api/experiments is no route: the server's bare "Not Found", not a missing id.
    line = cli("experiments", "list", "--base-url", fake.base_url + "/api").failed()
    assert line == (
        f"not found: Not Found (no such route at {fake.base_url}/api: is the base URL right? "
        "--base-url or CHRONICLE_BASE_URL names the server's root, without a path such as /api)"
    )
    # A missing resource is named by the server and needs no hint.
    missing = "00000000-0000-0000-0000-000000000000"
    assert cli("runs", "show", missing).failed() == f"not found: run {missing} not found"


def test_help_points_at_help_not_at_files_the_wheel_lacks(cli: CLI) -> None:
    out = " ".join(cli("--help").ok().out.split())
    assert "docs/" not in out and "`methodic COMMAND --help` shows a command's options" in out


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (NotFoundError("x", status_code=404), "not found"),
        (ConflictError("x", status_code=409), "conflict"),
        (ServerError("x", status_code=503), "server error"),
        (APIConnectionError("x"), "connection error"),
        (APITimeoutError("x"), "timeout error"),
        (ChronicleError("x"), "error"),
    ],
)
def test_error_kinds(exc: Exception, kind: str) -> None:
    assert error_kind(exc) == kind


def test_entry_points_and_import_cost() -> None:
    script = Path(sys.executable).with_name("methodic")
    assert script.exists(), "reinstall (make .venv/.installed-dev): the console script is missing"
    version = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, check=True, timeout=30
    )
    assert version.stdout.startswith("methodic ")
    # `import methodic` must not pay for the CLI (argparse and every command module).
    probe = "import methodic, sys; print('methodic.cli' in sys.modules)"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=30
    )
    assert loaded.stdout.strip() == "False"

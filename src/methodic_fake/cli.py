"""`methodic-fake serve`: the fake as a local, persistent development server.

    methodic-fake serve --port 8765 --data-dir .fake-data

Prints the base URL and the keys to use, keeps state in SQLite under the data
dir across restarts, and shuts down cleanly on SIGINT / SIGTERM. Keys are minted
on first start and kept in the data dir; METHODIC_FAKE_RESEARCHER_TOKEN,
METHODIC_FAKE_AGENT_KEY and METHODIC_FAKE_WORKER_KEY fix them instead.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_DATA_DIR = ".fake-data"
SWEEP_INTERVAL = 30.0
# Fixed tokens come from the environment, not flags: flags show up in `ps` output.
KEY_ENV = {
    "researcher": "METHODIC_FAKE_RESEARCHER_TOKEN",
    "agent": "METHODIC_FAKE_AGENT_KEY",
    "worker": "METHODIC_FAKE_WORKER_KEY",
}


def keys_from_env(environ: Mapping[str, str]) -> dict[str, str] | None:
    """Tokens fixed by METHODIC_FAKE_* variables (other roles keep their saved ones), or None."""
    chosen = {role: environ[name] for role, name in KEY_ENV.items() if environ.get(name)}
    return chosen or None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="methodic-fake", description="A stateful fake of the Chronicle REST API."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the fake as a local development server")
    serve.add_argument(
        "--host", default=DEFAULT_HOST, help=f"bind address (default {DEFAULT_HOST})"
    )
    serve.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port, 0 for any free one (default {DEFAULT_PORT})",
    )
    serve.add_argument(
        "--data-dir",
        type=Path,
        default=Path(DEFAULT_DATA_DIR),
        help=f"where state and blobs persist (default {DEFAULT_DATA_DIR}/)",
    )
    serve.add_argument(
        "--no-search",
        action="store_true",
        help="answer /search with 503, like an unconfigured server",
    )
    return parser


def _banner(base_url: str, data_dir: Path, search: bool, keys: dict[str, str]) -> str:
    # One key per audience, ready to paste: a researcher session (a person, or the
    # agent key for automation) may do everything; a worker only what a runner does.
    return "\n".join(
        [
            f"methodic-fake: Chronicle fake serving at {base_url}",
            f"  data dir:         {data_dir.resolve()}",
            f"  search:           {'configured' if search else 'not configured (503)'}",
            f"  dashboard:        {base_url}/_fake/ui/",
            f"  researcher token: {keys['researcher']}",
            f"  agent key:        {keys['agent']}",
            f"  worker key:       {keys['worker']}",
            "",
            "For a researcher session (experiments, variations, runs, search: everything;",
            "automation acting for a researcher uses the agent key the same way):",
            f"  export CHRONICLE_BASE_URL={base_url}",
            f"  export CHRONICLE_API_KEY={keys['researcher']}",
            "For a worker, the runner process a scheduler starts (its run's config, start,",
            "heartbeats, uploads, succeed/fail; it may not create experiments, variations",
            "or runs):",
            f"  export CHRONICLE_BASE_URL={base_url}",
            f"  export CHRONICLE_API_KEY={keys['worker']}",
            "Move this fake's clock and queue faults from Python on this machine:",
            "  from methodic_fake import FakeChronicle; fake = FakeChronicle.connect()",
            "Press Ctrl+C to stop.",
        ]
    )


def unusable_data_dir(data_dir: Path, exc: Exception) -> str:
    """One line naming the path at fault and the remedy, for a data dir we cannot open."""
    import sqlite3

    from methodic_fake.persistence import DATABASE

    database = data_dir / DATABASE
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if data_dir.exists() and not data_dir.is_dir():
        return f"data dir {data_dir} is a file (remove it, or pass another --data-dir)"
    if isinstance(exc, OSError):
        path = exc.filename or data_dir
        reason = exc.strerror or reason
        return (
            f"cannot use data dir {data_dir}: {path}: {reason} "
            "(make it a writable directory, or pass another --data-dir)"
        )
    if isinstance(exc, sqlite3.OperationalError):  # unreadable or read-only, not corrupt
        return (
            f"cannot open {database}: {reason} "
            "(make the data dir and its files writable, or pass another --data-dir)"
        )
    return (
        f"{database} is not a usable methodic-fake database ({reason}): "
        "move it aside to start empty, or pass another --data-dir"
    )


def serve(host: str, port: int, data_dir: Path, search: bool) -> int:
    """Run until SIGINT/SIGTERM; returns the process exit code."""
    from methodic_fake.app import create_app
    from methodic_fake.backend import Backend
    from methodic_fake.harness import keyring
    from methodic_fake.server import base_url_of, bind_socket, make_server

    try:
        fixed = keys_from_env(os.environ)
        keyring(fixed)  # reject malformed keys before touching the data dir
    except ValueError as exc:
        print(f"methodic-fake: bad key in the environment: {exc}", file=sys.stderr)
        return 2
    from methodic_fake.persistence import DataDirLocked

    try:
        backend = Backend.persistent(data_dir, search_configured=search, keys=fixed)
    except DataDirLocked as exc:
        print(f"methodic-fake: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        # Whatever stops the data dir from opening (OSError, sqlite3, a record that
        # will not load) is the user's to fix: one line and exit 2, not a traceback.
        print(f"methodic-fake: {unusable_data_dir(data_dir, exc)}", file=sys.stderr)
        return 2
    try:
        sock = bind_socket(host, port)
    except OSError as exc:
        print(f"methodic-fake: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        backend.close()
        return 1
    base_url = base_url_of(sock)
    server = make_server(create_app(backend), sock, log_level="info")
    stop = threading.Event()

    def sweep() -> None:
        # The watchdog is lazy; this only makes the database catch up while idle.
        while not stop.wait(SWEEP_INTERVAL):
            backend.sweep()

    sweeper = threading.Thread(target=sweep, name="methodic-fake watchdog", daemon=True)
    sweeper.start()
    print(_banner(base_url, data_dir, search, backend.keys.keys), flush=True)
    try:
        # In the main thread uvicorn installs SIGINT/SIGTERM handlers and shuts down
        # gracefully (in-flight requests finish; every acknowledged write is committed).
        server.run(sockets=[sock])
    finally:
        stop.set()
        sweeper.join(timeout=5)
        backend.close()
        sock.close()
    print("methodic-fake: stopped", flush=True)
    return 0


def missing_extra() -> str | None:
    """None if the fake's dependencies import; else the one line saying how to get them.

    `pip install methodic` installs this command too, without FastAPI or uvicorn.
    """
    from methodic_fake import needs_extra

    try:
        import fastapi  # noqa: F401
        import fastapi_offline  # noqa: F401
        import jinja2  # noqa: F401
        import uvicorn  # noqa: F401
    except ModuleNotFoundError as exc:
        return f"methodic-fake: {needs_extra(exc)}"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        problem = missing_extra()
        if problem is not None:
            print(problem, file=sys.stderr)
            return 2
        return serve(args.host, args.port, args.data_dir, not args.no_search)
    return 2  # pragma: no cover - argparse rejects unknown commands

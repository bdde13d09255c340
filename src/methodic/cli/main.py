"""The ``methodic`` entry point: the parser, the dispatch, exit statuses and error lines.

Exit statuses: 0 success; 1 a Chronicle, client or journal error, reported as one
stderr line ``<error kind>: <message>``; 2 a usage error (argparse's own message);
130 interrupted (Ctrl-C). A traceback is printed only with ``--debug``, and the API
key is replaced by ``<redacted>`` in everything written to stdout and stderr —
however ``--api-key`` was spelled (options are never abbreviated, so ``--api KEY``
is a usage error, whose message is redacted too). Whatever cannot be encoded for
the terminal is written as a backslash escape, never an error.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import traceback
from collections.abc import Sequence
from typing import Any, TextIO

from methodic.cli import assets, experiments, lineage, runs, search, uploads, variations
from methodic.cli.context import CommandError, Context
from methodic.cli.output import printable

__all__ = ["build_parser", "error_kind", "main"]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # what a shell reports for a SIGINT death: scripts can tell

_GROUPS = (experiments, lineage, variations, runs, assets, search, uploads)


class _Parser(argparse.ArgumentParser):
    """No abbreviated options: ``--api`` must not quietly mean ``--api-key``.

    Subcommand parsers are made of the parent's class, so the whole tree is one.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)


def common_options() -> argparse.ArgumentParser:
    """Options every command accepts, before or after the command name."""
    common = _Parser(add_help=False)
    group = common.add_argument_group("common options")
    # SUPPRESS: a subcommand that does not repeat an option keeps the top-level value.
    group.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help='print exactly one JSON document (lists as {"items": [...]})',
    )
    group.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="log each request to stderr and show tracebacks",
    )
    group.add_argument(
        "--base-url",
        metavar="URL",
        default=argparse.SUPPRESS,
        help="Chronicle's base URL (default $CHRONICLE_BASE_URL)",
    )
    group.add_argument(
        "--api-key",
        metavar="KEY",
        default=argparse.SUPPRESS,
        help="API key or access token (default $CHRONICLE_API_KEY; prefer the variable: "
        "arguments show up in `ps`)",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree."""
    common = common_options()
    parser = _Parser(
        prog="methodic",
        description="Browse and steer Chronicle experiments; recover local uploads.",
        parents=[common],
        epilog="Exit status: 0 ok, 1 Chronicle or client error, 2 usage error, "
        "130 interrupted. `methodic COMMAND --help` shows a command's options.",
    )
    from methodic import __version__

    parser.add_argument("--version", action="version", version=f"methodic {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for group in _GROUPS:
        group.register(commands, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status (the console script exits with it)."""
    secrets = _secrets(argv)
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Terminal(out, secrets), _Terminal(err, secrets)
    try:
        return _run(argv)
    finally:
        sys.stdout, sys.stderr = out, err


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # exits 2 on a usage error
    ctx = Context(args)
    if ctx.debug:
        logging.basicConfig(stream=sys.stderr, format="%(name)s: %(message)s")
        logging.getLogger("methodic").setLevel(logging.DEBUG)
    try:
        result = args.handler(ctx, args)
        if result is not None:
            result.emit(ctx.as_json)
        sys.stdout.flush()
        return EXIT_OK
    except KeyboardInterrupt:
        # Ctrl-C is how people leave `runs watch`: no traceback, no error line.
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `methodic experiments list | head`: the reader left; say nothing more.
        _silence_stdout()
        return EXIT_ERROR
    except CommandError as exc:
        return _report(ctx, exc.kind, str(exc), exc, exc.exit_code)
    except ValueError as exc:
        if isinstance(exc, UnicodeError):  # text trouble is ours, never the user's usage
            return _report(ctx, "internal error", f"{type(exc).__name__}: {exc}", exc, 1)
        # The SDK refuses some arguments before sending (an id containing "/").
        _debug_traceback(ctx, exc)
        parser.print_usage(sys.stderr)
        print(f"methodic: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:
        from methodic import ChronicleError

        if isinstance(exc, ChronicleError):
            return _report(ctx, error_kind(exc), _message(exc) + _hint(ctx, exc), exc, EXIT_ERROR)
        hint = "" if ctx.debug else " (run with --debug for the traceback)"
        return _report(ctx, "internal error", f"{type(exc).__name__}: {exc}{hint}", exc, 1)
    finally:
        ctx.close()


def error_kind(exc: BaseException) -> str:
    """How the stderr line names an error: ``NotFoundError`` -> ``not found``.

    The class's own name, so a subclass added later names itself; ``Error`` is kept
    where the rest alone would not read as a problem (``server error``).
    """
    name = type(exc).__name__
    words = re.findall(r"API|[A-Z][a-z]*|[a-z]+", name)
    if words and words[0] == "API" and len(words) > 1:
        words = words[1:]
    lowered = [w.lower() for w in words]
    if lowered == ["chronicle", "error"]:
        return "error"  # the base class says nothing more than "error"
    if lowered[-1:] == ["error"] and lowered[:-1] in _STATUS_PHRASES:
        lowered = lowered[:-1]
    return " ".join(lowered) or "error"


# Names that already say what went wrong: "not found", not "not found error".
_STATUS_PHRASES = [
    ["not", "found"],
    ["permission", "denied"],
    ["bad", "request"],
    ["unprocessable", "entity"],
    ["content", "too", "large"],
    ["conflict"],
]


def _message(exc: BaseException) -> str:
    message = getattr(exc, "message", None)
    text = message if isinstance(message, str) and message else str(exc)
    return " ".join(text.split())  # one line, whatever the server sent


def _hint(ctx: Context, exc: BaseException) -> str:
    """What a bare error cannot say by itself; "" when it says enough."""
    from methodic import NotFoundError

    # Chronicle names the missing resource in a 404 ("run … not found"); a bare
    # "Not Found" is an unknown route: the URL, not the id, is wrong.
    if isinstance(exc, NotFoundError) and exc.message == "Not Found":
        client = ctx.__dict__.get("chronicle")
        where = f" at {client.base_url}" if client is not None else ""
        return (
            f" (no such route{where}: is the base URL right? --base-url or "
            "CHRONICLE_BASE_URL names the server's root, without a path such as /api)"
        )
    return ""


def _report(ctx: Context, kind: str, message: str, exc: BaseException, code: int) -> int:
    _debug_traceback(ctx, exc)
    request_id = getattr(exc, "request_id", None)
    tail = f" (request id {request_id})" if ctx.debug and request_id else ""
    print(f"{kind}: {printable(' '.join(message.split()))}{tail}", file=sys.stderr)
    return code


def _debug_traceback(ctx: Context, exc: BaseException) -> None:
    if ctx.debug:
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)


def _silence_stdout() -> None:
    # Python would report the broken pipe again when flushing stdout at exit.
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.__stdout__.fileno() if sys.__stdout__ else 1)
    finally:
        os.close(devnull)


def _secrets(argv: Sequence[str] | None) -> list[str]:
    """Every API key this invocation may hold, found without parsing (to redact it
    everywhere): the variable's, and the value of any spelling of ``--api-key`` —
    ``--api KEY``, ``--api-k=KEY`` — which argparse then refuses, quoting it."""
    args = list(sys.argv[1:] if argv is None else argv)
    keys = [os.environ.get("CHRONICLE_API_KEY", "")]
    for i, arg in enumerate(args):
        option, joined, value = arg.partition("=")
        if len(option) >= 3 and "--api-key".startswith(option):
            if joined:
                keys.append(value)
            elif i + 1 < len(args):
                keys.append(args[i + 1])
    # A very short "key" would turn ordinary output into <redacted> soup; no real
    # token is that short. Longest first, so a key containing another goes whole.
    found = {key.strip() for key in keys if len(key.strip()) >= 8}
    return sorted(found, key=len, reverse=True)


class _Terminal:
    """stdout or stderr as the CLI writes them: the API key replaced before anything
    reaches the terminal, and what the stream cannot encode (a lone surrogate from a
    server, any non-ASCII on an ASCII terminal) written as a backslash escape."""

    def __init__(self, stream: TextIO, secrets: Sequence[str]) -> None:
        self._stream = stream
        self._secrets = secrets
        self._encoding = getattr(stream, "encoding", None) or "utf-8"

    def write(self, text: str) -> int:
        shown = text
        for secret in self._secrets:
            shown = shown.replace(secret, "<redacted>")
        try:
            shown.encode(self._encoding)
        except UnicodeEncodeError:
            shown = shown.encode(self._encoding, "backslashreplace").decode(self._encoding)
        except LookupError:
            pass
        self._stream.write(shown)
        return len(text)

    def writelines(self, lines: Sequence[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

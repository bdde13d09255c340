"""``methodic``, the command line: researchers browse and steer, operators recover uploads.

    methodic experiments list --state committed
    methodic lineage 3f2a… --direction ancestors
    methodic uploads list --json | jq '.items[].key'

How this package is laid out (keep to it when adding a command):

- one module per command group (``experiments``, ``lineage``, ``variations``,
  ``runs``, ``assets``, ``search``, ``uploads``), each with a
  ``register(commands, common)`` that adds its parsers and sets ``handler``;
- a handler takes ``(Context, argparse.Namespace)`` and returns a
  ``output.Result`` (data for ``--json``, a text renderer for people); it calls
  Chronicle only through ``ctx.chronicle``'s namespaces (no HTTP of its own) and
  lets errors propagate: ``main`` turns them into exit statuses and one stderr line;
- ``output`` formats, ``context`` holds what handlers share, ``main`` parses and
  dispatches.

``import methodic`` does not import this package; the console script and
``python -m methodic`` do.
"""

from methodic.cli.main import main

__all__ = ["main"]

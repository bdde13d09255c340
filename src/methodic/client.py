"""``Chronicle``: the one object a process builds to talk to Chronicle."""

from __future__ import annotations

import os
import re
import threading
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

from methodic.errors import ChronicleError
from methodic.transport import DEFAULT_TIMEOUT, Transport

if TYPE_CHECKING:
    import httpx2

    from methodic.namespaces import Assets, Experiments, Runs, Search, Variations
    from methodic.namespaces._base import Namespace
    from methodic.upload_manager import UploadManager

    _N = TypeVar("_N", bound=Namespace)

__all__ = ["Chronicle"]

# sk_<type>_<id><secret>: the type is the only part safe to show.
_KEY_TYPE = re.compile(r"(sk_[a-z]{1,16}_)")


class Chronicle:
    """A Chronicle client: namespaces for every endpoint, one shared transport.

    One instance is safe to share across threads; build one per process.

        with Chronicle("https://chronicle.example", api_key="sk_agent_...") as chronicle:
            exp = chronicle.experiments.create("lr sweep")

    ``base_url`` and ``api_key`` fall back to ``CHRONICLE_BASE_URL`` and
    ``CHRONICLE_API_KEY``. Pass ``http_client`` to reuse your own ``httpx2.Client``
    (it is not closed by ``close()``). ``timeout`` (seconds) bounds each whole
    Chronicle call, connect to last byte; storage transfers get it as a stall timeout.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float | httpx2.Timeout | None = DEFAULT_TIMEOUT,
        http_client: httpx2.Client | None = None,
        user_agent: str | None = None,
    ) -> None:
        base_url = base_url or os.environ.get("CHRONICLE_BASE_URL")
        api_key = (api_key or os.environ.get("CHRONICLE_API_KEY") or "").strip() or None
        missing = [
            f"{arg} (or ${env})"
            for arg, env, value in (
                ("base_url", "CHRONICLE_BASE_URL", base_url),
                ("api_key", "CHRONICLE_API_KEY", api_key),
            )
            if not value
        ]
        if missing or base_url is None or api_key is None:
            raise ChronicleError(f"Chronicle needs {' and '.join(missing)}")
        self.transport = Transport(
            base_url, api_key, timeout=timeout, http_client=http_client, user_agent=user_agent
        )
        self._key_hint = _key_hint(api_key)
        self._namespaces: dict[type[Namespace], Namespace] = {}
        self._namespace_lock = threading.Lock()
        self._uploads: UploadManager | None = None
        self._uploads_lock = threading.Lock()
        self._closed = False

    @property
    def base_url(self) -> str:
        """The Chronicle base URL requests are sent to."""
        return self.transport.base_url

    # Namespaces are built on first access so `import methodic` need not import them
    # (or the response types behind them); afterwards cached_property makes each
    # access a plain attribute read.

    @cached_property
    def experiments(self) -> Experiments:
        """Experiment lifecycle, listing and lineage."""
        from methodic.namespaces.experiments import Experiments

        return self._namespace(Experiments)

    @cached_property
    def variations(self) -> Variations:
        """Variations of experiments."""
        from methodic.namespaces.variations import Variations

        return self._namespace(Variations)

    @cached_property
    def runs(self) -> Runs:
        """The run lifecycle (create, config, start, heartbeat, succeed/fail)."""
        from methodic.namespaces.runs import Runs

        return self._namespace(Runs)

    @cached_property
    def assets(self) -> Assets:
        """Asset metadata and the presign/finalize half of uploads."""
        from methodic.namespaces.assets import Assets

        return self._namespace(Assets)

    @cached_property
    def search(self) -> Search:
        """Full-text search over research docs and arxiv assets."""
        from methodic.namespaces.search import Search

        return self._namespace(Search)

    def _namespace(self, cls: type[_N]) -> _N:
        # cached_property has no lock on 3.12+; this one makes racing first
        # accesses from several threads agree on a single instance.
        with self._namespace_lock:
            existing = self._namespaces.get(cls)
            if existing is None:
                existing = self._namespaces[cls] = cls(self.transport)
            return existing  # type: ignore[return-value]

    @property
    def uploads(self) -> UploadManager:
        """The owner of this client's uploads: worker threads, uploads in flight, journal.

        ``Run``'s upload methods delegate to it; created on first use.
        """
        with self._uploads_lock:
            if self._closed:
                raise ChronicleError("this Chronicle client is closed")
            if self._uploads is None:
                from methodic.upload_manager import UploadManager  # deferred: pulls in sqlite3

                self._uploads = UploadManager(self)
            return self._uploads

    def close(self) -> None:
        """Wait for queued background uploads, then release connections.

        Closes the ``httpx2.Client`` only if this object created it. Leaving a ``with``
        block because of ``SystemExit`` or ``KeyboardInterrupt`` (a SIGTERM under
        ``Run.lifecycle()``, Ctrl-C) does not wait: the process is meant to end now,
        and its unfinished uploads stay in the journal for the next one.
        """
        self._close(wait=True)

    def _close(self, *, wait: bool) -> None:
        with self._uploads_lock:
            uploads, self._uploads = self._uploads, None
            self._closed = True
        if uploads is not None:
            uploads.shutdown(wait=wait)
        self.transport.close()

    def __enter__(self) -> Chronicle:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._close(wait=exc is None or isinstance(exc, Exception))

    def __repr__(self) -> str:
        return f"<Chronicle base_url={_safe_base(self.base_url)!r} api_key={self._key_hint}>"


def _key_hint(api_key: str) -> str:
    """``sk_worker_…`` for API keys; ``<token>`` for anything else (Auth0 JWTs)."""
    match = _KEY_TYPE.match(api_key)
    if match and len(api_key) > match.end():
        return match.group(1) + "…"
    return "<token>"


def _safe_base(base_url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(base_url)
    if "@" not in parts.netloc:
        return base_url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))

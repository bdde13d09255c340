"""``Chronicle``: the one object a process builds to talk to Chronicle."""

from __future__ import annotations

import os
import re
import threading
from types import TracebackType
from typing import TYPE_CHECKING

import httpx

from methodic.errors import ChronicleError
from methodic.namespaces import Assets, Experiments, Runs, Search, Variations
from methodic.transport import DEFAULT_TIMEOUT, Transport

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

__all__ = ["Chronicle"]

_UPLOAD_WORKERS = 4
# sk_<type>_<id><secret>: the type is the only part safe to show.
_KEY_TYPE = re.compile(r"(sk_[a-z]{1,16}_)")


class Chronicle:
    """A Chronicle client: namespaces for every endpoint, one shared transport.

    One instance is safe to share across threads; build one per process.

        with Chronicle("https://chronicle.example", api_key="sk_agent_...") as chronicle:
            exp = chronicle.experiments.create("lr sweep")

    ``base_url`` and ``api_key`` fall back to ``CHRONICLE_BASE_URL`` and
    ``CHRONICLE_API_KEY``. Pass ``http_client`` to reuse your own ``httpx.Client``
    (it is not closed by ``close()``).
    """

    experiments: Experiments
    variations: Variations
    runs: Runs
    assets: Assets
    search: Search

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        http_client: httpx.Client | None = None,
        user_agent: str | None = None,
    ) -> None:
        base_url = base_url or os.environ.get("CHRONICLE_BASE_URL")
        api_key = api_key or os.environ.get("CHRONICLE_API_KEY")
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
        self._key_hint = _key_hint(api_key)
        self.transport = Transport(
            base_url, api_key, timeout=timeout, http_client=http_client, user_agent=user_agent
        )
        # Built eagerly: five tiny objects cost less than the locking a lazy,
        # thread-safe cached_property would need (functools' lost its lock in 3.12).
        self.experiments = Experiments(self.transport)
        self.variations = Variations(self.transport)
        self.runs = Runs(self.transport)
        self.assets = Assets(self.transport)
        self.search = Search(self.transport)
        self._executor: ThreadPoolExecutor | None = None
        self._executor_lock = threading.Lock()
        self._closed = False

    @property
    def base_url(self) -> str:
        """The Chronicle base URL requests are sent to."""
        return self.transport.base_url

    @property
    def _upload_executor(self) -> ThreadPoolExecutor:
        """The bounded pool for background uploads, created on first use."""
        with self._executor_lock:
            if self._closed:
                raise ChronicleError("this Chronicle client is closed")
            if self._executor is None:
                from concurrent.futures import ThreadPoolExecutor  # deferred import

                self._executor = ThreadPoolExecutor(
                    max_workers=_UPLOAD_WORKERS, thread_name_prefix="methodic-upload"
                )
            return self._executor

    def close(self) -> None:
        """Wait for queued background uploads, then release connections.

        Closes the ``httpx.Client`` only if this object created it.
        """
        with self._executor_lock:
            executor, self._executor = self._executor, None
            self._closed = True
        if executor is not None:
            executor.shutdown(wait=True)
        self.transport.close()

    def __enter__(self) -> Chronicle:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Chronicle base_url={_safe_base(self.base_url)!r} api_key={self._key_hint}>"


def _key_hint(api_key: str) -> str:
    """``sk_worker_…`` for API keys; ``<token>`` for anything else (Auth0 JWTs)."""
    match = _KEY_TYPE.match(api_key)
    if match and len(api_key) > match.end():
        return match.group(1) + "…"
    return "<token>"


def _safe_base(base_url: str) -> str:
    url = httpx.URL(base_url)
    return str(url.copy_with(username=None, password=None)) if url.userinfo else base_url

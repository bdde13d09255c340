"""``Chronicle``: the one object a process builds to talk to Chronicle."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Mapping
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

# Headers `with_options` refuses, and why. Credentials set as plain headers would slip
# past everything that keeps the API key secret (reprs, logs, the storage-URL guard);
# the others are the transport's to set, or would silently change every call's meaning.
# Patterns as strings: `re` compiles (and caches) them on the first with_options() call,
# so `import methodic` does not pay for compiling them.
_CREDENTIAL_HEADER = (
    r"authori[sz]ation|authenticat|cookie|token|api-?key|secret|passw|credential|(^|-)auth($|-)"
)
_REFUSED_HEADERS = {
    "host": "the transport sets it from base_url",
    "content-length": "httpx2 sets it from the body",
    "transfer-encoding": "httpx2 sets it from the body",
    "content-type": "each call sets it for its body",
    "content-encoding": "each call sets it for its body",
    "connection": "the connection pool manages it",
    "idempotency-key": (
        "one key on every call would make different creates return the first one's "
        "result: pass idempotency_key= to each create instead"
    ),
}
_TOKEN_CHARS = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"


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
        # Set on clients made by with_options(): the client they were derived from
        # (the one that owns the connection pool and the uploads), and what they change.
        self._root: Chronicle | None = None
        self._options: dict[str, object] = {}

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
        """Full-text search over ready ``research_report`` and ``arxiv`` assets."""
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

    def with_options(
        self,
        *,
        timeout: float | httpx2.Timeout | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Chronicle:
        """A client for some calls: same connection pool, another timeout or more headers.

        The returned ``Chronicle`` shares this one's ``httpx2.Client`` (no new
        connections, no new SSL context) and its uploads; its own calls use
        ``timeout`` instead of this client's (seconds bound each whole call, connect
        to last byte, exactly as the constructor's do) and send ``headers`` on top of
        the usual ones (Chronicle calls only, never presigned storage URLs). Options stack:
        ``c.with_options(timeout=5).with_options(headers=h)`` has both. ``None``
        keeps what this client has.

            slow = chronicle.with_options(timeout=120)
            lineage = slow.experiments.lineage(exp_id, depth=50)
            traced = chronicle.with_options(headers={"X-Request-Source": "nightly-report"})

        Headers that could carry a credential (``Authorization``, ``Cookie``,
        ``Proxy-Authorization``, ``X-Api-Key``, anything naming a token, secret or
        password) are refused with ``ValueError``: the API key goes in ``api_key``,
        where methodic keeps it out of reprs, logs and storage requests. So are headers
        the transport sets itself (``Host``, ``Content-Type``, ``Content-Length``, ...)
        and ``Idempotency-Key`` (pass ``idempotency_key=`` to each create).

        A timeout that is not a positive number of seconds (or an ``httpx2.Timeout``)
        raises ``ValueError``. Closing the derived client only stops it; the pool stays
        open until this one is closed, which stops the derived clients too.
        """
        checked = _checked_headers(headers)
        derived = object.__new__(type(self))
        derived.transport = self.transport.with_options(timeout=timeout, headers=checked)
        derived._key_hint = self._key_hint
        derived._namespaces = {}
        derived._namespace_lock = threading.Lock()
        derived._uploads = None
        derived._uploads_lock = threading.Lock()
        derived._closed = False
        derived._root = self._root or self
        options = dict(self._options)
        if timeout is not None:
            options["timeout"] = timeout
        if checked:
            before = options.get("headers")
            names = [*before] if isinstance(before, list) else []
            options["headers"] = [*names, *(n for n in checked if n not in names)]
        derived._options = options
        return derived

    @property
    def uploads(self) -> UploadManager:
        """The owner of this client's uploads: worker threads, uploads in flight, journal.

        ``Run``'s upload methods delegate to it; created on first use. A client made
        by ``with_options`` hands out the uploads of the client it came from.
        """
        if self._root is not None:
            if self._closed:
                raise ChronicleError("this Chronicle client is closed")
            return self._root.uploads
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
        if self._root is not None:  # a with_options() client: the pool and uploads aren't its
            self._closed = True
            self.transport.close()
            return
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
        options = "".join(f" {name}={value!r}" for name, value in self._options.items())
        return (
            f"<Chronicle base_url={_safe_base(self.base_url)!r} api_key={self._key_hint}{options}>"
        )


def _checked_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    """``headers`` as a dict, or ``ValueError``/``TypeError`` naming the first bad one."""
    if headers is None:
        return {}
    if not isinstance(headers, Mapping):
        raise TypeError(f"headers must be a mapping of str to str, not {type(headers).__name__}")
    checked: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError(
                f"header names and values must be str, got {name!r}: {type(value).__name__}"
            )
        if not re.fullmatch(_TOKEN_CHARS, name):
            raise ValueError(f"{name!r} is not a valid HTTP header name")
        lowered = name.lower()
        if lowered in _REFUSED_HEADERS:
            raise ValueError(f"with_options refuses the {name} header: {_REFUSED_HEADERS[lowered]}")
        if re.search(_CREDENTIAL_HEADER, lowered):
            # The value is not echoed: it may be the very secret being refused.
            raise ValueError(
                f"with_options refuses the {name} header: it could carry a credential, which "
                "would bypass methodic's redaction; pass the API key as api_key instead"
            )
        if any(ch in value for ch in "\r\n\0"):
            raise ValueError(f"the {name} header's value contains a line break or NUL")
        if lowered in {k.lower() for k in checked}:
            raise ValueError(f"the {name} header is given twice (header names ignore case)")
        checked[name] = value
    return checked


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

"""The fake's whole state: one `Backend` per fake, no module-level state.

A `Backend` wires the registry, services, storage, search index, URL signer,
key ring and fault queues together. Two backends in one process share nothing,
so two fakes (or two tests) never see each other's data.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from methodic_fake.assets import AssetService
from methodic_fake.auth import ROLES, KeyRing, Principal
from methodic_fake.clock import Clock
from methodic_fake.errors import BadRequest, ServiceUnavailable
from methodic_fake.experiments import ExperimentService
from methodic_fake.faults import FaultQueue
from methodic_fake.persistence import DATABASE, MemoryStore, SqliteStore, Store
from methodic_fake.registry import Registry
from methodic_fake.runs import RunService
from methodic_fake.search import SearchIndex
from methodic_fake.signing import UrlSigner
from methodic_fake.storage import BlobStore
from methodic_fake.variations import VariationService

SEARCH_TYPES = ("research_report", "arxiv")
SEARCH_NOT_CONFIGURED = "search is not configured"


def _persistent_keys(store: Store, fixed: Mapping[str, str] | KeyRing | None) -> KeyRing:
    """The saved key ring with `fixed` roles overlaid, saved back.

    Roles not fixed keep their saved tokens (or are minted once, on the first
    start), so fixing only the worker key never changes the researcher's token.
    """
    saved_json = store.get_meta("keys")
    ring: dict[str, list[str]] = (
        json.loads(saved_json) if saved_json is not None else KeyRing.generate().all_keys()
    )
    if isinstance(fixed, KeyRing):
        ring = fixed.all_keys()
    elif fixed:
        unknown = set(fixed) - set(ROLES)
        if unknown:
            raise ValueError(f"unknown roles {sorted(unknown)}; use {ROLES}")
        ring.update({role: [token] for role, token in fixed.items()})
    keys = KeyRing(ring["researcher"], ring["agent"], ring["worker"])
    encoded = json.dumps(keys.all_keys())
    if encoded != saved_json:
        store.set_meta("keys", encoded)
    return keys


CLOCK_OFFSET = "clock_offset_us"  # exact microseconds
_LEGACY_CLOCK_OFFSET = "clock_offset"  # float seconds, from before time was exact


def _saved_clock(store: Store) -> Clock:
    """The clock at the offset the server last had (0 if what was saved is unusable)."""
    try:
        saved = store.get_meta(CLOCK_OFFSET)
        if saved is not None:
            return Clock.at_offset_us(int(saved))
        return Clock(float(store.get_meta(_LEGACY_CLOCK_OFFSET) or 0.0))
    except ValueError:  # e.g. infinity saved by a version that did not bound advances
        store.set_meta(CLOCK_OFFSET, "0")
        return Clock()


class Backend:
    """Everything one fake knows.

    >>> backend = Backend.ephemeral()
    >>> backend.keys.keys["worker"].startswith("sk_worker_")
    True
    """

    def __init__(
        self,
        *,
        blob_root: Path,
        store: Store | None = None,
        clock: Clock | None = None,
        keys: KeyRing | None = None,
        signing_secret: bytes | None = None,
        search_configured: bool = True,
    ) -> None:
        self.clock = clock if clock is not None else Clock()
        self.store: Store = store if store is not None else MemoryStore()
        self.keys = keys if keys is not None else KeyRing.generate()
        self.blobs = BlobStore(blob_root)
        self.signer = UrlSigner(self.clock, signing_secret)
        self.faults = FaultQueue()
        self.index = SearchIndex()
        self.search_configured = search_configured
        self._temp_root: Path | None = None
        self.registry = Registry(self.clock, self.store, secret=self.signer.secret)
        self.experiments = ExperimentService(self.registry)
        self.variations = VariationService(self.registry)
        self.runs = RunService(self.registry)
        self.assets = AssetService(self.registry, self.blobs, self.signer, self.index)
        if len(self.registry.assets):
            self.assets.rebuild_index()

    @classmethod
    def ephemeral(cls, **options: Any) -> Backend:
        """In-memory state, blobs in a fresh temp dir (tests)."""
        root = Path(tempfile.mkdtemp(prefix="methodic-fake-"))
        backend = cls(blob_root=root, **options)
        backend._temp_root = root  # ours: removed again by close()
        return backend

    @classmethod
    def persistent(cls, data_dir: Path, **options: Any) -> Backend:
        """State in `<data_dir>/chronicle.sqlite3`, blobs in `<data_dir>/blobs`.

        `keys` (role -> token, or a whole KeyRing) fixes tokens; roles left out keep
        the tokens saved in the data dir. Keys, the URL signing secret and the clock offset are kept in the database
        too, so tokens and unexpired URLs keep working across restarts.
        """
        data_dir = Path(data_dir)
        store = SqliteStore(data_dir / DATABASE)
        try:
            options["keys"] = _persistent_keys(store, options.get("keys"))
        except BaseException:
            store.close()
            raise
        try:
            secret_hex = store.get_meta("signing_secret")
            if secret_hex is None:
                secret_hex = secrets.token_bytes(32).hex()
                store.set_meta("signing_secret", secret_hex)
            # A caller's clock wins; otherwise resume the fake time the server last had.
            clock = options.pop("clock", None) or _saved_clock(store)
            return cls(
                blob_root=data_dir / "blobs",
                store=store,
                clock=clock,
                signing_secret=bytes.fromhex(secret_hex),
                **options,
            )
        except BaseException:  # a corrupt record, an unwritable blob dir: release the lock
            store.close()
            raise

    # --- cross-cutting operations -------------------------------------------------

    def authenticate(self, authorization: str | None) -> Principal:
        return self.keys.authenticate(authorization)

    def idempotent(
        self,
        principal: Principal,
        operation: str,
        key: str | None,
        create: Callable[[], Any],
        params: Any = None,
    ) -> Any:
        """Run `create` once per (principal, operation, key); repeats get the first body.

        `params` (path parameters and the parsed body, JSON-ready) must match the
        first request's: a key reused for a different request is a 400 (Stripe's
        rule and status) rather than quietly handing back some other resource. Not
        a 422: on this API a 422 always carries the validation-error list.
        """
        if key is None:
            return create()
        scope = json.dumps([principal.id, operation, key])
        fingerprint = hashlib.sha256(
            json.dumps(params, sort_keys=True, separators=(",", ":")).encode()
        ).hexdigest()
        with self.registry.transaction():
            saved = self.registry.idempotency.get(scope)
            if saved is not None:
                _, body, first = saved
                # None: remembered before parameters were recorded; trust the key.
                if first is not None and first != fingerprint:
                    raise BadRequest(f"Idempotency-Key {key!r} was used with different parameters")
                return body
            body = create()
            self.registry.remember(scope, 201, body, fingerprint)
            return body

    def search(self, query: str, types: list[str] | None, limit: int) -> dict[str, Any]:
        if not self.search_configured:
            raise ServiceUnavailable(SEARCH_NOT_CONFIGURED)
        wanted = set(types) if types else None
        with self.registry.transaction():
            return self.index.search(query, wanted, limit)

    def advance(self, seconds: float) -> None:
        """Move the clock, saved first: a restarted dev server never sees time run backwards.

        ValueError for a move the clock refuses; StoreFailure (500) if the new offset
        cannot be saved, and then the clock has not moved at all.
        """
        with self.registry.lock:  # one move at a time: save and apply the same offset
            offset_us = self.clock.offset_after(seconds)
            self.store.set_meta(CLOCK_OFFSET, str(offset_us))
            self.clock.set_offset_us(offset_us)

    def _persist_clock(self) -> None:
        self.store.set_meta(CLOCK_OFFSET, str(self.clock.offset_us))

    def sweep(self) -> int:
        """Apply the watchdog now (the dev server calls this periodically)."""
        with self.registry.lock:
            reaped = self.registry.sweep(self.clock.now_us())
            self.store.commit()
            return reaped

    def reset(self) -> None:
        """Forget all data, faults, clock offset and freeze; keys and signing secret stay."""
        with self.registry.lock:
            self.registry.reset()
            self.index.clear()
            self.blobs.clear()
            self.faults.clear()
            self.clock.reset()
            self._persist_clock()
            self.search_configured = True

    def close(self) -> None:
        """Release the store; an ephemeral backend also deletes its temp blob dir."""
        self.store.close()
        if self._temp_root is not None:
            shutil.rmtree(self._temp_root, ignore_errors=True)

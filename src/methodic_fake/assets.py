"""Assets: `pending -> ready` (immutable), presigned storage and inline payloads.

Presigned flow: `create` registers components and returns signed PUT URLs; each
PUT streams into storage (`begin_upload` / `complete_upload`); `finalize` checks
every stored size and sha256 against the registration. Inline assets are stored
the same way and are ready at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from methodic_fake import machines
from methodic_fake.auth import Principal
from methodic_fake.errors import BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge
from methodic_fake.models import Asset, Component, new_id
from methodic_fake.pagination import DEFAULT_ORDER, Order
from methodic_fake.registry import Registry
from methodic_fake.search import Document, SearchIndex
from methodic_fake.signing import UrlSigner
from methodic_fake.storage import BlobStore, BlobWriter

INLINE_LIMIT = 1024 * 1024
INLINE_COMPONENT = "content"
_COMPONENT_NAME = re.compile(r"[A-Za-z0-9._-]{1,128}")
_SEARCHABLE_TEXT_LIMIT = 1024 * 1024


def check_component_name(name: str) -> None:
    """400 unless `name` is a safe component name (it becomes a path segment on disk)."""
    if not _COMPONENT_NAME.fullmatch(name) or name in (".", ".."):
        raise BadRequest(f"invalid component name {name!r}: use [A-Za-z0-9._-]{{1,128}}")


@dataclass(frozen=True)
class Download:
    """A stored component ready to be served."""

    path: Path
    sha256: str
    content_type: str


class AssetService:
    """Asset registration, finalize, presigned URLs, the storage side and search indexing."""

    def __init__(
        self, registry: Registry, blobs: BlobStore, signer: UrlSigner, index: SearchIndex
    ) -> None:
        self._reg = registry
        self._blobs = blobs
        self._signer = signer
        self._index = index

    def _get(self, asset_id: str) -> Asset:
        return self._reg.get(self._reg.assets, "asset", asset_id)

    def _require_run_asset(self, principal: Principal, asset: Asset, action: str) -> None:
        if principal.is_worker and asset.run_id is None:
            raise Forbidden(f"a worker key may only {action} assets attached to a run")

    def _owner(
        self, principal: Principal, run_id: str | None, experiment_id: str | None
    ) -> tuple[str | None, str | None]:
        """Validate the run/experiment an asset is attached to; the run implies the experiment."""
        if principal.is_worker and run_id is None:
            raise Forbidden("a worker key may only create assets attached to a run")
        if run_id is not None:
            run = self._reg.get(self._reg.runs, "run", run_id)
            if experiment_id is not None and experiment_id != run.experiment_id:
                raise BadRequest(f"run {run_id} belongs to experiment {run.experiment_id}")
            return run_id, run.experiment_id
        if experiment_id is not None:
            self._reg.get(self._reg.experiments, "experiment", experiment_id)
        return None, experiment_id

    def create_presigned(
        self,
        principal: Principal,
        base_url: str,
        *,
        kind: str,
        name: str,
        components: Sequence[Mapping[str, Any]],
        run_id: str | None = None,
        experiment_id: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """201 body `{"asset": Asset, "upload_urls": {component: url}}`."""
        if not components:
            raise BadRequest("a presigned asset needs at least one component")
        seen: set[str] = set()
        for comp in components:
            check_component_name(comp["name"])
            if comp["name"] in seen:
                raise BadRequest(f"duplicate component name {comp['name']!r}")
            seen.add(comp["name"])
        with self._reg.transaction() as now:
            run_id, experiment_id = self._owner(principal, run_id, experiment_id)
            asset = Asset(
                id=new_id(),
                created_at=now,
                seq=self._reg.next_seq(),
                kind=kind,
                name=name,
                run_id=run_id,
                experiment_id=experiment_id,
                metadata=metadata or {},
                components=[
                    Component(c["name"], c["size"], c["sha256"], c.get("content_type"))
                    for c in components
                ],
            )
            self._reg.save(asset)
            urls = {
                c.name: self._signer.sign(base_url, "put", asset.id, c.name)
                for c in asset.components
            }
            return {"asset": asset.wire(), "upload_urls": urls}

    def create_inline(
        self,
        principal: Principal,
        *,
        kind: str,
        name: str,
        content: str,
        content_type: str | None = None,
        run_id: str | None = None,
        experiment_id: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """201 body: the asset, already ready, with one component named `content`."""
        data = content.encode("utf-8")
        if len(data) > INLINE_LIMIT:
            raise PayloadTooLarge(
                f"inline content is {len(data)} bytes; the limit is {INLINE_LIMIT} "
                "(use a presigned upload)"
            )
        with self._reg.transaction() as now:
            run_id, experiment_id = self._owner(principal, run_id, experiment_id)
            asset_id = new_id()
            size, sha = self._blobs.put_bytes(asset_id, INLINE_COMPONENT, data)
            component = Component(
                INLINE_COMPONENT,
                size,
                sha,
                content_type or "text/plain; charset=utf-8",
                uploaded=True,
                stored_size=size,
                stored_sha256=sha,
            )
            asset = Asset(
                id=asset_id,
                created_at=now,
                seq=self._reg.next_seq(),
                kind=kind,
                name=name,
                state="ready",
                run_id=run_id,
                experiment_id=experiment_id,
                metadata=metadata or {},
                components=[component],
                finalized_at=now,
            )
            self._reg.save(asset)
            self.index_asset(asset)
            return asset.wire()

    def get(self, asset_id: str) -> dict[str, Any]:
        with self._reg.transaction():
            return self._get(asset_id).wire()

    def list(
        self,
        *,
        run_id: str | None = None,
        experiment_id: str | None = None,
        kind: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        order: Order = DEFAULT_ORDER,
    ) -> dict[str, Any]:
        with self._reg.transaction():
            items = (
                a
                for a in self._reg.assets.values()
                if (run_id is None or a.run_id == run_id)
                and (experiment_id is None or a.experiment_id == experiment_id)
                and (kind is None or a.kind == kind)
            )
            return self._reg.cursors.page(
                ("assets", run_id, experiment_id, kind), items, limit, cursor, order
            )

    def finalize(self, principal: Principal, asset_id: str) -> dict[str, Any]:
        """pending -> ready when every component matches; a ready asset comes back unchanged."""
        with self._reg.transaction() as now:
            asset = self._get(asset_id)
            self._require_run_asset(principal, asset, "finalize")
            if asset.state == "ready":
                return asset.wire()
            problems = []
            for comp in asset.components:
                if not comp.uploaded:
                    problems.append(f"{comp.name}: missing (never uploaded)")
                elif comp.stored_size != comp.size:
                    problems.append(
                        f"{comp.name}: size {comp.stored_size} != registered {comp.size}"
                    )
                elif comp.stored_sha256 != comp.sha256:
                    problems.append(
                        f"{comp.name}: sha256 {comp.stored_sha256} != registered {comp.sha256}"
                    )
            if problems:
                raise Conflict(
                    f"cannot finalize asset {asset.id}: it is pending and "
                    f"{len(problems)} component(s) do not match: " + "; ".join(problems)
                )
            asset.state = machines.apply("asset", "finalize", asset.id, asset.state)
            asset.finalized_at = now
            self._reg.save(asset)
            self.index_asset(asset)
            return asset.wire()

    def upload_urls(self, principal: Principal, base_url: str, asset_id: str) -> dict[str, Any]:
        """Fresh PUT URLs for components not (correctly) uploaded yet."""
        with self._reg.transaction():
            asset = self._get(asset_id)
            self._require_run_asset(principal, asset, "upload to")
            machines.apply("asset", "get upload URLs for", asset.id, asset.state)
            urls = {
                c.name: self._signer.sign(base_url, "put", asset.id, c.name)
                for c in asset.components
                if not c.matches()
            }
            return {"upload_urls": urls}

    def download_urls(self, base_url: str, asset_id: str) -> dict[str, Any]:
        with self._reg.transaction():
            asset = self._get(asset_id)
            machines.apply("asset", "download", asset.id, asset.state)
            urls = {
                c.name: self._signer.sign(base_url, "get", asset.id, c.name)
                for c in asset.components
            }
            return {"urls": urls}

    # --- storage side (presigned URLs; no bearer token) ---------------------------

    def begin_upload(self, asset_id: str, component: str, query: Mapping[str, str]) -> BlobWriter:
        """Check a presigned PUT and open a writer capped at the registered size."""
        self._signer.verify("PUT", asset_id, component, query)
        with self._reg.transaction():
            asset = self._get(asset_id)
            comp = asset.component(component)
            if comp is None:
                raise NotFound(f"asset {asset_id} has no component {component!r}")
            machines.apply("asset", "upload to", asset.id, asset.state, error=Forbidden)
            return self._blobs.writer(asset_id, component, comp.size)

    def complete_upload(self, asset_id: str, component: str, writer: BlobWriter) -> tuple[int, str]:
        """Move a finished upload into place and record what was stored: (size, sha256)."""
        with self._reg.transaction():
            asset = self._reg.assets.get(asset_id)
            comp = asset.component(component) if asset is not None else None
            if asset is None or comp is None:
                writer.discard()
                raise NotFound(f"asset {asset_id} not found")
            try:  # finalized by a concurrent request meanwhile?
                machines.apply("asset", "upload to", asset.id, asset.state, error=Forbidden)
            except Forbidden:
                writer.discard()
                raise
            size, sha = writer.commit()
            comp.stored_size, comp.stored_sha256, comp.uploaded = size, sha, True
            self._reg.save(asset)
            return size, sha

    def open_download(self, asset_id: str, component: str, query: Mapping[str, str]) -> Download:
        self._signer.verify("GET", asset_id, component, query)
        with self._reg.transaction():
            asset = self._get(asset_id)
            comp = asset.component(component)
            if comp is None:
                raise NotFound(f"asset {asset_id} has no component {component!r}")
            if asset.state != "ready":
                raise Forbidden(f"cannot download asset {asset_id}: it is {asset.state}")
            path = self._blobs.path(asset_id, component)
            return Download(path, comp.sha256, comp.content_type or "application/octet-stream")

    # --- search -----------------------------------------------------------------

    def index_asset(self, asset: Asset) -> None:
        """Add a ready research report or arxiv asset to the search index."""
        if asset.state != "ready":
            return
        meta = asset.metadata
        if asset.kind == "research_report":
            comp = asset.component(INLINE_COMPONENT) or (
                asset.components[0] if asset.components else None
            )
            body = (
                self._blobs.read_text(asset.id, comp.name, _SEARCHABLE_TEXT_LIMIT) if comp else ""
            )
            title = str(meta.get("title") or asset.name)
            self._index.add(
                Document("research_report", asset.id, asset.id, asset.experiment_id, title, body)
            )
        elif asset.kind == "arxiv":
            title = str(meta.get("title") or asset.name)
            doc_id = str(meta.get("arxiv_id") or asset.id)
            abstract = str(meta.get("abstract") or "")
            self._index.add(
                Document("arxiv", doc_id, asset.id, asset.experiment_id, title, abstract)
            )

    def rebuild_index(self) -> None:
        """Re-index every ready asset (after loading persisted state)."""
        self._index.clear()
        with self._reg.transaction():
            for asset in self._reg.assets.values():
                self.index_asset(asset)

"""``chronicle.assets``: asset metadata and the presign/finalize half of uploads.

The byte transfer itself (PUT to presigned URLs) goes through
``Transport.storage_request``; the upload engine in ``methodic.uploads`` drives it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from methodic.errors import ResponseValidationError
from methodic.namespaces._base import Namespace, Order
from methodic.types import Asset, ComponentSpec, Page, PresignedAsset

__all__ = ["Assets"]


class Assets(Namespace):
    """Assets: ``pending -> ready`` (immutable).

    Inline content, ready at once:

        doc = chronicle.assets.create_inline(kind="research_report", name="notes.md",
                                             content="# Findings", experiment_id=exp_id)
    """

    def create(
        self,
        *,
        kind: str,
        name: str,
        components: Sequence[ComponentSpec | Mapping[str, Any]],
        presign: Literal[True] = True,
        run_id: str | None = None,
        experiment_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> PresignedAsset:
        """Register a pending asset and get one presigned upload URL per component.

        ``presign`` can only be true (it mirrors the wire field); small payloads that
        need no storage round trip go through ``create_inline``.

            created = chronicle.assets.create(kind="checkpoint", name="step-100",
                                              components=[spec], run_id=run_id)
        """
        if presign is not True:
            raise ValueError("assets.create always presigns; use create_inline for inline content")
        body: dict[str, Any] = {
            "kind": kind,
            "name": name,
            "presign": True,
            "components": [_component(c) for c in components],
        }
        _add_owner(body, run_id, experiment_id, metadata)
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        data = self._transport.request("POST", "/assets", json=body, headers=headers)
        return PresignedAsset.from_dict(data)

    def create_inline(
        self,
        *,
        kind: str,
        name: str,
        content: str | Mapping[str, Any],
        content_type: str | None = None,
        run_id: str | None = None,
        experiment_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Asset:
        """Create a small asset in one call; the server finalizes it (``ready``).

        A mapping ``content`` is sent as JSON text with ``application/json``.
        """
        if isinstance(content, Mapping):
            text = json.dumps(content)
            content_type = content_type or "application/json"
        else:
            text = content
        body: dict[str, Any] = {"kind": kind, "name": name, "content": text}
        if content_type is not None:
            body["content_type"] = content_type
        _add_owner(body, run_id, experiment_id, metadata)
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        data = self._transport.request("POST", "/assets", json=body, headers=headers)
        return Asset.from_dict(data)

    def finalize(self, asset_id: str) -> Asset:
        """``pending -> ready`` once every component is stored with its size and sha256."""
        path = self._transport.path("assets", asset_id, "finalize")
        return Asset.from_dict(self._transport.request("PUT", path))

    def get(self, asset_id: str) -> Asset:
        """Fetch one asset's metadata."""
        data = self._transport.request("GET", self._transport.path("assets", asset_id))
        return Asset.from_dict(data)

    def list(
        self,
        *,
        run_id: str | None = None,
        experiment_id: str | None = None,
        kind: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        order: Order | None = None,
    ) -> Page[Asset]:
        """Assets, optionally filtered, newest first: iterate for all of them across pages.

        ``limit`` is the page size; ``cursor`` starts from a page's ``next_cursor``;
        ``order="asc"`` walks oldest first (default: the server's, newest first).
        """
        params = {
            "run_id": run_id,
            "experiment_id": experiment_id,
            "kind": kind,
            "limit": limit,
            "order": order,
        }
        return self._list("/assets", params, Asset, cursor)

    def upload_urls(self, asset_id: str) -> dict[str, str]:
        """Fresh presigned PUT URLs for the components not yet uploaded."""
        path = self._transport.path("assets", asset_id, "upload-urls")
        return _url_map(self._transport.request("POST", path), "upload_urls")

    def download_urls(self, asset_id: str) -> dict[str, str]:
        """Presigned GET URLs for every component of a ready asset."""
        path = self._transport.path("assets", asset_id, "download-urls")
        return _url_map(self._transport.request("GET", path), "urls")


def _component(spec: ComponentSpec | Mapping[str, Any]) -> dict[str, Any]:
    data = spec.to_dict() if isinstance(spec, ComponentSpec) else dict(spec)
    return {k: v for k, v in data.items() if v is not None}


def _add_owner(
    body: dict[str, Any],
    run_id: str | None,
    experiment_id: str | None,
    metadata: Mapping[str, Any] | None,
) -> None:
    if run_id is not None:
        body["run_id"] = run_id
    if experiment_id is not None:
        body["experiment_id"] = experiment_id
    if metadata is not None:
        body["metadata"] = dict(metadata)


def _url_map(data: Any, key: str) -> dict[str, str]:
    if not isinstance(data, Mapping) or not isinstance(data.get(key), Mapping):
        raise ResponseValidationError(
            f"cannot read URL map: response has no {key!r} object", type_name="URL map", field=key
        )
    return {str(name): str(url) for name, url in data[key].items()}

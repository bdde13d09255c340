"""chronicle.assets: presigned and inline creation, finalize, listing, URL maps."""

from __future__ import annotations

import json

import httpx2
import pytest

from methodic import Chronicle, ChronicleError, types

from .scripted import ASSET, ScriptedAPI, body_of

SHA = "b" * 64


def test_create_always_presigns(api: ScriptedAPI, chronicle: Chronicle) -> None:
    api.route(
        "POST",
        "/assets",
        status=201,
        json={"asset": ASSET, "upload_urls": {"model.bin": "http://s/u?signature=x"}},
    )
    presigned = chronicle.assets.create(
        kind="output",
        name="model.bin",
        components=[
            types.ComponentSpec("model.bin", 10, SHA),
            {"name": "meta.json", "size": 2, "sha256": SHA, "content_type": "application/json"},
        ],
        run_id="r1",
        metadata={"step": 1},
        idempotency_key="idem-1",
    )
    assert isinstance(presigned, types.PresignedAsset)
    assert presigned.asset.id == "a1"
    assert presigned.upload_urls == {"model.bin": "http://s/u?signature=x"}
    assert body_of(api.last) == {
        "kind": "output",
        "name": "model.bin",
        "presign": True,
        "components": [
            {"name": "model.bin", "size": 10, "sha256": SHA},
            {"name": "meta.json", "size": 2, "sha256": SHA, "content_type": "application/json"},
        ],
        "run_id": "r1",
        "metadata": {"step": 1},
    }
    assert api.last.headers["Idempotency-Key"] == "idem-1"


def test_create_accepts_the_wire_presign_flag_and_hides_urls_from_repr(
    api: ScriptedAPI, chronicle: Chronicle
) -> None:
    api.route(
        "POST",
        "/assets",
        status=201,
        json={"asset": ASSET, "upload_urls": {"m.bin": "http://s/u?signature=LIVE"}},
    )
    spec = types.ComponentSpec("m.bin", 10, SHA)
    presigned = chronicle.assets.create(kind="output", name="m", components=[spec], presign=True)
    assert body_of(api.last)["presign"] is True
    # A presigned URL is a credential until it expires: a logged repr must not carry it.
    assert "LIVE" not in repr(presigned)
    with pytest.raises(ValueError, match="create_inline"):
        chronicle.assets.create(kind="output", name="m", components=[spec], presign=False)  # type: ignore[arg-type]


def test_create_inline_text(api: ScriptedAPI, chronicle: Chronicle) -> None:
    api.route("POST", "/assets", status=201, json={**ASSET, "state": "ready"})
    asset = chronicle.assets.create_inline(
        kind="research_report", name="notes.md", content="# hi", experiment_id="e1"
    )
    assert asset.state == "ready"
    assert body_of(api.last) == {
        "kind": "research_report",
        "name": "notes.md",
        "content": "# hi",
        "experiment_id": "e1",
    }
    assert "idempotency-key" not in api.last.headers


def test_create_inline_mapping_is_json_text(api: ScriptedAPI, chronicle: Chronicle) -> None:
    api.route("POST", "/assets", status=201, json={**ASSET, "state": "ready"})
    chronicle.assets.create_inline(
        kind="environment", name="env.json", content={"python": "3.11"}, idempotency_key="k"
    )
    sent = body_of(api.last)
    assert json.loads(sent["content"]) == {"python": "3.11"}
    assert sent["content_type"] == "application/json"
    assert "presign" not in sent
    assert api.last.headers["Idempotency-Key"] == "k"


def test_finalize_get(api: ScriptedAPI, chronicle: Chronicle) -> None:
    api.route("PUT", "/assets/a1/finalize", json={**ASSET, "state": "ready"})
    api.route("GET", "/assets/a1", json=ASSET)
    assert chronicle.assets.finalize("a1").state == "ready"
    assert api.last.method == "PUT"
    assert chronicle.assets.get("a1").state == "pending"


def test_list_is_one_page_that_iterates_all(api: ScriptedAPI, chronicle: Chronicle) -> None:
    pages = {
        None: {"items": [ASSET], "next_cursor": "n"},
        "n": {"items": [{**ASSET, "id": "a2"}], "next_cursor": None},
    }
    api.route(
        "GET",
        "/assets",
        reply=lambda r: httpx2.Response(200, json=pages[r.url.params.get("cursor")]),
    )
    page = chronicle.assets.list(run_id="r1", experiment_id="e1", kind="output", limit=1)
    assert [a.id for a in page.items] == ["a1"] and page.next_cursor == "n"
    assert dict(api.last.url.params) == {
        "run_id": "r1",
        "experiment_id": "e1",
        "kind": "output",
        "limit": "1",
    }
    assert [a.id for a in chronicle.assets.list(kind="output")] == ["a1", "a2"]


def test_upload_and_download_urls(api: ScriptedAPI, chronicle: Chronicle) -> None:
    api.route("POST", "/assets/a1/upload-urls", json={"upload_urls": {"c": "http://s/put"}})
    api.route("GET", "/assets/a1/download-urls", json={"urls": {"c": "http://s/get"}})
    assert chronicle.assets.upload_urls("a1") == {"c": "http://s/put"}
    assert api.last.method == "POST"
    assert chronicle.assets.download_urls("a1") == {"c": "http://s/get"}


def test_url_map_missing_is_a_chronicle_error(api: ScriptedAPI, chronicle: Chronicle) -> None:
    api.route("GET", "/assets/a1/download-urls", json={"unexpected": {}})
    with pytest.raises(ChronicleError, match="'urls'"):
        chronicle.assets.download_urls("a1")

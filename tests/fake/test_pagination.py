"""List pagination: newest first by default, `order=asc`, limit bounds, opaque cursors,
stable pages."""

from __future__ import annotations

import pytest

from methodic import BadRequestError, Chronicle
from methodic_fake import FakeChronicle


def _walk(chronicle: Chronicle, **params: object) -> tuple[list[str], int]:
    """Every id of `experiments.list(**params)`, page by page, and how many pages."""
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = chronicle.experiments.list(cursor=cursor, **params)  # type: ignore[arg-type]
        seen.extend(e.id for e in page.items)
        pages += 1
        if page.next_cursor is None:
            return seen, pages
        cursor = page.next_cursor


def test_pages_walk_every_item_once_newest_first(researcher: Chronicle) -> None:
    ids = [researcher.experiments.create(f"e{i}").id for i in range(7)]
    assert _walk(researcher, limit=3) == (ids[::-1], 3)
    assert _walk(researcher, limit=3, order="desc") == (ids[::-1], 3)


def test_order_asc_walks_oldest_first(researcher: Chronicle) -> None:
    ids = [researcher.experiments.create(f"e{i}").id for i in range(7)]
    assert _walk(researcher, limit=3, order="asc") == (ids, 3)


def test_every_list_route_takes_an_order(fake: FakeChronicle, researcher: Chronicle) -> None:
    exp = researcher.experiments.create("t")
    researcher.experiments.commit(exp.id)
    variations = [researcher.variations.create(exp.id, config_json={"i": i}) for i in range(2)]
    runs = [researcher.runs.create(variations[0].id) for _ in range(2)]
    assets = [
        researcher.assets.create_inline(kind="output", name=f"a{i}", content="x", run_id=runs[0].id)
        for i in range(2)
    ]
    lists = {
        f"/experiments/{exp.id}/variations": [v.id for v in variations],
        "/runs": [r.id for r in runs],
        "/assets": [a.id for a in assets],
    }
    http = fake.http()
    for path, created in lists.items():
        for params, expected in (({}, created[::-1]), ({"order": "asc"}, created)):
            got = [item["id"] for item in http.get(path, params=params).json()["items"]]
            assert got == expected, (path, params)
        refused = http.get(path, params={"order": "newest"})
        assert refused.status_code == 422, (path, refused.text)


def test_a_cursor_keeps_its_order(fake: FakeChronicle, researcher: Chronicle) -> None:
    for i in range(3):
        researcher.experiments.create(f"e{i}")
    http = fake.http()
    newest = http.get("/experiments", params={"limit": 1}).json()["next_cursor"]
    _invalid(http.get("/experiments", params={"cursor": newest, "order": "asc"}))
    oldest = http.get("/experiments", params={"limit": 1, "order": "asc"}).json()["next_cursor"]
    _invalid(http.get("/experiments", params={"cursor": oldest}))


def test_exact_multiple_has_no_dangling_cursor(researcher: Chronicle) -> None:
    for i in range(4):
        researcher.experiments.create(f"e{i}")
    first = researcher.experiments.list(limit=2)
    second = researcher.experiments.list(limit=2, cursor=first.next_cursor)
    assert len(second.items) == 2 and second.next_cursor is None


def test_new_items_do_not_shift_a_walk(researcher: Chronicle) -> None:
    ids = [researcher.experiments.create(f"e{i}").id for i in range(4)]
    first = researcher.experiments.list(limit=2)
    late = researcher.experiments.create("late").id
    rest = researcher.experiments.list(limit=10, cursor=first.next_cursor)
    # Newest first, a newcomer sorts before the cursor: the walk goes on unshifted.
    assert [e.id for e in first.items] == ids[:1:-1]
    assert [e.id for e in rest.items] == ids[1::-1]
    # Oldest first, it appears at the end.
    first = researcher.experiments.list(limit=2, order="asc")
    later = researcher.experiments.create("later").id
    rest = researcher.experiments.list(limit=10, cursor=first.next_cursor, order="asc")
    assert [e.id for e in rest.items] == [*ids[2:], late, later]


def test_default_limit_is_50(researcher: Chronicle, fake: FakeChronicle) -> None:
    exp = researcher.experiments.create("t")
    for i in range(51):
        researcher.variations.create(exp.id, config_json={"i": i})
    page = researcher.variations.list(exp.id)
    assert len(page.items) == 50 and page.next_cursor is not None
    assert len(list(researcher.variations.list(exp.id, limit=200))) == 51


@pytest.mark.parametrize("limit", [0, 201, -1])
def test_limit_out_of_range_is_422(researcher: Chronicle, limit: int) -> None:
    with pytest.raises(BadRequestError) as info:
        researcher.experiments.list(limit=limit)
    assert info.value.status_code == 422


def test_foreign_cursor_is_400(fake: FakeChronicle) -> None:
    response = fake.http("researcher").get("/runs", params={"cursor": "not-ours"})
    assert response.status_code == 400
    assert response.json() == {"detail": "invalid cursor"}


def _invalid(response: object) -> None:
    import httpx2

    assert isinstance(response, httpx2.Response)
    assert response.status_code == 400, response.text
    assert response.json() == {"detail": "invalid cursor"}


def test_forged_cursors_are_400(fake: FakeChronicle, researcher: Chronicle) -> None:
    import base64

    for i in range(3):
        researcher.experiments.create(f"e{i}")
    http = fake.http()
    issued = http.get("/experiments", params={"limit": 1}).json()["next_cursor"]
    # Anything we did not mint: the old plain encoding of a position, or an edited cursor.
    forged = base64.urlsafe_b64encode(b"c1:1").decode().rstrip("=")
    # Edit a middle character: the last one may only carry discarded padding bits.
    middle = len(issued) // 2
    edited = issued[:middle] + ("A" if issued[middle] != "A" else "B") + issued[middle + 1 :]
    for cursor in (forged, edited, issued + "x"):
        _invalid(http.get("/experiments", params={"cursor": cursor}))
    assert http.get("/experiments", params={"cursor": issued}).status_code == 200


def test_a_cursor_only_works_on_the_list_that_issued_it(
    fake: FakeChronicle, researcher: Chronicle
) -> None:
    for i in range(3):
        researcher.experiments.create(f"e{i}", tags=["t"])
    http = fake.http()
    cursor = http.get("/experiments", params={"limit": 1}).json()["next_cursor"]
    _invalid(http.get("/experiments", params={"cursor": cursor, "tag": "t"}))
    _invalid(http.get("/runs", params={"cursor": cursor}))
    _invalid(http.get("/assets", params={"cursor": cursor}))


def test_cursors_from_before_a_reset_are_400(fake: FakeChronicle, researcher: Chronicle) -> None:
    for i in range(3):
        researcher.experiments.create(f"e{i}")
    http = fake.http()
    cursor = http.get("/experiments", params={"limit": 1}).json()["next_cursor"]
    fake.reset()
    for i in range(3):
        researcher.experiments.create(f"new{i}")
    _invalid(http.get("/experiments", params={"cursor": cursor}))


def test_cursors_from_another_fake_are_400(fake: FakeChronicle, researcher: Chronicle) -> None:
    for i in range(3):
        researcher.experiments.create(f"e{i}")
    cursor = fake.http().get("/experiments", params={"limit": 1}).json()["next_cursor"]
    with FakeChronicle.in_process() as other:
        _invalid(other.http().get("/experiments", params={"cursor": cursor}))


def test_cursors_survive_a_dev_server_restart(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    with FakeChronicle.in_process(data_dir=tmp_path) as fake:
        for i in range(3):
            fake.client().experiments.create(f"e{i}")
        cursor = fake.http().get("/experiments", params={"limit": 1}).json()["next_cursor"]
    with FakeChronicle.in_process(data_dir=tmp_path) as fake:
        page = fake.http().get("/experiments", params={"cursor": cursor}).json()
        assert [e["title"] for e in page["items"]] == ["e1", "e0"]

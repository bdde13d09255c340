"""List pagination: limit bounds, opaque cursors, stable pages."""

from __future__ import annotations

import pytest

from methodic import BadRequestError, Chronicle
from methodic_fake import FakeChronicle


def test_pages_walk_every_item_once_in_creation_order(researcher: Chronicle) -> None:
    ids = [researcher.experiments.create(f"e{i}").id for i in range(7)]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = researcher.experiments.list(limit=3, cursor=cursor)
        seen.extend(e.id for e in page.items)
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == ids
    assert pages == 3


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
    assert [e.id for e in rest.items] == [*ids[2:], late]


def test_default_limit_is_50(researcher: Chronicle, fake: FakeChronicle) -> None:
    exp = researcher.experiments.create("t")
    for i in range(51):
        researcher.variations.create(exp.id, config_json={"i": i})
    page = researcher.variations.list(exp.id)
    assert len(page.items) == 50 and page.next_cursor is not None
    assert len(list(researcher.variations.iter(exp.id, page_size=200))) == 51


@pytest.mark.parametrize("limit", [0, 201, -1])
def test_limit_out_of_range_is_422(researcher: Chronicle, limit: int) -> None:
    with pytest.raises(BadRequestError) as info:
        researcher.experiments.list(limit=limit)
    assert info.value.status_code == 422


def test_foreign_cursor_is_400(fake: FakeChronicle) -> None:
    response = fake.http("researcher").get("/runs", params={"cursor": "not-ours"})
    assert response.status_code == 400
    assert response.json() == {"detail": "invalid cursor"}

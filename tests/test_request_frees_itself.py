"""An operation's objects are freed as it ends, by reference counting: no reference cycle holds its
executor, context, loaders, views or rows for the cyclic collector (which, at one collection a
page, cost a listing request 0.7 ms: bench/README.md)."""

from __future__ import annotations

import gc
import uuid
import weakref
from collections.abc import Iterator
from typing import Any

import pytest

from aiqleads.domain.core.visibility import VisibleLead
from aiqleads.schema import lean_fields

PAGE = """
query($filter: LeadFilter) {
  leads(filter: $filter, first: 5, sort: DISTANCE) {
    totalCount
    edges { cursor node { id title price availableSeats distanceMiles address { city } location { lat } } }
  }
}
"""
SEARCH = """
query($q: String!, $filter: LeadFilter) {
  searchLeads(query: $q, filter: $filter, first: 5) { totalCount edges { node { id title } } }
}
"""


@pytest.fixture
def collector_off() -> Iterator[None]:
    """No cyclic collection while the test runs: only reference counting frees objects."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@pytest.fixture
def executors(monkeypatch: pytest.MonkeyPatch) -> list[weakref.ReferenceType[Any]]:
    """Weak references to every executor the test's operations build."""
    made: list[weakref.ReferenceType[Any]] = []
    real_init = lean_fields.LeanExecutor.__init__

    def remembered(self: Any, *args: Any, **kwargs: Any) -> None:
        real_init(self, *args, **kwargs)
        made.append(weakref.ref(self))

    monkeypatch.setattr(lean_fields.LeanExecutor, "__init__", remembered)
    return made


@pytest.fixture
def views(monkeypatch: pytest.MonkeyPatch) -> list[weakref.ReferenceType[Any]]:
    """Weak references to every lead view (and so every page row it holds) the operations build."""
    made: list[weakref.ReferenceType[Any]] = []
    real_init = VisibleLead.__init__

    def remembered(self: Any, *args: Any, **kwargs: Any) -> None:
        real_init(self, *args, **kwargs)
        made.append(weakref.ref(self))

    monkeypatch.setattr(VisibleLead, "__init__", remembered)
    return made


async def test_a_listing_page_frees_its_executor_context_and_rows(
    gql: Any, make_lead: Any, collector_off: None, executors: list[Any], views: list[Any]
) -> None:
    city = f"Freeville {uuid.uuid4().hex[:8]}"
    for offset in range(3):
        await make_lead(city=city, lat=30.27 + offset / 1000, lng=-97.74)
    near = {"center": {"lat": 30.27, "lng": -97.74}, "radiusMiles": 5}
    answer = await gql(PAGE, {"filter": {"city": city, "near": near}})
    assert answer["data"]["leads"]["totalCount"] == 3
    assert len(executors) == 1 and len(views) == 3
    assert executors[0]() is None, "the operation's executor outlived it (a reference cycle)"
    assert [view() for view in views] == [None, None, None], "the page's rows outlived the request"


async def test_a_search_page_frees_its_executor_and_rows(
    gql: Any, make_lead: Any, collector_off: None, executors: list[Any], views: list[Any]
) -> None:
    answer = await gql(SEARCH, {"q": "home", "filter": {"city": f"Nowhere {uuid.uuid4().hex[:8]}"}})
    assert answer["data"]["searchLeads"]["totalCount"] == 0
    assert len(executors) == 1
    assert executors[0]() is None, "the operation's executor outlived it (a reference cycle)"

"""Generic Relay connections: ``Edge[T]``, ``Connection[E]`` and the cursor helpers every page uses.

The shape (fields, their order and the shared descriptions) is written once here. A paginated type is a
subclass that names its node and gives the descriptions that are specific to it, because the published
SDL describes each connection in its own words (``"The leads of this page."``, ``"The ledger entry."``)
and a generic type alone can only publish one text per field:

    @describe_fields(node="The lead.")
    @strawberry.type(description="A lead in a connection, with its cursor.")
    class LeadEdge(Edge[Lead]):
        pass

A connection is generic over its edge type rather than its node type so that it publishes that named,
described edge (``Connection[Lead]`` would publish an automatic ``LeadEdge`` with the generic texts).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

import strawberry

from aiqleads.schema.common import PageInfo

__all__ = ["LAST_EDGE", "Connection", "Edge", "describe_fields", "page_info"]

NodeT = TypeVar("NodeT")
EdgeT = TypeVar("EdgeT", bound="Edge[Any]")
TypeT = TypeVar("TypeT", bound=type)


@strawberry.type
class Edge(Generic[NodeT]):
    """One node of a page and the opaque cursor that resumes the page after it."""

    cursor: str = strawberry.field(description="Opaque cursor for pagination.")
    node: NodeT


@strawberry.type
class Connection(Generic[EdgeT]):
    """A page of edges, its pagination state and the size of the whole list."""

    edges: list[EdgeT]
    page_info: PageInfo = strawberry.field(description="Pagination state.")
    total_count: int


def describe_fields(**descriptions: str) -> Callable[[TypeT], TypeT]:
    """Give the fields inherited from a generic type this concrete type's own descriptions."""

    def apply(cls: TypeT) -> TypeT:
        definition = cls.__strawberry_definition__  # type: ignore[attr-defined]
        names = {field.python_name for field in definition.fields}
        unknown = sorted(set(descriptions) - names)
        if unknown:
            raise TypeError(f"{cls.__name__} has no fields {unknown}")
        fields = []
        for field in definition.fields:
            if field.python_name in descriptions:
                # a copy: the generic's field object is shared by every subclass
                field = copy.copy(field)
                field.description = descriptions[field.python_name]
            fields.append(field)
        definition.fields = fields
        undescribed = [field.python_name for field in fields if not field.description]
        if undescribed:
            raise TypeError(f"{cls.__name__} publishes fields without a description: {undescribed}")
        return cls

    return apply


class _LastEdge:
    """The default end cursor of page_info: the cursor of the page's last edge."""


LAST_EDGE = _LastEdge()


def page_info(
    edges: Sequence[Edge[Any]],
    *,
    has_next_page: bool,
    has_previous_page: bool,
    end_cursor: str | _LastEdge | None = LAST_EDGE,
) -> PageInfo:
    """Pagination state of a page: the cursor of its first edge and of its last (or end_cursor)."""
    if isinstance(end_cursor, _LastEdge):
        end_cursor = edges[-1].cursor if edges else None
    return PageInfo(
        has_next_page=has_next_page,
        has_previous_page=has_previous_page,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=end_cursor,
    )

"""Shared GraphQL types: scalars, errors, paging, geo inputs and the Node interface."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from aiqleads.domain.errors import ErrorCode

__all__ = [
    "JSON",
    "BoundingBoxInput",
    "ErrorCode",
    "GeoPoint",
    "GeoPointInput",
    "GeoRadiusInput",
    "Node",
    "PageInfo",
    "UserError",
]


# The one list of codes lives in the domain; registering that class publishes it (same members, same order).
strawberry.enum(ErrorCode, description="Machine-readable reason of an expected failure.")


@strawberry.type(description="An expected failure of a mutation or query, with the input field at fault.")
class UserError:
    code: ErrorCode = strawberry.field(description="Machine-readable error code.")
    message: str = strawberry.field(description="Human-readable explanation.")
    field: str | None = strawberry.field(default=None, description="Input field that caused it, if any.")

    @classmethod
    def from_domain(cls, error: object) -> UserError:
        """Map a domain error (with code, message, field attributes) to the GraphQL type."""
        return cls(
            code=ErrorCode(getattr(error, "code")),  # noqa: B009
            message=str(getattr(error, "message")),  # noqa: B009
            field=getattr(error, "field", None),
        )


@strawberry.interface(description="An object with a globally unique, opaque id (Relay).")
class Node:
    id: strawberry.ID = strawberry.field(description="Opaque global id.")


@strawberry.type(description="Cursor pagination state of a connection.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items after endCursor.")
    has_previous_page: bool = strawberry.field(description="Items before startCursor.")
    start_cursor: str | None = strawberry.field(default=None, description="Cursor of the first edge.")
    end_cursor: str | None = strawberry.field(default=None, description="Cursor of the last edge.")


@strawberry.type(description="A WGS84 point.")
class GeoPoint:
    lat: float = strawberry.field(description="Latitude in degrees, -90..90.")
    lng: float = strawberry.field(description="Longitude in degrees, -180..180.")


@strawberry.input(description="A WGS84 point.")
class GeoPointInput:
    lat: float = strawberry.field(description="Latitude in degrees, -90..90.")
    lng: float = strawberry.field(description="Longitude in degrees, -180..180.")


@strawberry.input(description="A circle: everything within radiusMiles of center.")
class GeoRadiusInput:
    center: GeoPointInput = strawberry.field(description="Centre of the circle.")
    radius_miles: float = strawberry.field(description="Radius in statute miles, > 0 and at most 500.")


@strawberry.input(description="A latitude/longitude bounding box.")
class BoundingBoxInput:
    south: float = strawberry.field(description="Southern latitude.")
    west: float = strawberry.field(description="Western longitude.")
    north: float = strawberry.field(description="Northern latitude.")
    east: float = strawberry.field(description="Eastern longitude.")

"""Bulk writes of new leads with PostgreSQL binary COPY (synthetic seeding), outside the ORM.

Binary COPY cannot carry EWKT text, so the geography column travels as EWKB through a binary
codec registered on the connection; the generated ``search_tsv`` column is left to PostgreSQL.
The caller owns the transaction (``async with conn.transaction():``).
"""

from __future__ import annotations

import contextlib
import struct
from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg

# Row layouts expected by copy_leads: lead tuples in LEAD_COLUMNS order (location as ewkb_point),
# price history tuples in PRICE_HISTORY_COLUMNS order.
LEAD_COLUMNS = (
    "id", "source", "source_url", "property_type", "title", "description", "street", "city", "state",
    "zip", "location", "asking_price", "bedrooms", "bathrooms", "sqft", "year_built", "photos",
    "posted_at", "quality_score", "fraud_score", "fraud_signals", "contact_name", "contact_phone",
    "contact_email", "price_credits", "max_buyers", "status", "priced_at", "reprice_due_at", "created_at",
    "updated_at",
)  # fmt: skip
PRICE_HISTORY_COLUMNS = ("lead_id", "price", "reason", "at")


def ewkb_point(lng: float, lat: float) -> bytes:
    """Little-endian EWKB of a 2D point with SRID 4326 (what geography's binary input takes)."""
    return struct.pack("<BIIdd", 1, 0x20000001, 4326, lng, lat)


def raw_dsn(database_url: str) -> str:
    """A libpq DSN for asyncpg from the SQLAlchemy URL."""
    return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


@contextlib.asynccontextmanager
async def copy_connection(database_url: str) -> AsyncIterator[Any]:
    """A plain asyncpg connection that can COPY leads (geography as EWKB); closed on exit."""
    conn = await asyncpg.connect(raw_dsn(database_url))
    try:
        await conn.set_type_codec("geography", schema="public", encoder=bytes, decoder=bytes, format="binary")
        yield conn
    finally:
        await conn.close()


async def copy_leads(
    conn: Any, lead_rows: Sequence[tuple[Any, ...]], history_rows: Sequence[tuple[Any, ...]]
) -> None:
    """COPY lead rows into leads, then their price points into price_history."""
    await conn.copy_records_to_table("leads", records=lead_rows, columns=list(LEAD_COLUMNS))
    await conn.copy_records_to_table(
        "price_history", records=history_rows, columns=list(PRICE_HISTORY_COLUMNS)
    )


async def count_leads(database_url: str) -> int:
    """How many leads the database holds (one short connection, no engine needed)."""
    conn = await asyncpg.connect(raw_dsn(database_url))
    try:
        return int(await conn.fetchval("SELECT count(*) FROM leads"))
    finally:
        await conn.close()

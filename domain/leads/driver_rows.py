"""Lead rows on the driver: the columns the ORM loads with a lead, and detached leads built from them.

Lead pages, counts and rows by id run on a read session's own asyncpg connection
(``aiqleads.domain.core.driver_sql``); these are the lead-shaped pieces of that path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, select

from aiqleads.domain.core.driver_sql import detached, loaded_columns
from aiqleads.domain.core.lead import Lead

# the columns the ORM loads with a lead (not its deferred ones), with their attribute names
LEAD_COLUMNS: tuple[tuple[str, ColumnElement[Any]], ...] = loaded_columns(Lead)


def lead_select(*extra: Any) -> Select[Any]:
    """``SELECT`` of a lead's listed columns (in ``LEAD_COLUMNS`` order), then ``extra`` columns."""
    return select(*(column for _, column in LEAD_COLUMNS), *extra)


def lead_of(row: Sequence[Any]) -> Lead:
    """A detached ``Lead`` from the first ``len(LEAD_COLUMNS)`` values of a row of ``lead_select``."""
    return detached(Lead, row)

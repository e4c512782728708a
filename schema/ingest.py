"""GraphQL operations of aggregation: live alerts for newly ingested leads."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry
from strawberry.types import Info

from aiqleads.resolvers import ingest as resolve
from aiqleads.resolvers.context import Context
from aiqleads.schema.leads import Lead, LeadFilter


@strawberry.type
class IngestSubscription:
    """Subscription fields of aggregation: newly ingested leads."""

    @strawberry.subscription(
        description=(
            "New leads as they are ingested that match the filter (instant alerts), "
            "from any scraper or worker process."
        )
    )
    async def new_leads(
        self,
        info: Info[Context, None],
        filter: Annotated[
            LeadFilter | None,
            strawberry.argument(
                description="Only leads matching this filter (default: every available lead)."
            ),
        ] = None,
    ) -> AsyncGenerator[Lead, None]:
        async for row in resolve.new_leads(info.context, filter):
            yield Lead.from_row(row)

"""GraphQL types and operations for operators (the admin role): withdraw a lead, change its seats,
replay dead letters, run a scrape, adjust credits, and read the audit log they all write."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from aiqleads.domain.errors import DomainError
from aiqleads.resolvers import admin as resolve
from aiqleads.resolvers.context import Context
from aiqleads.resolvers.ids import to_global_id
from aiqleads.schema.common import UserError
from aiqleads.schema.leads import LeadSource, LeadStatus

ADMIN_ONLY = " Admins only: FORBIDDEN (and audit-logged) for everyone else."


@strawberry.type(description="A lead after an admin change: its status, seats and what the change released.")
class AdminLeadChange:
    lead_id: strawberry.ID = strawberry.field(description="Global id of the lead.")
    status: LeadStatus = strawberry.field(description="The lead's status now.")
    max_buyers: int = strawberry.field(description="Seats the lead has now.")
    buyers_count: int = strawberry.field(description="Seats bought.")
    holds_count: int = strawberry.field(description="Seats held in carts now.")
    released_holds: int = strawberry.field(description="Holds this change released (each holder was told).")


@strawberry.type(description="Result of withdrawLead and setLeadSeats.")
class AdminLeadPayload:
    lead: AdminLeadChange | None = strawberry.field(default=None, description="The lead after the change.")
    errors: list[UserError] = strawberry.field(default_factory=list, description="Expected failures.")

    @classmethod
    def from_result(cls, result: Any) -> AdminLeadPayload:
        """Map a LeadChange or a DomainError."""
        if isinstance(result, DomainError):
            return cls(errors=[UserError.from_domain(result)])
        return cls(
            lead=AdminLeadChange(
                lead_id=strawberry.ID(to_global_id("Lead", result.lead_id)),
                status=LeadStatus(result.status),
                max_buyers=result.max_buyers,
                buyers_count=result.buyers_count,
                holds_count=result.holds_count,
                released_holds=result.released_holds,
            )
        )


@strawberry.type(description="A worker job that kept failing after its retries, kept for an operator.")
class DeadLetter:
    id: strawberry.ID = strawberry.field(description="Opaque id (give it to replayDeadLetter).")
    job: str = strawberry.field(description="The job's name, e.g. scrape_job.")
    arguments: JSON = strawberry.field(description="The job's arguments: {args, kwargs, job_id}.")
    error: str = strawberry.field(description="The last attempt's traceback (its last 8,000 characters).")
    attempts: int = strawberry.field(description="How many attempts were made.")
    created_at: datetime = strawberry.field(description="When the last attempt failed.")
    replayed_at: datetime | None = strawberry.field(
        default=None, description="When an admin replayed it; null until then (a letter replays once)."
    )
    replay_job_id: str | None = strawberry.field(default=None, description="The id of the replaying job.")

    @classmethod
    def from_domain(cls, row: Any) -> DeadLetter:
        """Map a dead letter row."""
        return cls(
            id=strawberry.ID(to_global_id("DeadLetter", row.id)),
            job=row.job_name,
            arguments=row.args,
            error=row.error,
            attempts=row.attempts,
            created_at=row.created_at,
            replayed_at=row.replayed_at,
            replay_job_id=row.replay_job_id,
        )


@strawberry.type(description="Result of replayDeadLetter.")
class ReplayPayload:
    dead_letter: DeadLetter | None = strawberry.field(default=None, description="The letter, now replayed.")
    job_id: str | None = strawberry.field(default=None, description="The id of the job queued to replay it.")
    errors: list[UserError] = strawberry.field(default_factory=list, description="Expected failures.")

    @classmethod
    def from_result(cls, result: Any) -> ReplayPayload:
        """Map a Replay or a DomainError."""
        if isinstance(result, DomainError):
            return cls(errors=[UserError.from_domain(result)])
        return cls(dead_letter=DeadLetter.from_domain(result.letter), job_id=result.job_id)


@strawberry.type(description="Result of runScrape.")
class RunScrapePayload:
    source: LeadSource | None = strawberry.field(default=None, description="The source to scrape.")
    region: str | None = strawberry.field(default=None, description="The region's slug, e.g. dallas.")
    job_id: str | None = strawberry.field(default=None, description="The id of the queued scrape job.")
    errors: list[UserError] = strawberry.field(default_factory=list, description="Expected failures.")

    @classmethod
    def from_result(cls, result: Any) -> RunScrapePayload:
        """Map a ScrapeRequest or a DomainError."""
        if isinstance(result, DomainError):
            return cls(errors=[UserError.from_domain(result)])
        return cls(source=LeadSource(result.source), region=result.region, job_id=result.job_id)


@strawberry.type(description="Result of adjustCredits.")
class AdjustCreditsPayload:
    user_id: strawberry.ID | None = strawberry.field(default=None, description="Global id of the user.")
    amount: int | None = strawberry.field(default=None, description="Credits added (negative: taken back).")
    balance: int | None = strawberry.field(default=None, description="The user's balance afterwards.")
    transaction_id: strawberry.ID | None = strawberry.field(
        default=None, description="Global id of the ADJUSTMENT ledger entry (a CreditTransaction)."
    )
    replayed: bool = strawberry.field(
        default=False, description="True when this idempotency key's earlier adjustment was returned."
    )
    errors: list[UserError] = strawberry.field(default_factory=list, description="Expected failures.")

    @classmethod
    def from_result(cls, result: Any) -> AdjustCreditsPayload:
        """Map an Adjustment or a DomainError."""
        if isinstance(result, DomainError):
            return cls(errors=[UserError.from_domain(result)])
        return cls(
            user_id=strawberry.ID(to_global_id("User", result.user_id)),
            amount=result.amount,
            balance=result.balance,
            transaction_id=strawberry.ID(to_global_id("CreditTransaction", result.entry_id)),
            replayed=result.replayed,
        )


@strawberry.type(description="One admin operation: who did what to which target, and its state around it.")
class AuditLogEntry:
    id: strawberry.ID = strawberry.field(description="Opaque id (entries are ordered by it).")
    actor_id: strawberry.ID | None = strawberry.field(
        default=None, description="Global id of the User who called the operation (null if since deleted)."
    )
    action: str = strawberry.field(description="The operation, e.g. withdrawLead.")
    target_type: str = strawberry.field(description="What it acted on: Lead, User, DeadLetter, Scrape, …")
    target_id: str = strawberry.field(
        description="Which one (a database id, or source:region for Scrape), cut to 200 characters."
    )
    reason: str | None = strawberry.field(default=None, description="The reason the admin gave, if any.")
    before: JSON | None = strawberry.field(default=None, description="The target's state before the change.")
    after: JSON | None = strawberry.field(
        default=None, description="The target's state after it; {refused: FORBIDDEN} for a refused call."
    )
    at: datetime = strawberry.field(description="When it happened.")

    @classmethod
    def from_domain(cls, row: Any) -> AuditLogEntry:
        """Map an audit log row."""
        return cls(
            id=strawberry.ID(to_global_id("AuditLogEntry", row.id)),
            actor_id=strawberry.ID(to_global_id("User", row.actor_id)) if row.actor_id else None,
            action=row.action,
            target_type=row.target_type,
            target_id=row.target_id,
            reason=row.reason,
            before=row.before,
            after=row.after,
            at=row.at,
        )


PAGE = Annotated[int | None, strawberry.argument(description="Page size, 0..100.")]


@strawberry.type
class AdminQuery:
    """Query fields for operators."""

    @strawberry.field(
        description="Dead letters, newest first; `after` is the id of the last one seen." + ADMIN_ONLY
    )
    async def dead_letters(
        self,
        info: Info[Context, None],
        first: PAGE = 20,
        after: Annotated[
            str | None, strawberry.argument(description="Id of the last dead letter of the previous page.")
        ] = None,
    ) -> list[DeadLetter]:
        rows = await resolve.dead_letters(info.context, 20 if first is None else first, after)
        return [DeadLetter.from_domain(row) for row in rows]

    @strawberry.field(
        description="Every admin operation (and refused attempt), newest first; `after` is the id of the "
        "last entry seen." + ADMIN_ONLY
    )
    async def audit_log(
        self,
        info: Info[Context, None],
        first: PAGE = 20,
        after: Annotated[
            str | None, strawberry.argument(description="Id of the last entry of the previous page.")
        ] = None,
    ) -> list[AuditLogEntry]:
        rows = await resolve.audit_log(info.context, 20 if first is None else first, after)
        return [AuditLogEntry.from_domain(row) for row in rows]


REASON = Annotated[str, strawberry.argument(description="Why (1..500 characters; kept in the audit log).")]


@strawberry.type
class AdminMutation:
    """Mutations for operators; each is audit-logged with its before and after."""

    @strawberry.mutation(
        description="Take a lead off the market: WITHDRAWN, every hold released with a LEAD_WITHDRAWN cart "
        "event, out of search; buyers keep their purchases. LEAD_UNAVAILABLE if already withdrawn."
        + ADMIN_ONLY
    )
    async def withdraw_lead(
        self,
        info: Info[Context, None],
        lead_id: Annotated[strawberry.ID, strawberry.argument(description="The lead to withdraw.")],
        reason: REASON,
    ) -> AdminLeadPayload:
        return AdminLeadPayload.from_result(await resolve.withdraw_lead(info.context, lead_id, reason))

    @strawberry.mutation(
        description="Set how many buyers a lead may have (1 = exclusive, up to 5 shared), never fewer than "
        "its buyers and holds (INVALID_INPUT); the lead is repriced and reindexed." + ADMIN_ONLY
    )
    async def set_lead_seats(
        self,
        info: Info[Context, None],
        lead_id: Annotated[strawberry.ID, strawberry.argument(description="The lead.")],
        max_buyers: Annotated[int, strawberry.argument(description="Its seats, 1..5.")],
    ) -> AdminLeadPayload:
        return AdminLeadPayload.from_result(await resolve.set_lead_seats(info.context, lead_id, max_buyers))

    @strawberry.mutation(
        description="Queue a dead letter's job again with its arguments; once per letter (ALREADY_REPLAYED)."
        + ADMIN_ONLY
    )
    async def replay_dead_letter(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="The dead letter (deadLetters).")],
    ) -> ReplayPayload:
        return ReplayPayload.from_result(await resolve.replay_dead_letter(info.context, id))

    @strawberry.mutation(
        description="Queue a scrape of one source's region now; the worker runs one scrape per source and "
        "region at a time." + ADMIN_ONLY
    )
    async def run_scrape(
        self,
        info: Info[Context, None],
        source: Annotated[LeadSource, strawberry.argument(description="The site to scrape.")],
        region: Annotated[str, strawberry.argument(description="The region, e.g. dallas or Dallas, TX.")],
    ) -> RunScrapePayload:
        return RunScrapePayload.from_result(await resolve.run_scrape(info.context, source.value, region))

    @strawberry.mutation(
        description="Add credits to a user's balance, or take some back (negative), as an ADJUSTMENT entry "
        "of the ledger; never below zero (INSUFFICIENT_CREDITS)." + ADMIN_ONLY
    )
    async def adjust_credits(
        self,
        info: Info[Context, None],
        user_id: Annotated[strawberry.ID, strawberry.argument(description="The user.")],
        amount: Annotated[int, strawberry.argument(description="Credits, ±1..1,000,000.")],
        reason: REASON,
        idempotency_key: Annotated[
            str | None,
            strawberry.argument(description="Optional: a retry with the same key returns the first result."),
        ] = None,
    ) -> AdjustCreditsPayload:
        result = await resolve.adjust_credits(info.context, user_id, amount, reason, idempotency_key)
        return AdjustCreditsPayload.from_result(result)

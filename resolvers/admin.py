"""Resolvers of the admin operations: check the role first (a refusal is audit-logged by the domain),
then parse the ids and call one use case of ``domain/admin/operations``."""

from __future__ import annotations

from aiqleads.domain.admin import operations
from aiqleads.domain.admin.models import AuditLogEntry
from aiqleads.domain.admin.operations import Actor, Adjustment, LeadChange, Replay, ScrapeRequest
from aiqleads.domain.errors import invalid_input
from aiqleads.domain.ingest.models import DeadLetter
from aiqleads.resolvers.auth import require_viewer
from aiqleads.resolvers.context import Context
from aiqleads.resolvers.errors import mutation_errors, query_errors
from aiqleads.resolvers.ids import from_global_id, uuid_of


async def _admin(ctx: Context, action: str, target_type: str, target: object) -> Actor:
    """The signed-in admin calling ``action`` (FORBIDDEN, and audit-logged, for anyone else)."""
    user = require_viewer(ctx)
    actor = Actor(user.id, user.role)
    await operations.require_admin(ctx.deps, actor, action, target_type, target)
    return actor


@mutation_errors()
async def withdraw_lead(ctx: Context, lead_id: str, reason: str) -> LeadChange:
    """Withdraw a lead from the market."""
    actor = await _admin(ctx, "withdrawLead", "Lead", lead_id)
    return await operations.withdraw_lead(ctx.deps, actor, uuid_of(lead_id, "Lead", "leadId"), reason)


@mutation_errors()
async def set_lead_seats(ctx: Context, lead_id: str, max_buyers: int) -> LeadChange:
    """Change a lead's number of seats."""
    actor = await _admin(ctx, "setLeadSeats", "Lead", lead_id)
    return await operations.set_lead_seats(ctx.deps, actor, uuid_of(lead_id, "Lead", "leadId"), max_buyers)


@mutation_errors()
async def replay_dead_letter(ctx: Context, letter_id: str) -> Replay:
    """Replay a dead letter's job once."""
    actor = await _admin(ctx, "replayDeadLetter", "DeadLetter", letter_id)
    return await operations.replay_dead_letter(ctx.deps, actor, uuid_of(letter_id, "DeadLetter", "id"))


@mutation_errors()
async def run_scrape(ctx: Context, source: str, region: str) -> ScrapeRequest:
    """Queue a scrape of one source's region."""
    actor = await _admin(ctx, "runScrape", "Scrape", f"{source}:{region}")
    return await operations.run_scrape(ctx.deps, actor, source, region)


@mutation_errors()
async def adjust_credits(
    ctx: Context, user_id: str, amount: int, reason: str, idempotency_key: str | None
) -> Adjustment:
    """Adjust a user's credits through the ledger."""
    actor = await _admin(ctx, "adjustCredits", "User", user_id)
    return await operations.adjust_credits(
        ctx.deps, actor, uuid_of(user_id, "User", "userId"), amount, reason, idempotency_key
    )


@query_errors
async def dead_letters(ctx: Context, first: int, after: str | None) -> list[DeadLetter]:
    """Dead letters, newest first."""
    actor = await _admin(ctx, "deadLetters", "DeadLetter", after or "*")
    after_id = uuid_of(after, "DeadLetter", "after") if after else None
    async with ctx.read_session() as session:
        return await operations.dead_letters(ctx.deps, session, actor, first, after_id)


@query_errors
async def audit_log(ctx: Context, first: int, after: str | None) -> list[AuditLogEntry]:
    """The audit log, newest first."""
    actor = await _admin(ctx, "auditLog", "AuditLog", after or "*")
    after_id = _entry_id(after) if after else None
    async with ctx.read_session() as session:
        return await operations.audit_log(ctx.deps, session, actor, first, after_id)


def _entry_id(global_id: str) -> int:
    type_name, raw = from_global_id(global_id, "after")
    if type_name != "AuditLogEntry" or not raw.isdigit() or len(raw) > 18:
        raise invalid_input("Expected the id of an audit log entry.", "after")
    return int(raw)

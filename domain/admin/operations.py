"""Admin operations, each one unit of work with its audit entry in the same transaction.

Every operation takes the ``Actor`` calling it. A caller without the admin role is refused with
FORBIDDEN, and the refusal is itself audit-logged (in a transaction of its own, since the refused
operation writes nothing). A successful mutation records its actor, action, target, reason and the
target's state before and after; an operation refused for bad input writes nothing at all.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.domain.admin import audit
from aiqleads.domain.admin.models import AuditLogEntry
from aiqleads.domain.core.lead import Lead
from aiqleads.domain.core.regions import resolve_region
from aiqleads.domain.core.seats import MAX_SEATS
from aiqleads.domain.core.vocabulary import LEAD_SOURCES
from aiqleads.domain.credits import ledger
from aiqleads.domain.errors import DomainError, ErrorCode, invalid_input, not_found
from aiqleads.domain.ingest.models import DeadLetter
from aiqleads.domain.jobs import EnqueueRefused, JobName, enqueue_now
from aiqleads.domain.leads.retirement import retire_leads
from aiqleads.domain.text_input import reject_control_characters
from aiqleads.domain.unit_of_work import Backends, UnitOfWork

MAX_REASON = 500
MAX_ADJUSTMENT = 1_000_000
MAX_PAGE = 100


@dataclass(frozen=True)
class Actor:
    """Who calls an admin operation: the signed-in user's id and role."""

    id: uuid.UUID
    role: str


@dataclass(frozen=True)
class LeadChange:
    """A lead after an admin change: its status and seats, and the holds the change released."""

    lead_id: uuid.UUID
    status: str
    max_buyers: int
    buyers_count: int
    holds_count: int
    released_holds: int = 0


@dataclass(frozen=True)
class Replay:
    """A dead letter put back on the queue, and the id of the job that replays it."""

    letter: DeadLetter
    job_id: str


@dataclass(frozen=True)
class ScrapeRequest:
    """A scrape queued by an admin."""

    source: str
    region: str
    job_id: str


@dataclass(frozen=True)
class Adjustment:
    """Credits an admin added or took back, and the user's balance afterwards."""

    user_id: uuid.UUID
    amount: int
    balance: int
    entry_id: int
    replayed: bool = False


async def require_admin(deps: Backends, actor: Actor, action: str, target_type: str, target: object) -> None:
    """Pass for admins; otherwise audit-log the refused call and raise FORBIDDEN."""
    if actor.role == "admin":
        return
    async with UnitOfWork(deps) as uow:
        await audit.record(
            uow.session, actor.id, action, target_type, target, after={"refused": ErrorCode.FORBIDDEN.value}
        )
    raise DomainError(ErrorCode.FORBIDDEN, "This operation needs the admin role.")


def _reason(reason: str) -> str:
    text = reject_control_characters(reason.strip(), "reason", multiline=True)
    if not text:
        raise invalid_input("Give a reason (it goes into the audit log).", "reason")
    if len(text) > MAX_REASON:
        raise invalid_input(f"The reason is at most {MAX_REASON} characters.", "reason")
    return text


async def _locked_lead(session: AsyncSession, lead_id: uuid.UUID) -> Lead:
    """The lead's row under the seat lock every hold and checkout takes (FOR NO KEY UPDATE)."""
    lead = (
        await session.scalars(
            select(Lead)
            .where(Lead.id == lead_id)
            .with_for_update(key_share=True)
            .execution_options(populate_existing=True)
        )
    ).first()
    if lead is None:
        raise not_found("No such lead.", "leadId")
    return lead


def _lead_state(lead: Lead) -> dict[str, Any]:
    return {
        "status": lead.status,
        "max_buyers": lead.max_buyers,
        "buyers_count": lead.buyers_count,
        "holds_count": lead.holds_count,
    }


async def withdraw_lead(
    deps: Backends, actor: Actor, lead_id: uuid.UUID, reason: str, now: datetime | None = None
) -> LeadChange:
    """Take a lead off the market for good: WITHDRAWN, its holds released (each holder told), out of
    search; buyers keep their purchases. LEAD_UNAVAILABLE when it is already withdrawn."""
    await require_admin(deps, actor, "withdrawLead", "Lead", lead_id)
    text = _reason(reason)
    async with UnitOfWork(deps) as uow:
        lead = await _locked_lead(uow.session, lead_id)
        before = _lead_state(lead)
        if lead.status == "WITHDRAWN":
            raise DomainError(ErrorCode.LEAD_UNAVAILABLE, "This lead is already withdrawn.", "leadId")
        await retire_leads(uow, [lead_id], "WITHDRAWN", text, now or datetime.now(UTC))
        after = {**before, "status": "WITHDRAWN", "holds_count": 0}
        await audit.record(
            uow.session, actor.id, "withdrawLead", "Lead", lead_id, reason=text, before=before, after=after
        )
    return LeadChange(
        lead_id, "WITHDRAWN", before["max_buyers"], before["buyers_count"], 0, before["holds_count"]
    )


async def set_lead_seats(deps: Backends, actor: Actor, lead_id: uuid.UUID, max_buyers: int) -> LeadChange:
    """Change how many buyers a lead may have (1..5, never fewer than its buyers and holds); the
    lead is repriced (a shared seat costs less) and reindexed after the commit."""
    await require_admin(deps, actor, "setLeadSeats", "Lead", lead_id)
    if not 1 <= max_buyers <= MAX_SEATS:
        raise invalid_input(f"A lead has 1 to {MAX_SEATS} seats.", "maxBuyers")
    async with UnitOfWork(deps) as uow:
        lead = await _locked_lead(uow.session, lead_id)
        before = _lead_state(lead)
        taken = lead.buyers_count + lead.holds_count
        if max_buyers < taken:
            raise invalid_input(
                f"This lead has {lead.buyers_count} buyer(s) and {lead.holds_count} hold(s): "
                f"it needs at least {taken} seat(s).",
                "maxBuyers",
            )
        status = lead.status
        if status in ("AVAILABLE", "SOLD_OUT"):  # a retired lead stays retired whatever its seats
            status = "SOLD_OUT" if lead.buyers_count >= max_buyers else "AVAILABLE"
        await uow.session.execute(
            update(Lead)
            .where(Lead.id == lead_id)
            .values(max_buyers=max_buyers, status=status)
            .execution_options(synchronize_session=False)
        )
        after = {**before, "max_buyers": max_buyers, "status": status}
        await audit.record(uow.session, actor.id, "setLeadSeats", "Lead", lead_id, before=before, after=after)
        uow.reindex([lead_id])
        uow.enqueue(JobName.REPRICE_LEAD, str(lead_id))
    return LeadChange(lead_id, status, max_buyers, lead.buyers_count, lead.holds_count)


async def dead_letters(
    deps: Backends, session: AsyncSession, actor: Actor, first: int, after: uuid.UUID | None
) -> list[DeadLetter]:
    """Dead letters newest first, after the letter with id ``after``."""
    await require_admin(deps, actor, "deadLetters", "DeadLetter", after or "*")
    stmt = select(DeadLetter).order_by(DeadLetter.created_at.desc(), DeadLetter.id.desc())
    if after is not None:
        anchor = (await session.execute(select(DeadLetter.created_at).where(DeadLetter.id == after))).first()
        if anchor is None:
            raise not_found("No dead letter has the id given as after.", "after")
        stmt = stmt.where(
            (DeadLetter.created_at < anchor[0])
            | ((DeadLetter.created_at == anchor[0]) & (DeadLetter.id < after))
        )
    return list(await session.scalars(stmt.limit(max(0, min(first, MAX_PAGE)))))


async def replay_dead_letter(
    deps: Backends, actor: Actor, letter_id: uuid.UUID, now: datetime | None = None
) -> Replay:
    """Put a dead letter's job back on the queue with its arguments, once (ALREADY_REPLAYED after)."""
    await require_admin(deps, actor, "replayDeadLetter", "DeadLetter", letter_id)
    async with UnitOfWork(deps) as uow:
        letter = (
            await uow.session.scalars(select(DeadLetter).where(DeadLetter.id == letter_id).with_for_update())
        ).first()
        if letter is None:
            raise not_found("No such dead letter.", "id")
        if letter.replayed_at is not None:
            raise DomainError(
                ErrorCode.ALREADY_REPLAYED,
                f"This dead letter was replayed at {letter.replayed_at.isoformat()} "
                f"as job {letter.replay_job_id}.",
                "id",
            )
        try:
            job = JobName(letter.job_name)
        except ValueError:
            raise invalid_input(f"{letter.job_name!r} is not a job this worker runs.", "id") from None
        payload = letter.args or {}
        args = list(payload.get("args") or [])
        kwargs = dict(payload.get("kwargs") or {})
        job_id = f"replay:{letter.id}"
        before = {"replayed_at": None}
        letter.replayed_at = now or datetime.now(UTC)
        letter.replay_job_id = job_id
        await uow.session.flush()
        await audit.record(
            uow.session,
            actor.id,
            "replayDeadLetter",
            "DeadLetter",
            letter_id,
            before=before,
            after={"replayed_at": letter.replayed_at.isoformat(), "job": str(job), "job_id": job_id},
        )
    # after the commit, as every enqueue; but the answer is the job, so a refusal is not only logged:
    # the letter is put back (replayable again) and the admin told
    try:
        await enqueue_now(deps.arq, deps.settings.arq_queue_name, job, *args, job_id=job_id, kwargs=kwargs)
    except EnqueueRefused as exc:
        await _unmark_replay(deps, actor, letter_id, job_id)
        raise queue_unavailable() from exc
    return Replay(letter, job_id)


def queue_unavailable() -> DomainError:
    """The error of an operation whose job the queue refused: nothing was queued."""
    return DomainError(
        ErrorCode.SERVICE_UNAVAILABLE, "The job queue is unavailable; nothing was queued. Retry shortly."
    )


async def _unmark_replay(deps: Backends, actor: Actor, letter_id: uuid.UUID, job_id: str) -> None:
    """Undo a replay whose job was refused (if no other replay has taken the letter since)."""
    async with UnitOfWork(deps) as uow:
        undone = await uow.session.execute(
            update(DeadLetter)
            .where(DeadLetter.id == letter_id, DeadLetter.replay_job_id == job_id)
            .values(replayed_at=None, replay_job_id=None)
        )
        if undone.rowcount:  # type: ignore[attr-defined]
            await audit.record(
                uow.session,
                actor.id,
                "replayDeadLetter",
                "DeadLetter",
                letter_id,
                before={"job_id": job_id},
                after={"replayed_at": None, "error": "the job queue refused the job"},
            )


async def run_scrape(deps: Backends, actor: Actor, source: str, region: str) -> ScrapeRequest:
    """Queue one scrape of a source's region now (the worker's per-region lock still applies)."""
    await require_admin(deps, actor, "runScrape", "Scrape", f"{source}:{region}")
    name = source.strip().upper()
    if name not in LEAD_SOURCES:
        raise invalid_input(f"Unknown source; one of {', '.join(LEAD_SOURCES)}.", "source")
    try:
        slug = resolve_region(region).slug
    except ValueError as exc:
        raise invalid_input(str(exc).capitalize() + ".", "region") from None
    job_id = f"admin-scrape:{name.lower()}:{slug}:{uuid.uuid4().hex}"
    async with UnitOfWork(deps) as uow:
        await audit.record(
            uow.session,
            actor.id,
            "runScrape",
            "Scrape",
            f"{name}:{slug}",
            after={"job": str(JobName.SCRAPE), "job_id": job_id},
        )
    try:  # after the commit; the answer is the job id, so a refusal is the admin's error
        await enqueue_now(
            deps.arq,
            deps.settings.arq_queue_name,
            JobName.SCRAPE,
            name.lower(),
            slug,
            None,
            "admin",
            job_id=job_id,
        )
    except EnqueueRefused as exc:
        raise queue_unavailable() from exc
    return ScrapeRequest(name, slug, job_id)


async def adjust_credits(
    deps: Backends,
    actor: Actor,
    user_id: uuid.UUID,
    amount: int,
    reason: str,
    idempotency_key: str | None = None,
) -> Adjustment:
    """Add (or, negative, take back) credits through the ledger as an ADJUSTMENT entry; never below a
    zero balance (INSUFFICIENT_CREDITS). With an idempotency key, a retry returns the first result."""
    await require_admin(deps, actor, "adjustCredits", "User", user_id)
    if amount == 0 or abs(amount) > MAX_ADJUSTMENT:
        raise invalid_input(f"Adjust by 1 to {MAX_ADJUSTMENT:,} credits, up or down.", "amount")
    text = _reason(reason)
    ref = None
    if idempotency_key is not None:
        key = idempotency_key.strip()
        if not 1 <= len(key) <= 200:
            raise invalid_input("The idempotency key has 1 to 200 characters.", "idempotencyKey")
        ref = f"admin:{key}"
    async with UnitOfWork(deps) as uow:
        user = await ledger.lock_user(uow.session, user_id)
        before = user.credit_balance
        posting = await ledger.post(
            uow.session, user_id, amount, "ADJUSTMENT", f"Admin adjustment: {text}", ref=ref, locked=user
        )
        if not posting.created:
            entry = posting.entry
            if entry.amount != amount:
                raise DomainError(
                    ErrorCode.IDEMPOTENCY_CONFLICT,
                    "This idempotency key was used for another adjustment.",
                    "idempotencyKey",
                )
            return Adjustment(user_id, amount, posting.balance, entry.id, replayed=True)
        await audit.record(
            uow.session,
            actor.id,
            "adjustCredits",
            "User",
            user_id,
            reason=text,
            before={"balance": before},
            after={"balance": posting.balance, "amount": amount, "ledger_entry": posting.entry.id},
        )
    return Adjustment(user_id, amount, posting.balance, posting.entry.id)


async def audit_log(
    deps: Backends, session: AsyncSession, actor: Actor, first: int, after: int | None
) -> list[AuditLogEntry]:
    """The audit log, newest first, after the entry with id ``after``."""
    await require_admin(deps, actor, "auditLog", "AuditLog", after or "*")
    return await audit.entries(session, first, after)

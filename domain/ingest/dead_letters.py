"""Dead letters: worker jobs that kept failing after every retry, kept for an operator."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.domain.ingest.models import DeadLetter


async def record_dead_letter(
    session: AsyncSession, job_name: str, args: dict[str, Any], error: str, attempts: int
) -> DeadLetter:
    """Store one failed job with its arguments and last error; flushes, never commits."""
    letter = DeadLetter(job_name=job_name[:120], args=args, error=error[:8000], attempts=attempts)
    session.add(letter)
    await session.flush()
    return letter


async def dead_letters_for(session: AsyncSession, job_name: str) -> list[DeadLetter]:
    """Dead letters of one job, oldest first."""
    rows = await session.scalars(
        select(DeadLetter).where(DeadLetter.job_name == job_name).order_by(DeadLetter.created_at)
    )
    return list(rows)

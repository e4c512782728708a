"""Rows of the ingestion area: dead letters of scrape and clean jobs that kept failing."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from aiqleads.domain.db import Base


class DeadLetter(Base):
    """A worker job that kept failing after its retries, kept for an operator to inspect."""

    __tablename__ = "dead_letters"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    job_name: Mapped[str] = mapped_column(String(120))
    args: Mapped[dict[str, Any]] = mapped_column(JSONB)
    error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # set when an operator replays the letter (replayDeadLetter): a letter is replayed at most once
    replayed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    replay_job_id: Mapped[str | None] = mapped_column(Text)

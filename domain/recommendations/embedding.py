"""Embedding leads: after ingestion (by id), and every lead without a vector of the current model
(seeding, ``aiqleads reembed``, the worker's sweep). Each batch is one unit of work, so a run that
stops half way keeps what it wrote and the next run carries on from there."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiqleads.domain.recommendations import embedding_store as store
from aiqleads.domain.recommendations.embedder import Embedder
from aiqleads.domain.recommendations.lead_text import embedding_text, text_hash
from aiqleads.domain.unit_of_work import Backends, UnitOfWork, read_only

Progress = Callable[[str], None]

BATCH_ROWS = 512


@dataclass
class EmbedReport:
    """What a run did: leads given a vector, texts the model computed, vectors reused, skipped."""

    embedded: int = 0
    computed: int = 0
    reused: int = 0
    unchanged: int = 0
    seconds: float = 0.0
    batches: list[int] = field(default_factory=list)

    def line(self) -> str:
        """The one-line summary CLI commands and jobs print."""
        rate = self.embedded / self.seconds if self.seconds > 0 else 0.0
        return (
            f"embedded {self.embedded:,} leads ({self.computed:,} texts computed, {self.reused:,} reused, "
            f"{self.unchanged:,} unchanged) in {self.seconds:.1f}s, {rate:,.0f} leads/s"
        )


async def _embed_rows(
    deps: Backends, embedder: Embedder, rows: Sequence[Any], report: EmbedReport, *, force: bool
) -> None:
    """Embed the rows whose text or model changed (all of them with ``force``) and store them."""
    model = embedder.model_id
    todo: list[tuple[uuid.UUID, str, str]] = []
    for row in rows:
        text = embedding_text(row)
        digest = text_hash(text)
        if not force and row.embedding_model == model and row.embedding_text_hash == digest:
            report.unchanged += 1
            continue
        todo.append((row.id, text, digest))
    if not todo:
        return
    async with UnitOfWork(deps) as uow:
        known = await store.vectors_for_texts(uow.session, model, sorted({d for _, _, d in todo}))
        missing = sorted({text: digest for _, text, digest in todo if digest not in known}.items())
        if missing:
            vectors = await embedder.embed([text for text, _ in missing])
            known.update({digest: vectors[i] for i, (_, digest) in enumerate(missing)})
        computed = {digest for _, digest in missing}
        report.computed += len(missing)
        report.reused += sum(1 for _, _, digest in todo if digest not in computed)
        written = [store.EmbeddedRow(lead_id, known[digest], digest) for lead_id, _, digest in todo]
        await store.write_embeddings(uow.session, model, written)
    report.embedded += len(todo)


async def embed_leads(deps: Backends, embedder: Embedder, lead_ids: Sequence[uuid.UUID]) -> EmbedReport:
    """Give these leads a vector where their text or the model changed (the job after ingestion)."""
    report = EmbedReport()
    started = time.perf_counter()
    ids = sorted(set(lead_ids))
    for start in range(0, len(ids), BATCH_ROWS):
        async with read_only(deps) as session:
            rows = await store.rows_by_id(session, ids[start : start + BATCH_ROWS])
        await _embed_rows(deps, embedder, rows, report, force=False)
    report.seconds = time.perf_counter() - started
    return report


async def embed_missing(
    deps: Backends,
    embedder: Embedder,
    *,
    progress: Progress | None = None,
    max_leads: int | None = None,
) -> EmbedReport:
    """Embed every lead without a vector of the current model (at most ``max_leads``), printing a
    progress line about every 5%; resumable, since finished batches stay committed."""
    say = progress or (lambda _msg: None)
    report = EmbedReport()
    started = time.perf_counter()
    model = embedder.model_id
    async with read_only(deps) as session:
        total = await store.count_needing_model(session, model)
    if max_leads is not None:
        total = min(total, max_leads)
    if total == 0:
        report.seconds = time.perf_counter() - started
        return report
    say(f"embedding {total:,} leads with {model}")
    after: uuid.UUID | None = None
    step = max(1, total // 20)
    next_line = step
    while report.embedded < total:
        limit = min(BATCH_ROWS, total - report.embedded)
        async with read_only(deps) as session:
            rows = await store.rows_needing_model(session, model, after, limit)
        if not rows:
            break
        after = rows[-1].id
        await _embed_rows(deps, embedder, rows, report, force=True)
        if report.embedded >= next_line or report.embedded >= total:
            elapsed = time.perf_counter() - started
            rate = report.embedded / elapsed if elapsed > 0 else 0.0
            eta = (total - report.embedded) / rate if rate > 0 else 0.0
            say(
                f"  {report.embedded:>9,}/{total:,} leads embedded ({report.embedded * 100 // total}%, "
                f"{elapsed:.1f}s, {rate:,.0f} leads/s, about {eta:.0f}s left)"
            )
            next_line = report.embedded + step
    report.seconds = time.perf_counter() - started
    return report

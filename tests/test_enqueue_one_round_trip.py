"""Jobs are enqueued in one Redis round trip, in arq's own format (arq reads and runs them)."""

from __future__ import annotations

import uuid
from typing import Any

from arq.jobs import Job, JobStatus

from aiqleads.domain.bootstrap import Deps
from aiqleads.domain.jobs import JobName, enqueue


def _count_commands(client: Any) -> list[str]:
    calls: list[str] = []
    original = client.execute_command

    async def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(str(args[0]))
        return await original(*args, **kwargs)

    client.execute_command = counting
    return calls


async def test_enqueue_is_one_round_trip_and_arq_reads_the_job(deps: Deps) -> None:
    queue = f"aiqtest:enqueue:{uuid.uuid4().hex}"
    lead = str(uuid.uuid4())
    calls = _count_commands(deps.arq)
    try:
        assert await enqueue(deps.arq, queue, JobName.REPRICE_LEAD, lead, job_id=f"reprice-{lead}")
    finally:
        del deps.arq.execute_command  # the instance attribute shadowed the method
    assert calls in (["EVALSHA"], ["EVALSHA", "EVAL"])  # EVAL only when the server lacked the script
    queued = await deps.arq.queued_jobs(queue_name=queue)
    assert [(j.function, j.args, j.job_id) for j in queued] == [
        ("reprice_lead_job", (lead,), f"reprice-{lead}")
    ]
    job = Job(f"reprice-{lead}", deps.arq, _queue_name=queue)
    assert await job.status() == JobStatus.queued
    assert await deps.redis.pttl(f"arq:job:reprice-{lead}") > 0  # expires like arq's own jobs
    await deps.redis.delete(queue, f"arq:job:reprice-{lead}")


async def test_a_job_id_already_queued_absorbs_the_next_enqueue(deps: Deps) -> None:
    queue = f"aiqtest:enqueue:{uuid.uuid4().hex}"
    job_id = f"coalesce-{uuid.uuid4().hex}"
    assert await enqueue(deps.arq, queue, JobName.UPDATE_PROFILES, job_id=job_id)
    assert not await enqueue(deps.arq, queue, JobName.UPDATE_PROFILES, job_id=job_id)
    assert len(await deps.arq.queued_jobs(queue_name=queue)) == 1
    # a kept result also absorbs it, as with arq's enqueue_job
    other = f"done-{uuid.uuid4().hex}"
    await deps.redis.set(f"arq:result:{other}", b"x", ex=60)
    assert not await enqueue(deps.arq, queue, JobName.UPDATE_PROFILES, job_id=other)
    await deps.redis.delete(queue, f"arq:job:{job_id}", f"arq:result:{other}")

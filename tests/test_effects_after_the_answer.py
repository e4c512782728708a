"""An HTTP GraphQL operation sends its answer before the after-commit effects of its units of work
run (events, deadlines, demand, the index queue), and they still run, in commit order, before the
request ends; outside the HTTP edge effects run when the unit of work ends."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from aiqtest_support.asgi import post_scope
from starlette.applications import Starlette

from aiqleads.domain.bootstrap import Deps
from aiqleads.domain.cart.timers import timer_key
from aiqleads.domain.core.interactions import buffer_key
from aiqleads.domain.settings import Settings
from aiqleads.domain.unit_of_work import UnitOfWork, deferred_effects
from aiqleads.resolvers.ids import to_global_id

pytestmark = pytest.mark.integration
ADD = "mutation($id: ID!) { addToCart(leadId: $id) { errors { code } } }"


async def test_inside_the_block_effects_wait_for_its_owner_in_commit_order(deps: Deps) -> None:
    ran: list[str] = []

    async def note(label: str) -> None:
        ran.append(label)

    with deferred_effects() as batch:
        for name in ("first", "second"):
            async with UnitOfWork(deps) as uow:
                uow.after_commit(name, lambda name=name: note(name))  # type: ignore[misc]
            assert ran == []
        with pytest.raises(RuntimeError):
            async with UnitOfWork(deps) as uow:
                uow.after_commit("rolled back", lambda: note("rolled back"))
                raise RuntimeError("boom")
    await batch.run()
    assert ran == ["first", "second"]
    async with UnitOfWork(deps) as uow:  # outside the block: at once
        uow.after_commit("now", lambda: note("now"))
    assert ran == ["first", "second", "now"]


async def test_a_failing_deferred_effect_is_logged_and_the_rest_run(
    deps: Deps, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[str] = []

    async def fail() -> None:
        raise ConnectionError("redis went away")

    async def note() -> None:
        ran.append("after")

    with deferred_effects() as batch:
        async with UnitOfWork(deps) as uow:
            uow.after_commit("fails", fail)
        async with UnitOfWork(deps) as uow:
            uow.after_commit("runs", note)
    await batch.run()
    assert ran == ["after"]
    assert "after-commit effect failed: fails" in caplog.text


async def test_the_answer_is_sent_before_the_operations_effects_run(
    app: Starlette, make_user: Any, make_lead: Any, settings: Settings
) -> None:
    """The hold's interaction (an effect: buffered in Redis after the commit) is not buffered yet
    when the answer goes out, and is when the request ends; the hold's deadline, whose loss in a
    crash right after the answer would delay its expiry, is armed before the answer."""
    buyer = await make_user(credits=100)
    lead = await make_lead(price_credits=5)
    deps: Deps = app.state.deps
    key = timer_key(settings)

    async def armed() -> bool:
        members = await deps.redis.zrange(key, 0, -1)
        return any(str(buyer.id) in (m.decode() if isinstance(m, bytes) else m) for m in members)

    async def buffered() -> bool:
        entries = await deps.redis.lrange(buffer_key(settings.arq_queue_name), 0, -1)
        return any(f"{buyer.id}|{lead.id}".encode() in entry for entry in entries)

    async def state() -> str:
        return f"deadline armed: {await armed()}, interaction buffered: {await buffered()}"

    body = json.dumps({"query": ADD, "variables": {"id": to_global_id("Lead", lead.id)}}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"authorization", f"Bearer {buyer.token}".encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    scope = post_scope("/graphql", headers)
    answer: list[bytes] = []
    timeline: list[str] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            answer.append(message.get("body", b""))
            if not message.get("more_body"):
                timeline.append(f"answer sent, {await state()}")

    await app(scope, receive, send)
    assert json.loads(b"".join(answer))["data"]["addToCart"]["errors"] == []
    timeline.append(f"request ended, {await state()}")
    assert timeline == [
        "answer sent, deadline armed: True, interaction buffered: False",
        "request ended, deadline armed: True, interaction buffered: True",
    ]


async def test_a_cart_changes_redis_effects_share_one_round_trip(
    deps: Deps, make_user: Any, make_lead: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hold's deadline, event, demand signal, interaction buffer, profile job and index job go
    out in ONE pipeline, and a checkout's with the immediate reprice its purchase asks for."""
    from datetime import UTC, datetime

    from aiqleads.domain.cart import use_cases

    buyer = await make_user(credits=100)
    lead = await make_lead(price_credits=5)
    pipelines: list[list[str]] = []
    direct: list[str] = []
    make_pipeline, execute_command = deps.redis.pipeline, deps.redis.execute_command

    def counted_pipeline(*args: Any, **kwargs: Any) -> Any:
        pipe = make_pipeline(*args, **kwargs)
        execute = pipe.execute

        async def counted_execute(*a: Any, **k: Any) -> Any:
            pipelines.append([str(command[0][0]) for command in pipe.command_stack])
            return await execute(*a, **k)

        pipe.execute = counted_execute
        return pipe

    async def counted_command(*args: Any, **kwargs: Any) -> Any:
        direct.append(str(args[0]))
        return await execute_command(*args, **kwargs)

    monkeypatch.setattr(deps.redis, "pipeline", counted_pipeline)
    monkeypatch.setattr(deps.redis, "execute_command", counted_command)
    await use_cases.add_to_cart(deps, buyer.id, lead.id, datetime.now(UTC))
    assert direct == []
    assert len(pipelines) == 1, pipelines
    assert sorted(set(pipelines[0])) == ["EVAL", "EXPIRE", "PUBLISH", "RPUSH", "ZADD"], pipelines
    pipelines.clear()
    result = await use_cases.checkout(deps, buyer.id, "one-round-trip", datetime.now(UTC))
    assert result.credits_spent == 5
    assert direct == []
    assert [sorted(set(p)) for p in pipelines] == [["EVAL", "PUBLISH", "RPUSH"]], pipelines


async def test_an_effect_that_cannot_queue_its_commands_leaves_the_others_their_round_trip(
    deps: Deps, caplog: pytest.LogCaptureFixture
) -> None:
    key = f"aiqtest:effects:{uuid.uuid4().hex}"

    def broken(pipe: Any) -> None:
        pipe.set(key, "half-queued")
        raise ValueError("unknown demand signal kind")

    async with UnitOfWork(deps, concurrent_effects=True) as uow:  # the commit is not undone by it
        uow.after_commit_redis("broken", broken)
        uow.after_commit_redis("counted", lambda pipe: pipe.incr(key + ":n"))
    assert "after-commit effect failed: broken" in caplog.text
    assert await deps.redis.get(key) is None  # its half-queued command did not go out
    assert int(await deps.redis.get(key + ":n")) == 1
    await deps.redis.delete(key + ":n")

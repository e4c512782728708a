"""An HTTP GraphQL operation sends its answer before the after-commit effects of its units of work
run (events, deadlines, demand, the index queue), and they still run, in commit order, before the
request ends; outside the HTTP edge effects run when the unit of work ends."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.applications import Starlette

from aiqleads.domain.bootstrap import Deps
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


async def test_the_answer_is_sent_before_the_operations_events_are_published(
    app: Starlette, make_user: Any, make_lead: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    buyer = await make_user(credits=100)
    lead = await make_lead(price_credits=5)
    deps: Deps = app.state.deps
    timeline: list[str] = []
    publish = deps.redis.publish

    async def recorded_publish(channel: str, data: Any) -> Any:
        if str(buyer.id) in channel:
            timeline.append(f"publish {json.loads(data)['kind']}")
        return await publish(channel, data)

    monkeypatch.setattr(deps.redis, "publish", recorded_publish)
    body = json.dumps({"query": ADD, "variables": {"id": to_global_id("Lead", lead.id)}}).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {buyer.token}".encode()),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    answer: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            answer.append(message.get("body", b""))
            if not message.get("more_body"):
                timeline.append("answer sent")

    await app(scope, receive, send)
    assert json.loads(b"".join(answer))["data"]["addToCart"]["errors"] == []
    assert timeline == ["answer sent", "publish HOLD_CREATED"]

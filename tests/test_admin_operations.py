"""Admin operations over GraphQL: each refused with FORBIDDEN for non-admins (and that refusal
audit-logged), each success audit-logged with its before and after, and each doing what it says."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import pytest_asyncio
from aiqtest_support.cartkit import ADD, hub_events, lead_gid, wait_for
from arq.constants import job_key_prefix
from arq.jobs import deserialize_job
from sqlalchemy import text
from starlette.applications import Starlette

from aiqleads.domain.admin import operations
from aiqleads.domain.bootstrap import Deps
from aiqleads.domain.events import cart_channel
from aiqleads.domain.ingest.dead_letters import record_dead_letter
from aiqleads.domain.jobs import EnqueueRefused
from aiqleads.resolvers.ids import to_global_id

ERRORS = "errors { code message field }"
LEAD_CHANGE = f"lead {{ leadId status maxBuyers buyersCount holdsCount releasedHolds }} {ERRORS}"
WITHDRAW = f"""mutation W($id: ID!, $reason: String!) {{
  withdrawLead(leadId: $id, reason: $reason) {{ {LEAD_CHANGE} }} }}"""
SEATS = f"mutation S($id: ID!, $n: Int!) {{ setLeadSeats(leadId: $id, maxBuyers: $n) {{ {LEAD_CHANGE} }} }}"
REPLAY = f"""mutation R($id: ID!) {{ replayDeadLetter(id: $id) {{
  deadLetter {{ id job replayedAt replayJobId }} jobId {ERRORS} }} }}"""
SCRAPE = f"""mutation Run($source: LeadSource!, $region: String!) {{
  runScrape(source: $source, region: $region) {{ source region jobId {ERRORS} }} }}"""
ADJUST = f"""mutation A($user: ID!, $amount: Int!, $reason: String!, $key: String) {{
  adjustCredits(userId: $user, amount: $amount, reason: $reason, idempotencyKey: $key) {{
    userId amount balance transactionId replayed {ERRORS} }} }}"""
LETTERS = """query L($first: Int, $after: String) { deadLetters(first: $first, after: $after) {
  id job arguments error attempts createdAt replayedAt } }"""
AUDIT = """query Log($first: Int, $after: String) { auditLog(first: $first, after: $after) {
  id actorId action targetType targetId reason before after at } }"""
STATUS = "query One($id: ID!) { node(id: $id) { ... on Lead { status } } }"


def _deps(app: Starlette) -> Deps:
    return app.state.deps  # type: ignore[no-any-return]


async def _audit(app: Starlette, action: str, target_id: object) -> list[dict[str, Any]]:
    async with _deps(app).engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT actor_id, action, target_type, target_id, reason, before, after FROM audit_log "
                "WHERE action = :a AND target_id = :t ORDER BY id"
            ),
            {"a": action, "t": str(target_id)},
        )
        return [dict(row._mapping) for row in rows]


async def _queued_job(deps: Deps, job_id: str) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
    raw = await deps.redis.get(job_key_prefix + job_id)
    assert raw is not None, f"job {job_id} is not queued"
    job = deserialize_job(raw)
    return job.function, tuple(job.args), dict(job.kwargs)


@pytest_asyncio.fixture(loop_scope="session")
async def admin(make_user: Any) -> Any:
    return await make_user(role="admin")


@pytest_asyncio.fixture(loop_scope="session")
async def plain_user(make_user: Any) -> Any:
    return await make_user()


async def test_every_admin_operation_refuses_other_users_and_logs_the_refusal(
    gql: Any, plain_user: Any, make_lead: Any, app: Starlette
) -> None:
    lead = await make_lead()
    gid = lead_gid(lead.id)
    calls = [
        ("withdrawLead", WITHDRAW, {"id": gid, "reason": "spam"}, "Lead", gid),
        ("setLeadSeats", SEATS, {"id": gid, "n": 3}, "Lead", gid),
        ("replayDeadLetter", REPLAY, {"id": to_global_id("DeadLetter", uuid.uuid4())}, "DeadLetter", None),
        ("runScrape", SCRAPE, {"source": "ZILLOW", "region": "dallas"}, "Scrape", "ZILLOW:dallas"),
        (
            "adjustCredits",
            ADJUST,
            {"user": to_global_id("User", plain_user.id), "amount": 100, "reason": "gift"},
            "User",
            to_global_id("User", plain_user.id),
        ),
    ]
    for field, operation, variables, _target_type, target in calls:
        payload = (await gql(operation, variables, token=plain_user.token))["data"][field]
        assert [e["code"] for e in payload["errors"]] == ["FORBIDDEN"], field
        if target is None:
            target = variables["id"]
        entries = await _audit(app, field, target)
        assert entries and entries[-1]["actor_id"] == plain_user.id, field
        assert entries[-1]["after"] == {"refused": "FORBIDDEN"}
    for query, field in ((LETTERS, "deadLetters"), (AUDIT, "auditLog")):
        body = await gql(query, {}, token=plain_user.token, expect_errors=True)
        assert body["data"] is None or body["data"].get(field) is None
        assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    assert (await _audit(app, "auditLog", "*"))[-1]["actor_id"] == plain_user.id
    async with _deps(app).engine.connect() as conn:  # nothing was changed by the refused calls
        row = (
            await conn.execute(text("SELECT status, max_buyers FROM leads WHERE id = :i"), {"i": lead.id})
        ).one()
        balance = (
            await conn.execute(text("SELECT credit_balance FROM users WHERE id = :i"), {"i": plain_user.id})
        ).scalar_one()
    assert tuple(row) == ("AVAILABLE", 1) and balance == 0


async def test_a_refused_call_logs_a_bounded_target_whatever_the_caller_sends(
    gql: Any, plain_user: Any, app: Starlette
) -> None:
    region = "x" * 50_000  # not validated yet when the refusal is logged
    payload = (await gql(SCRAPE, {"source": "ZILLOW", "region": region}, token=plain_user.token))["data"]
    assert [e["code"] for e in payload["runScrape"]["errors"]] == ["FORBIDDEN"]
    async with _deps(app).engine.connect() as conn:
        logged = (
            await conn.execute(
                text(
                    "SELECT target_id FROM audit_log WHERE action = 'runScrape' AND actor_id = :u "
                    "ORDER BY id DESC LIMIT 1"
                ),
                {"u": plain_user.id},
            )
        ).scalar_one()
    assert len(logged) == 200 and logged == ("ZILLOW:" + region)[:199] + "…"


async def test_withdraw_lead_releases_holds_with_an_event_and_leaves_the_market(
    gql: Any, admin: Any, buyers: Any, make_lead: Any, app: Starlette
) -> None:
    holder = await buyers(credits=100)
    lead = await make_lead(max_buyers=2, price_credits=10, city="Withdrawton", zip="73303")
    gid = lead_gid(lead.id)
    await gql(ADD, {"id": gid}, token=holder.token)
    async with hub_events(_deps(app).hub, cart_channel(holder.id)) as events:
        result = (await gql(WITHDRAW, {"id": gid, "reason": "Seller asked us to"}, token=admin.token))[
            "data"
        ]["withdrawLead"]
        assert await wait_for(lambda: any(e["kind"] == "LEAD_WITHDRAWN" for e in events), 5), events
    assert result["errors"] == []
    assert result["lead"] == {
        "leadId": gid,
        "status": "WITHDRAWN",
        "maxBuyers": 2,
        "buyersCount": 0,
        "holdsCount": 0,
        "releasedHolds": 1,
    }
    cart = (await gql("{ cart { items { lead { id } } } }", token=holder.token))["data"]["cart"]
    assert cart["items"] == []
    listed = await gql(
        '{ leads(filter: {city: "Withdrawton"}, first: 5) { edges { node { id } } } }', token=holder.token
    )
    assert listed["data"]["leads"]["edges"] == []
    [entry] = await _audit(app, "withdrawLead", lead.id)
    assert entry["actor_id"] == admin.id and entry["reason"] == "Seller asked us to"
    assert entry["before"]["status"] == "AVAILABLE" and entry["before"]["holds_count"] == 1
    assert entry["after"]["status"] == "WITHDRAWN" and entry["after"]["holds_count"] == 0
    again = (await gql(WITHDRAW, {"id": gid, "reason": "twice"}, token=admin.token))["data"]["withdrawLead"]
    assert [e["code"] for e in again["errors"]] == ["LEAD_UNAVAILABLE"]
    blank = (await gql(WITHDRAW, {"id": gid, "reason": "  "}, token=admin.token))["data"]["withdrawLead"]
    assert blank["errors"][0]["field"] == "reason"


async def test_set_lead_seats_never_below_buyers_and_holds(
    gql: Any, admin: Any, buyers: Any, make_lead: Any, app: Starlette
) -> None:
    holder = await buyers(credits=100)
    lead = await make_lead(max_buyers=3, buyers_count=1, status="AVAILABLE", city="Seatsville", zip="73304")
    gid = lead_gid(lead.id)
    await gql(ADD, {"id": gid}, token=holder.token)  # 1 bought + 1 held
    refused = (await gql(SEATS, {"id": gid, "n": 1}, token=admin.token))["data"]["setLeadSeats"]
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("INVALID_INPUT", "maxBuyers")]
    assert "at least 2 seat" in refused["errors"][0]["message"]
    bad = (await gql(SEATS, {"id": gid, "n": 6}, token=admin.token))["data"]["setLeadSeats"]
    assert bad["errors"][0]["field"] == "maxBuyers"
    assert await _audit(app, "setLeadSeats", lead.id) == []  # refused for bad input: nothing written
    done = (await gql(SEATS, {"id": gid, "n": 2}, token=admin.token))["data"]["setLeadSeats"]
    assert done["errors"] == [] and done["lead"]["maxBuyers"] == 2 and done["lead"]["status"] == "AVAILABLE"
    queued = await _deps(app).arq.queued_jobs(queue_name=_deps(app).settings.arq_queue_name)
    assert any(j.function == "reprice_lead_job" and j.args == (str(lead.id),) for j in queued)
    [entry] = await _audit(app, "setLeadSeats", lead.id)
    assert (entry["before"]["max_buyers"], entry["after"]["max_buyers"]) == (3, 2)
    async with _deps(app).engine.connect() as conn:
        seats = (
            await conn.execute(text("SELECT max_buyers FROM leads WHERE id = :i"), {"i": lead.id})
        ).scalar_one()
    assert seats == 2


async def test_sold_out_lead_with_more_seats_is_available_again(gql: Any, admin: Any, make_lead: Any) -> None:
    lead = await make_lead(max_buyers=1, buyers_count=1, status="SOLD_OUT")
    done = (await gql(SEATS, {"id": lead_gid(lead.id), "n": 3}, token=admin.token))["data"]["setLeadSeats"]
    assert done["errors"] == [] and done["lead"]["status"] == "AVAILABLE"
    status = (await gql(STATUS, {"id": lead_gid(lead.id)}, token=admin.token))["data"]["node"]
    assert status == {"status": "AVAILABLE"}


async def test_dead_letters_are_listed_and_replayed_once(gql: Any, admin: Any, app: Starlette) -> None:
    deps = _deps(app)
    async with deps.sessionmaker() as session, session.begin():
        letter = await record_dead_letter(
            session,
            "scrape_job",
            {"args": ["zillow", "dallas"], "kwargs": {"pages": 2}, "job_id": "j-1"},
            "Traceback: boom",
            5,
        )
    gid = to_global_id("DeadLetter", letter.id)
    page = (await gql(LETTERS, {"first": 100}, token=admin.token))["data"]["deadLetters"]
    mine = [row for row in page if row["id"] == gid]
    assert mine and mine[0]["job"] == "scrape_job" and mine[0]["replayedAt"] is None
    assert mine[0]["arguments"]["kwargs"] == {"pages": 2}
    if len(page) > 1:  # paging after the first letter leaves it out
        rest = (await gql(LETTERS, {"first": 100, "after": page[0]["id"]}, token=admin.token))["data"]
        assert page[0]["id"] not in [row["id"] for row in rest["deadLetters"]]
    replay = (await gql(REPLAY, {"id": gid}, token=admin.token))["data"]["replayDeadLetter"]
    assert replay["errors"] == [] and replay["deadLetter"]["replayedAt"] is not None
    function, args, kwargs = await _queued_job(deps, replay["jobId"])
    assert (function, args, kwargs) == ("scrape_job", ("zillow", "dallas"), {"pages": 2})
    again = (await gql(REPLAY, {"id": gid}, token=admin.token))["data"]["replayDeadLetter"]
    assert [e["code"] for e in again["errors"]] == ["ALREADY_REPLAYED"]
    [entry] = await _audit(app, "replayDeadLetter", letter.id)
    assert entry["before"] == {"replayed_at": None} and entry["after"]["job_id"] == replay["jobId"]
    missing = (await gql(REPLAY, {"id": to_global_id("DeadLetter", uuid.uuid4())}, token=admin.token))["data"]
    assert [e["code"] for e in missing["replayDeadLetter"]["errors"]] == ["NOT_FOUND"]


async def test_a_job_the_queue_refuses_is_an_error_and_the_letter_stays_replayable(
    gql: Any, admin: Any, app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    deps = _deps(app)
    async with deps.sessionmaker() as session, session.begin():
        letter = await record_dead_letter(session, "scrape_job", {"args": ["zillow", "austin"]}, "boom", 5)
    gid = to_global_id("DeadLetter", letter.id)

    async def refused(*_args: object, **_kwargs: object) -> bool:
        raise EnqueueRefused("the queue refused scrape_job: ConnectionError()")

    monkeypatch.setattr(operations, "enqueue_now", refused)  # Redis down for the enqueue only
    failed = (await gql(REPLAY, {"id": gid}, token=admin.token))["data"]["replayDeadLetter"]
    assert [e["code"] for e in failed["errors"]] == ["SERVICE_UNAVAILABLE"]
    assert "nothing was queued" in failed["errors"][0]["message"]
    scrape = (await gql(SCRAPE, {"source": "ZILLOW", "region": "austin"}, token=admin.token))["data"]
    assert [e["code"] for e in scrape["runScrape"]["errors"]] == ["SERVICE_UNAVAILABLE"]
    assert scrape["runScrape"]["jobId"] is None
    page = (await gql(LETTERS, {"first": 100}, token=admin.token))["data"]["deadLetters"]
    assert [row["replayedAt"] for row in page if row["id"] == gid] == [None]  # not marked replayed
    entries = await _audit(app, "replayDeadLetter", letter.id)
    assert [e["after"].get("error") for e in entries] == [None, "the job queue refused the job"]

    monkeypatch.undo()  # the queue is back: the same letter replays
    replay = (await gql(REPLAY, {"id": gid}, token=admin.token))["data"]["replayDeadLetter"]
    assert replay["errors"] == [] and replay["deadLetter"]["replayedAt"] is not None
    assert (await _queued_job(deps, replay["jobId"]))[:2] == ("scrape_job", ("zillow", "austin"))


async def test_run_scrape_queues_the_job_for_a_known_region(gql: Any, admin: Any, app: Starlette) -> None:
    bad = (await gql(SCRAPE, {"source": "ZILLOW", "region": "atlantis"}, token=admin.token))["data"]
    assert [(e["code"], e["field"]) for e in bad["runScrape"]["errors"]] == [("INVALID_INPUT", "region")]
    done = (await gql(SCRAPE, {"source": "CRAIGSLIST", "region": "Austin, TX"}, token=admin.token))["data"][
        "runScrape"
    ]
    assert done["errors"] == [] and (done["source"], done["region"]) == ("CRAIGSLIST", "austin")
    function, args, _kwargs = await _queued_job(_deps(app), done["jobId"])
    assert function == "scrape_job" and args == ("craigslist", "austin", None, "admin")
    entries = await _audit(app, "runScrape", "CRAIGSLIST:austin")
    assert entries[-1]["after"]["job_id"] == done["jobId"]


async def test_adjust_credits_goes_through_the_ledger(
    gql: Any, admin: Any, buyers: Any, app: Starlette
) -> None:
    user = await buyers(credits=20)
    uid = to_global_id("User", user.id)
    added = (
        await gql(
            ADJUST, {"user": uid, "amount": 50, "reason": "goodwill", "key": "adj-1"}, token=admin.token
        )
    )["data"]["adjustCredits"]
    assert added["errors"] == [] and (added["amount"], added["balance"], added["replayed"]) == (50, 70, False)
    retry = (
        await gql(
            ADJUST, {"user": uid, "amount": 50, "reason": "goodwill", "key": "adj-1"}, token=admin.token
        )
    )["data"]["adjustCredits"]
    assert (retry["balance"], retry["replayed"], retry["transactionId"]) == (70, True, added["transactionId"])
    conflict = (
        await gql(ADJUST, {"user": uid, "amount": 5, "reason": "other", "key": "adj-1"}, token=admin.token)
    )["data"]["adjustCredits"]
    assert [e["code"] for e in conflict["errors"]] == ["IDEMPOTENCY_CONFLICT"]
    too_much = (await gql(ADJUST, {"user": uid, "amount": -71, "reason": "clawback"}, token=admin.token))[
        "data"
    ]["adjustCredits"]
    assert [e["code"] for e in too_much["errors"]] == ["INSUFFICIENT_CREDITS"]
    taken = (await gql(ADJUST, {"user": uid, "amount": -30, "reason": "clawback"}, token=admin.token))[
        "data"
    ]["adjustCredits"]
    assert taken["errors"] == [] and taken["balance"] == 40
    zero = (await gql(ADJUST, {"user": uid, "amount": 0, "reason": "x"}, token=admin.token))["data"]
    assert zero["adjustCredits"]["errors"][0]["field"] == "amount"
    entries = await _audit(app, "adjustCredits", user.id)
    assert [(e["before"]["balance"], e["after"]["balance"]) for e in entries] == [(20, 70), (70, 40)]
    async with _deps(app).engine.connect() as conn:
        kinds = (
            await conn.execute(
                text("SELECT kind, amount FROM credit_ledger WHERE user_id = :u ORDER BY id"), {"u": user.id}
            )
        ).all()
    assert [tuple(k) for k in kinds] == [("GRANT", 20), ("ADJUSTMENT", 50), ("ADJUSTMENT", -30)]


async def test_audit_log_pages_newest_first(gql: Any, admin: Any, make_lead: Any) -> None:
    for n in range(3):
        lead = await make_lead()
        await gql(SEATS, {"id": lead_gid(lead.id), "n": 2 + n}, token=admin.token)
    first = (await gql(AUDIT, {"first": 2}, token=admin.token))["data"]["auditLog"]
    assert len(first) == 2 and first[0]["action"] == "setLeadSeats" and first[0]["after"]["max_buyers"] == 4
    assert first[0]["actorId"] == to_global_id("User", admin.id)
    second = (await gql(AUDIT, {"first": 1, "after": first[1]["id"]}, token=admin.token))["data"]["auditLog"]
    assert second[0]["after"]["max_buyers"] == 2
    bad = await gql(AUDIT, {"after": "nope"}, token=admin.token, expect_errors=True)
    assert bad["errors"][0]["extensions"]["code"] == "INVALID_INPUT"

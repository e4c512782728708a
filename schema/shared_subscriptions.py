"""Websocket subscriptions held as records, not tasks, and executed once per group of equals.

A subscription whose source is a hub feed (``resolvers.subscriptions.HubFeed``: priceChanged,
cartEvents) does not keep a task, an async-generator chain and an executor of its own while it
waits. It joins a *group*: the subscriptions with the same query text, operation name, variables
and viewer (``viewer_key``: who the viewer is and what tier they are in). Every input of a result
is then equal inside a group, so for each payload the group picks its event once, executes the
selection once, encodes the ``next`` payload once, and every member's socket gets the same bytes
with its own operation id. Anonymous viewers of the same query, or one user's several tabs, share
one execution; distinct users each have their own group, so a visibility rule is never shared
across viewers.

Each member sends through a small sink: the send starts at once, a task only for a send that has
to wait, and while its socket is slow at most ``BACKLOG`` frames waiting, the oldest dropped first,
so a stalled client stalls neither the group nor the others. Payloads are executed in the order
the hub hands them over, by one delivery task per event hub.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine, Hashable
from inspect import isawaitable
from typing import TYPE_CHECKING, Any

import orjson
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import Executor, execute_subscription_event

from aiqleads.domain.events import EventHub
from aiqleads.resolvers.subscriptions import HubFeed, viewer_key

if TYPE_CHECKING:
    from aiqleads.resolvers.context import Context
    from aiqleads.schema.pipeline import GatedSchema, PreparedDocument

log = logging.getLogger("aiqleads.graphql")
BACKLOG = 100  # frames kept for a member whose socket is behind (drop-oldest)


class _Sink:
    """One member: where its frames go, and those waiting while its socket is still writing."""

    __slots__ = ("backlog", "head", "send_text", "sending", "waiting")

    def __init__(self, operation_id: str, send_text: Callable[[str], Coroutine[Any, Any, None]]) -> None:
        self.send_text = send_text
        self.head = '{"id":' + json.dumps(operation_id) + ',"type":"next","payload":'
        self.backlog: deque[str] | None = None
        self.sending: asyncio.Task[None] | None = None
        self.waiting: Coroutine[Any, Any, None] | None = None  # a send started eagerly that waits

    def offer(self, payload: str) -> None:
        """Send one encoded payload now, or after the frames still being written."""
        frame = self.head + payload + "}"
        if self.sending is not None:
            if self.backlog is None:
                self.backlog = deque(maxlen=BACKLOG)
            self.backlog.append(frame)
            return
        # started eagerly (what asyncio's eager task factory does from Python 3.12): a socket that
        # takes the frame at once costs no task, and a fan-out to thousands no burst of tasks
        # for the collector to promote; only a send that has to wait gets a task to finish it
        sending = self.send_text(frame)
        try:
            blocker = sending.send(None)
        except StopIteration:
            return
        except Exception:  # the socket is gone: its handler ends the subscription
            return
        self.waiting = sending
        self.sending = asyncio.get_running_loop().create_task(self._finish(sending, blocker))

    async def _finish(self, sending: Coroutine[Any, Any, None], blocker: Any) -> None:
        """Drive a send that had to wait to its end, then send the frames queued behind it."""
        try:
            while True:
                if blocker is None:  # a bare yield (sleep(0)): give the loop one turn
                    await asyncio.sleep(0)
                else:
                    await blocker
                try:
                    blocker = sending.send(None)
                except StopIteration:
                    break
            self.waiting = None
            while self.backlog:
                await self.send_text(self.backlog.popleft())
        except Exception:  # the socket is gone: its handler ends the subscription
            return
        finally:
            sending.close()  # a no-op once it finished; cancelled midway, it unwinds
            self.waiting = self.sending = None

    def close(self) -> None:
        """Stop sending (the subscription is over)."""
        self.backlog = None
        if self.waiting is not None:  # also when its task has not started yet
            self.waiting.close()
            self.waiting = None
        if self.sending is not None:
            self.sending.cancel()
            self.sending = None


class _Group:
    """Subscriptions that are sent the same thing: one execution of each event for all of them."""

    __slots__ = ("executor", "feed", "key", "members", "operation_name", "owner", "prepared", "stop")

    def __init__(
        self,
        owner: SharedSubscriptions,
        key: Hashable,
        prepared: PreparedDocument,
        operation_name: str | None,
        executor: Executor,
        feed: HubFeed[Any, Any],
    ) -> None:
        self.owner, self.key, self.prepared, self.operation_name = owner, key, prepared, operation_name
        self.executor, self.feed = executor, feed
        self.members: set[_Sink] = set()
        self.stop: Callable[[], None] = owner.hub.listen(feed.channel, self)

    def __len__(self) -> int:
        return len(self.members)

    def deliver(self, payload: dict[str, Any]) -> None:
        """Take a payload from the hub: executed, in order, by the owner's delivery task."""
        self.owner.enqueue(self, payload)


class _Membership:
    """One subscription's place in its group (the group's key is not copied per member)."""

    __slots__ = ("group", "sink")

    def __init__(self, group: _Group, sink: _Sink) -> None:
        self.group, self.sink = group, sink

    def leave(self) -> None:
        """End the subscription; the last member out ends the group."""
        group, sink = self.group, self.sink
        if sink not in group.members:
            return
        group.members.discard(sink)
        sink.close()
        metrics = group.feed.ctx.metrics
        if metrics is not None:
            metrics.active_subscriptions.dec()
        owner = group.owner
        if not group.members and owner._groups.get(group.key) is group:
            del owner._groups[group.key]
            group.stop()


class SharedSubscriptions:
    """The shared subscriptions of one event hub (one per API process)."""

    def __init__(self, schema: GatedSchema, hub: EventHub) -> None:
        self.schema, self.hub = schema, hub
        self._groups: dict[Hashable, _Group] = {}
        self._pending: deque[tuple[_Group, dict[str, Any]]] = deque()
        self._worker: asyncio.Task[None] | None = None
        self._parsed: tuple[Any, Any, Any] = (None, None, None)  # (payload, parse, parsed): the last

    @property
    def group_count(self) -> int:
        """Groups alive (tests: equal subscriptions share one)."""
        return len(self._groups)

    def join_existing(
        self,
        query: str,
        operation_name: str | None,
        variables: dict[str, Any] | None,
        ctx: Context,
        operation_id: str,
        send_text: Callable[[str], Coroutine[Any, Any, None]],
    ) -> Callable[[], None] | None:
        """Join the group of equal subscriptions if there is one (its first member was resolved
        with the same query, variables and viewer, so this one would resolve the same way);
        returns the function that ends it, or None to resolve it and ``join``."""
        group = self._groups.get(_key(query, operation_name, variables, ctx))
        return self._add(group, ctx, operation_id, send_text) if group is not None else None

    def join(
        self,
        query: str,
        prepared: PreparedDocument,
        operation_name: str | None,
        variables: dict[str, Any] | None,
        executor: Executor,
        feed: HubFeed[Any, Any],
        operation_id: str,
        send_text: Callable[[str], Coroutine[Any, Any, None]],
    ) -> Callable[[], None]:
        """Add a resolved subscription to its group; returns the function that ends it."""
        key = _key(query, operation_name, variables, feed.ctx)
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _Group(self, key, prepared, operation_name, executor, feed)
        return self._add(group, feed.ctx, operation_id, send_text)

    def _add(
        self,
        group: _Group,
        ctx: Context,
        operation_id: str,
        send_text: Callable[[str], Coroutine[Any, Any, None]],
    ) -> Callable[[], None]:
        sink = _Sink(operation_id, send_text)
        group.members.add(sink)
        if ctx.metrics is not None:
            ctx.metrics.active_subscriptions.inc()
        return _Membership(group, sink).leave

    def enqueue(self, group: _Group, payload: dict[str, Any]) -> None:
        """Queue one payload for a group; the delivery task runs while any are queued."""
        self._pending.append((group, payload))
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(self._deliver_pending())

    async def _deliver_pending(self) -> None:
        try:
            while self._pending:
                group, payload = self._pending.popleft()
                if group.members:
                    await self._deliver(group, payload)
        finally:
            self._worker = None

    async def _deliver(self, group: _Group, payload: dict[str, Any]) -> None:
        feed = group.feed
        try:
            parsed = self._parse(feed, payload)
            event = feed.pick(parsed) if parsed is not None else None
            if event is None:
                return
            encoded = await self._execute(group, feed.present(event))
        except Exception:  # outside the resolvers: never expected, never the end of delivery
            log.exception("could not deliver an event to a shared subscription")
            return
        for member in tuple(group.members):
            member.offer(encoded)

    def _parse(self, feed: HubFeed[Any, Any], payload: dict[str, Any]) -> Any:
        """The payload parsed by the feed's parser, once for every group of the channel."""
        last_payload, last_parse, parsed = self._parsed
        if payload is not last_payload or feed.parse is not last_parse:
            parsed = feed.parse(payload)
            self._parsed = (payload, feed.parse, parsed)
        return parsed

    async def _execute(self, group: _Group, root: Any) -> str:
        """The group's ``next`` payload for one event, encoded (errors logged, masked, counted)."""
        started = time.perf_counter()
        ctx = group.feed.ctx
        ctx.loaders.clear()  # each event is resolved like a new request
        outcome = execute_subscription_event(group.executor.build_per_event_executor(root))
        if isawaitable(outcome):
            outcome = await outcome
        assert isinstance(outcome, GraphQLExecutionResult)
        body: dict[str, Any] = {"data": outcome.data}
        if outcome.errors:
            result = self.schema.finish_subscription_event(
                ctx, group.prepared, group.operation_name, list(outcome.errors), started
            )
            body["errors"] = [error.formatted for error in result.errors or ()]
        return orjson.dumps(body).decode()


def _key(query: str, operation_name: str | None, variables: dict[str, Any] | None, ctx: Context) -> Hashable:
    """What makes two subscriptions' results equal: query, operation, variables and viewer."""
    canonical = json.dumps(variables or {}, sort_keys=True, separators=(",", ":"), default=str)
    return (query, operation_name, canonical, viewer_key(ctx))

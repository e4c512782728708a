"""Strawberry's graphql-transport-ws handler, trimmed of what an idle connection need not keep.

A subscription to a hub feed is held as a record in the process's shared subscriptions once the
gate admits it (``schema.shared_subscriptions``): its task ends there, and ``complete`` or the
connection's end removes the record. Every other operation runs as Strawberry runs it.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from contextlib import suppress
from json import JSONDecodeError
from typing import Any, cast

from starlette.websockets import WebSocketDisconnect, WebSocketState
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
    _OperationStreamClosed,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    CompleteMessage,
    ConnectionInitMessage,
    Message,
)
from strawberry.utils.aio import aclosing

from aiqleads.resolvers.context import Context
from aiqleads.schema.pipeline import GatedSchema, SharedSink

_FINISHED: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Future[None]] = (
    weakref.WeakKeyDictionary()
)


def _finished() -> asyncio.Future[None]:
    """A future that is already done, one per event loop (a shared subscription's "task")."""
    loop = asyncio.get_running_loop()
    future = _FINISHED.get(loop)
    if future is None:
        future = _FINISHED[loop] = loop.create_future()
        future.set_result(None)
    return future


class GraphQLTransportWSHandler(BaseGraphQLTransportWSHandler[Context, Any]):
    """The protocol as Strawberry implements it; shared subscriptions and the idle footprint differ."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.shared: dict[str, Callable[[], None]] = {}  # operation id → the function that ends it

    async def handle(self) -> None:
        """Strawberry's message loop, holding no message between two (Strawberry's keeps the last
        one, text and parsed, for as long as the connection waits for the next)."""
        self.on_request_accepted()
        ws = self.websocket.ws  # type: ignore[attr-defined]  # the Starlette websocket
        try:
            while ws.application_state != WebSocketState.DISCONNECTED:
                try:
                    message = self.view.decode_json(await ws.receive_text())
                except KeyError:  # a binary frame
                    await self.handle_invalid_message("WebSocket message type must be text")
                    return
                except JSONDecodeError:
                    await self.handle_invalid_message("WebSocket message must be valid JSON")
                    return
                await self.handle_message(cast("Message", message))
                del message
        except (WebSocketDisconnect, WebSocketDisconnected):
            pass
        finally:
            await self.shutdown()

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        """Handle connection_init, then forget the init-timeout task it cancelled."""
        await super().handle_connection_init(message)
        task = self.connection_init_timeout_task
        # a cancelled task keeps its CancelledError, traceback and frames for as long as it is
        # referenced: here, the connection's whole life; the loop still finishes it
        if task is not None and (task.done() or task.cancelling()):
            self.connection_init_timeout_task = None

    async def run_operation(self, operation: Operation[Context, Any]) -> None:
        """Run the operation (Strawberry's run_operation), or hand a shared subscription over."""
        schema = self.schema
        assert isinstance(schema, GatedSchema)
        try:
            opened = await schema.open_stream(
                operation.query,
                operation.variables,
                self.context,
                operation.operation_name,
                SharedSink(operation.id, self.websocket.ws.send_text),  # type: ignore[attr-defined]
            )
            if callable(opened):
                if operation.id in self.operations:
                    self.shared[operation.id] = opened
                    # what is left of the operation is its id: the text, variables and this task
                    # would otherwise live as long as the subscription
                    operation.query, operation.variables = "", None
                    operation.task = _finished()  # type: ignore[assignment]  # only cancelled and awaited
                else:  # completed by the client while it was admitted
                    opened()
                return
            async with aclosing(opened):
                await self._send_result_stream(operation, opened)
            await operation.send_operation_message(CompleteMessage(id=operation.id, type="complete"))
        except _OperationStreamClosed:
            return
        except Exception as error:
            await self.handle_task_exception(error)
            with suppress(Exception):
                await operation.send_operation_message({"id": operation.id, "type": "complete"})
            self.operations.pop(operation.id, None)
            raise

    async def cleanup_operation(self, operation_id: str) -> None:
        """End the operation: a shared subscription leaves its group, any other task is cancelled."""
        leave = self.shared.pop(operation_id, None)
        if leave is not None:
            leave()
        await super().cleanup_operation(operation_id)

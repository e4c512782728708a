"""Strawberry's graphql-transport-ws handler, trimmed of what an idle connection need not keep."""

from __future__ import annotations

from typing import Any

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage

from aiqleads.resolvers.context import Context


class GraphQLTransportWSHandler(BaseGraphQLTransportWSHandler[Context, Any]):
    """The protocol as Strawberry implements it; only the connection's idle footprint differs."""

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        """Handle connection_init, then forget the init-timeout task it cancelled."""
        await super().handle_connection_init(message)
        task = self.connection_init_timeout_task
        # a cancelled task keeps its CancelledError, traceback and frames for as long as it is
        # referenced: here, the connection's whole life; the loop still finishes it
        if task is not None and (task.done() or task.cancelling()):
            self.connection_init_timeout_task = None

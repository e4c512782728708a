"""What every log line says about the work it belongs to: the request (its id, its GraphQL operation)
or the worker job (its name, id and try).

The edges set it (the API's ASGI entry, the GraphQL pipeline, the worker's job wrapper) in a context
variable, so code far below them (domain, SQL, Redis) logs with the ids without being passed them,
and ``aiqleads.logs`` writes them into each line. Plain data: nothing here knows about logging.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass

OPERATION_NAME_CHARS = 100  # a client-chosen name is logged, but never unbounded


@dataclass(slots=True)
class RequestLog:
    """One HTTP request or websocket connection, and the GraphQL operation it is running."""

    request_id: str
    connection: bool = False  # a websocket's: every operation on it gets its own copy
    operation_type: str | None = None
    root_field: str | None = None  # the schema's root field names only (a closed set)
    operation_name: str | None = None

    def fields(self) -> dict[str, str]:
        """The fields a log line carries."""
        found = {"request_id": self.request_id}
        if self.operation_type is not None:
            found["operation_type"] = self.operation_type
        if self.root_field is not None:
            found["root_field"] = self.root_field
        if self.operation_name:
            found["operation_name"] = self.operation_name
        return found


@dataclass(slots=True)
class JobLog:
    """One run of a worker job (``job`` is known once its function starts)."""

    job_id: str
    job_try: int
    job: str | None = None

    def fields(self) -> dict[str, str | int]:
        """The fields a log line carries."""
        found: dict[str, str | int] = {"job_id": self.job_id, "job_try": self.job_try}
        if self.job is not None:
            found["job"] = self.job
        return found


_current: ContextVar[RequestLog | JobLog | None] = ContextVar("aiq_log_context", default=None)


def current() -> RequestLog | JobLog | None:
    """The request or job this code runs for (None: neither, e.g. start-up)."""
    return _current.get()


def begin_request(request_id: str, *, connection: bool = False) -> Token[RequestLog | JobLog | None]:
    """Mark what runs from here (and every task it starts) as this request's; ``end`` restores."""
    return _current.set(RequestLog(request_id, connection))


def begin_job(job_id: str, job_try: int, job: str | None = None) -> Token[RequestLog | JobLog | None]:
    """Mark what runs from here as this job's; ``end`` restores."""
    return _current.set(JobLog(job_id, job_try, job))


def end(token: Token[RequestLog | JobLog | None]) -> None:
    """Restore what ``begin_request`` or ``begin_job`` replaced."""
    _current.reset(token)


def note_operation(operation_type: str, root_field: str, operation_name: str | None) -> None:
    """Name the GraphQL operation on the current request's lines from here on.

    A request's own record is updated in place (no allocation on the HTTP path); on a websocket the
    connection's record is shared by its operations, each in its own task, so the operation gets a
    copy in its task's context.
    """
    found = _current.get()
    if not isinstance(found, RequestLog):
        return
    if found.connection:
        found = RequestLog(found.request_id)
        _current.set(found)
    found.operation_type = operation_type
    found.root_field = root_field
    found.operation_name = operation_name[:OPERATION_NAME_CHARS] if operation_name else None

"""Idle websocket subscribers: server memory per `priceChanged` subscriber, and the delivery time of
one price change to 5,000 subscribers, on one real `aiqleads serve` process.

Each figure is printed beside its floor, measured in the same run on the same server:

- memory: the RSS growth per **bare** connection (graphql-transport-ws connection_init/ack, no
  subscription) is the floor; the figure is the RSS growth per connection once each of those same
  connections also holds one idle `priceChanged` subscription (same sockets, so allocator
  fragmentation from closing and reopening does not blur the difference);
- delivery: one event to a **single** subscriber is the floor; the figure is the time from the
  publish until the last of 5,000 subscribers has its `next` frame.

The clients are raw asyncio protocols (a tiny RFC 6455 client, no per-connection library state),
so the bench process stays small; they offer permessage-deflate like a browser does, so the server
pays whatever a real browser connection costs it. Price changes are published the product's way
(``pricing.service.publish_changes``, what the repricing unit of work runs after commit).

    .venv/bin/python bench/bench_subscribers.py                      # 2,000 idle, 5,000 for delivery
    .venv/bin/python bench/bench_subscribers.py --subscribers 10000  # full size
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import json
import os
import resource
import struct
import sys
import tempfile
import time
import urllib.request
import uuid
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import api_processes, emit_figures, percentile, private_environment, report_line

from aiqleads.domain.bootstrap import opened
from aiqleads.domain.pricing.service import PriceChange, publish_changes
from aiqleads.resolvers.ids import to_global_id

QUERY = "subscription($ids: [ID!]) { priceChanged(leadIds: $ids) { leadId oldPrice newPrice at } }"
OPEN_CONCURRENCY = 100  # handshakes in flight at once (uvicorn's backlog is 2048)
CLIENT_NET = 77  # clients bind to 127.77.x.y
_opened = itertools.count()


def _frame(opcode: int, payload: bytes) -> bytes:
    """A masked client frame (a zero mask: RFC 6455 requires one, not a random one, from a bench)."""
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    return head + b"\0\0\0\0" + payload


class Client(asyncio.Protocol):
    """One graphql-transport-ws connection: handshake, init/ack, subscribe, answer pings, time `next`."""

    def __init__(self, host: str, path: str) -> None:
        self.host, self.path = host, path
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.upgraded = False
        self.inflater: Any = None
        self.acked = asyncio.get_running_loop().create_future()
        self.on_next: Any = None  # called with the arrival time of each `next` frame
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Protocol: graphql-transport-ws\r\n"
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
        )
        transport.write(request.encode())  # type: ignore[attr-defined]

    def send_json(self, message: dict[str, Any]) -> None:
        """Send one uncompressed text frame."""
        assert self.transport is not None
        self.transport.write(_frame(0x1, json.dumps(message).encode()))

    def data_received(self, data: bytes) -> None:
        arrived = time.perf_counter()
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).decode("latin-1")
            del self.buffer[: end + 4]
            if " 101 " not in head.split("\r\n", 1)[0]:
                self._fail(f"handshake refused: {head.splitlines()[0]}")
                return
            self.upgraded = True
            if "permessage-deflate" in head.lower():
                self.inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            self.send_json({"type": "connection_init", "payload": {}})
        self._frames(arrived)

    def _frames(self, arrived: float) -> None:
        buf = self.buffer
        while len(buf) >= 2:
            b0, b1 = buf[0], buf[1]
            n, at = b1 & 0x7F, 2
            if n == 126:
                if len(buf) < 4:
                    return
                (n,), at = struct.unpack_from("!H", buf, 2), 4
            elif n == 127:
                if len(buf) < 10:
                    return
                (n,), at = struct.unpack_from("!Q", buf, 2), 10
            if len(buf) < at + n:
                return
            payload = bytes(buf[at : at + n])
            del buf[: at + n]
            opcode = b0 & 0x0F
            if opcode == 0x9:  # uvicorn's keepalive ping: answer, or the server drops us
                assert self.transport is not None
                self.transport.write(_frame(0xA, payload))
            elif opcode == 0x8:
                self._fail(f"closed by the server: {payload[:2].hex()} {payload[2:]!r}")
            elif opcode == 0x1:
                if b0 & 0x40 and self.inflater is not None:
                    payload = self.inflater.decompress(payload + b"\0\0\xff\xff")
                self._message(json.loads(payload), arrived)

    def _message(self, message: dict[str, Any], arrived: float) -> None:
        kind = message.get("type")
        if kind == "connection_ack" and not self.acked.done():
            self.acked.set_result(None)
        elif kind == "next" and self.on_next is not None:
            self.on_next(arrived)
        elif kind == "ping":
            self.send_json({"type": "pong"})
        elif kind in {"error", "complete"}:
            self._fail(f"operation ended: {message}")

    def _fail(self, why: str) -> None:
        if not self.acked.done():
            self.acked.set_exception(RuntimeError(why))
        elif not self.closed:
            print(f"  client: {why}", file=sys.stderr)
        self.closed = True

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(f"connection lost: {exc!r}")

    def subscribe(self, op_id: str, lead_ids: list[str]) -> None:
        """Start one priceChanged subscription on this connection."""
        self.send_json(
            {"id": op_id, "type": "subscribe", "payload": {"query": QUERY, "variables": {"ids": lead_ids}}}
        )

    def close(self) -> None:
        """Drop the socket (the server sees a disconnect)."""
        self.closed = True
        if self.transport is not None:
            self.transport.close()


async def open_clients(base_url: str, count: int) -> list[Client]:
    """Open ``count`` connections, each acknowledged (connection_init/ack)."""
    host_port = base_url.removeprefix("http://")
    host, port = host_port.rsplit(":", 1)
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(OPEN_CONCURRENCY)

    async def one(n: int) -> Client:
        # each client from its own loopback address: the server's per-address lease and budget
        # keys are then the bench's own (ip:127.0.0.1 is what the test suite's clients use)
        local = (f"127.{CLIENT_NET}.{n // 250 % 250}.{n % 250 + 1}", 0)
        async with gate:
            _, client = await loop.create_connection(
                lambda: Client(host_port, "/graphql"), host, int(port), local_addr=local
            )
            await asyncio.wait_for(client.acked, 30)
            return client

    start = next(_opened)
    for _ in range(count - 1):
        next(_opened)
    return list(await asyncio.gather(*(one(start + n) for n in range(count))))


def rss_kb(pid: int) -> int:
    """Resident set size of a process, KB (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def gauge(base_url: str, name: str) -> float:
    """One metric of the server's /metrics."""
    try:
        with urllib.request.urlopen(f"{base_url}/metrics", timeout=60) as response:
            for line in response.read().decode().splitlines():
                if line.startswith(name + " "):
                    return float(line.rsplit(" ", 1)[1])
    except OSError:  # a server busy with 10k subscribe messages answers late: ask again
        return -1.0
    return 0.0


async def settled_rss(pid: int, seconds: float = 3.0) -> int:
    """RSS once it stops moving (the server finishes what the last burst queued)."""
    last = rss_kb(pid)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        await asyncio.sleep(seconds / 3)
        now = rss_kb(pid)
        if abs(now - last) < 256:
            return now
        last = now
    return last


async def wait_subscriptions(
    base_url: str, expected: int, within: float = 120, exactly: bool = False
) -> None:
    """Wait until the server counts ``expected`` open subscriptions (at least, or ``exactly``)."""
    deadline = time.monotonic() + within
    while (seen := gauge(base_url, "aiq_graphql_active_subscriptions")) != expected and (
        exactly or seen < expected
    ):
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {seen:.0f} of {expected} subscriptions are open")
        await asyncio.sleep(0.5)


async def subscribe_all(base_url: str, clients: list[Client], lead_of: Any, already: int) -> None:
    """Subscribe each client to its lead's price changes and wait until the server has them all."""
    for i, client in enumerate(clients):
        client.subscribe("1", [lead_of(i)])
        if i % 500 == 499:
            await asyncio.sleep(0.05)  # let the server read them in order rather than in one burst
    await wait_subscriptions(base_url, already + len(clients))


async def deliver(redis: Any, clients: list[Client], lead_id: uuid.UUID, within: float = 60) -> list[float]:
    """Publish one price change of ``lead_id`` and return each client's delivery time, seconds."""
    arrivals: list[float] = []
    done = asyncio.get_running_loop().create_future()

    def arrived(at: float) -> None:
        arrivals.append(at)
        if len(arrivals) == len(clients) and not done.done():
            done.set_result(None)

    for client in clients:
        client.on_next = arrived
    change = PriceChange(lead_id, 100, 101, datetime.now(UTC), 32.78, -96.8)
    await redis.ping()
    start = time.perf_counter()
    await publish_changes(redis, [change])
    try:
        await asyncio.wait_for(done, within)
    except TimeoutError:
        print(f"  only {len(arrivals)} of {len(clients)} deliveries within {within:.0f} s")
    for client in clients:
        client.on_next = None
    return [at - start for at in arrivals]


def _raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(needed, soft)), hard))
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        raise SystemExit(f"need {needed} file descriptors, the hard limit is {hard}")


async def run(
    subscribers: int = 2000, delivery_subscribers: int = 5000, events: int = 10
) -> dict[str, float]:
    """Run the benchmark; returns its figures (KB, MB, ms) keyed by name."""
    total = max(subscribers, delivery_subscribers)
    _raise_fd_limit(total + 512)  # the server inherits the limit through Popen
    watched, other = uuid.uuid4(), uuid.uuid4()
    watched_gid, other_gid = to_global_id("Lead", watched), to_global_id("Lead", other)
    print(f"bench_subscribers: {subscribers} idle subscribers, delivery to {delivery_subscribers}")
    async with private_environment("subs") as settings:
        env = {
            "AIQ_MAX_CONNECTIONS_PER_USER": str(total + 100),  # every client is one address
            "AIQ_RATE_LIMIT_PER_MINUTE": str(100 * total + 10_000),
        }
        with (
            tempfile.TemporaryDirectory(prefix="aiq-bench-subs-") as log_dir,
            api_processes(settings, Path(log_dir), 1, **env) as (api,),
        ):
            async with opened(settings, purpose="bench") as deps:
                return await _measure(
                    api,
                    deps.redis,
                    subscribers,
                    delivery_subscribers,
                    events,
                    watched,
                    watched_gid,
                    other_gid,
                )


async def _measure(
    api: Any,
    redis: Any,
    subscribers: int,
    delivery_subscribers: int,
    events: int,
    watched: uuid.UUID,
    watched_gid: str,
    other_gid: str,
) -> dict[str, float]:
    base, pid = api.base_url, api.proc.pid
    print(f"  server pid {pid}", flush=True)
    # warm-up: the first subscription parses and validates the document, fills caches, starts pools
    warm = await open_clients(base, 20)
    await subscribe_all(base, warm, lambda i: watched_gid if i == 0 else other_gid, 0)
    # the delivery floor: the same publish to one subscriber of the otherwise idle server
    floor_delivery = []
    for _ in range(5):
        floor_delivery.extend(await deliver(redis, warm[:1], watched, within=10))
        await asyncio.sleep(0.1)
    for client in warm:
        client.close()
    await wait_subscriptions(base, 0, exactly=True)
    await asyncio.sleep(1)

    rss_start = await settled_rss(pid)
    bare = await open_clients(base, subscribers)
    rss_bare = await settled_rss(pid)
    await subscribe_all(base, bare, lambda i: watched_gid if i < delivery_subscribers else other_gid, 0)
    rss_subs = await settled_rss(pid)

    bare_kb = (rss_bare - rss_start) / subscribers
    sub_kb = (rss_subs - rss_start) / subscribers
    print(
        f"  server RSS: start {rss_start / 1024:.1f} MB, {subscribers} bare connections "
        f"{rss_bare / 1024:.1f} MB, the same with one subscription each {rss_subs / 1024:.1f} MB"
    )
    print(
        f"  {'idle priceChanged subscriber (connection + subscription)':<58} {sub_kb:7.1f} KB"
        f"   {sub_kb / bare_kb if bare_kb > 0 else float('nan'):5.2f}x the floor"
    )
    print(f"  {'bare connection (init/ack, no subscription)':<58} {bare_kb:7.1f} KB   (floor)")
    print(f"  {'  of which the subscription itself':<58} {sub_kb - bare_kb:7.1f} KB")

    clients = bare
    if len(clients) < delivery_subscribers:
        extra = await open_clients(base, delivery_subscribers - len(clients))
        await subscribe_all(base, extra, lambda i: watched_gid, len(clients))
        clients = clients + extra
    targets = clients[:delivery_subscribers]
    lasts: list[float] = []
    every: list[float] = []
    for _ in range(events):
        times = await deliver(redis, targets, watched)
        # every subscriber's watch sees the event; only the watched lead's subscribers receive it
        every.extend(times)
        lasts.append(max(times) if times else float("inf"))
        await asyncio.sleep(0.5)
    floor_ms = percentile(floor_delivery, 0.5) * 1000
    last_p50, last_p95 = percentile(lasts, 0.5) * 1000, percentile(lasts, 0.95) * 1000
    print(report_line("one event to 1 subscriber", floor_ms, floor_ms))
    print(
        report_line(f"one event to {len(targets)} subscribers: last delivery", last_p50, last_p95, floor_ms)
    )
    each_p50, each_p95 = percentile(every, 0.5) * 1000, percentile(every, 0.95) * 1000
    print(
        report_line(f"one event to {len(targets)} subscribers: each delivery", each_p50, each_p95, floor_ms)
    )
    print(f"  last delivery max over {events} events: {max(lasts) * 1000:.1f} ms")
    for client in clients:
        client.close()
    return {
        "subscriber_kb": sub_kb,
        "bare_connection_kb": bare_kb,
        "subscriber_to_floor": sub_kb / bare_kb if bare_kb > 0 else float("nan"),
        "rss_start_mb": rss_start / 1024,
        "rss_bare_mb": rss_bare / 1024,
        "rss_subscribed_mb": rss_subs / 1024,
        "delivery_floor_ms": floor_ms,
        "last_delivery_p50_ms": last_p50,
        "last_delivery_p95_ms": last_p95,
        "last_delivery_max_ms": max(lasts) * 1000,
        "each_delivery_p50_ms": each_p50,
        "each_delivery_p95_ms": each_p95,
    }


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--subscribers", type=int, default=2000, help="idle subscribers for the memory figure"
    )
    parser.add_argument("--delivery-subscribers", type=int, default=5000, help="subscribers of the event")
    parser.add_argument("--events", type=int, default=10, help="events published for the delivery figure")
    args = parser.parse_args()
    emit_figures("subscribers", asyncio.run(run(args.subscribers, args.delivery_subscribers, args.events)))


if __name__ == "__main__":
    main()

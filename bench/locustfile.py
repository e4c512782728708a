"""Locust users for the mixed marketplace load test (run by bench/bench_load.py).

Three kinds of users, with weights that resemble a marketplace:
  - ``Browser`` (anonymous): radius and bounding-box browsing, faceted full-text search, lead views;
  - ``Buyer`` (signed in, with credits): the same reads, plus holds on a small pool of contested leads
    and on leads they browsed, checkouts with an idempotency key (sometimes retried), removals, and
    holds left to expire (a quarter of the buyers never check out);
  - ``Subscriber``: one graphql-transport-ws websocket carrying ``cartEvents`` (as one of the buyers)
    and ``priceChanged`` (the contested leads and a metro), read for a while, then closed; each event
    is reported as a "WS" request whose response time is its delivery latency (arrival minus the
    event's ``at``).
``HealthUser`` (``GET /healthz`` only) measures the harness's own ceiling; name the classes to run on
the command line (``locust -f bench/locustfile.py Browser Buyer Subscriber`` for the mixed load,
``... HealthUser`` for the ceiling), or Locust mixes all four.

A response with top-level GraphQL ``errors``, a non-200 status or an unexpected payload error code is
a failure; expected business outcomes (``LEAD_UNAVAILABLE``, ``INSUFFICIENT_CREDITS``, an expired
hold...) are successes, counted per operation and code in the ``--outcomes`` file.

The fixture (``--fixture`` or ``AIQ_LOAD_FIXTURE``) is a JSON file: ``hosts`` (API base URLs; users
are spread over them), ``tokens`` (bearer tokens of buyers with credits), ``contested`` (global ids of
leads with few seats), ``centers`` (``{"lat", "lng", "city"}`` of metros with leads).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

import websocket
from locust import FastHttpUser, User, between, constant, events, task

LIST_FIELDS = """
  totalCount
  pageInfo { hasNextPage endCursor }
  edges { node {
    id title propertyType askingPrice bedrooms bathrooms price availableSeats distanceMiles
    address { city zip } location { lat lng }
  } }
"""
LEADS = (
    "query LeadsNear($filter: LeadFilter, $sort: LeadSort) {"
    f" leads(filter: $filter, sort: $sort, first: 20) {{ {LIST_FIELDS} }} }}"
)
SEARCH = (
    "query Search($query: String!, $filter: LeadFilter) {"
    f" searchLeads(query: $query, filter: $filter, first: 20) {{ {LIST_FIELDS}"
    " facets { propertyTypes { value count } sources { value count } cities { value count }"
    " bedrooms { value count } priceRanges { from to count } } } }"
)
VIEW_FIELDS = """
  id title description propertyType askingPrice bedrooms bathrooms sqft yearBuilt photoCount postedAt
  qualityScore fraudScore fraudSignals price maxBuyers buyersCount availableSeats status purchased
  address { city state zip street } location { lat lng } contact { name phone email }
  priceHistory(first: 5) { price at reason }
"""
NODE = f"query View($id: ID!) {{ node(id: $id) {{ ... on Lead {{ {VIEW_FIELDS} }} }} }}"
LEAD = f"query Lead($id: ID!) {{ lead(id: $id) {{ {VIEW_FIELDS} }} }}"
CART_FIELDS = "items { lead { id } price heldUntil } expiresAt total serverTime"
ADD = (
    f"mutation Add($id: ID!) {{ addToCart(leadId: $id) {{ cart {{ {CART_FIELDS} }}"
    " errors { code message } } }"
)
REMOVE = (
    f"mutation Remove($id: ID!) {{ removeFromCart(leadId: $id) {{ cart {{ {CART_FIELDS} }}"
    " errors { code message } } }"
)
CART = f"query Cart {{ cart {{ {CART_FIELDS} }} }}"
CHECKOUT = (
    "mutation Checkout($key: String!) { checkout(idempotencyKey: $key) {"
    " purchases { id price lead { id contact { phone } } } creditsSpent balance errors { code message } } }"
)
SUBSCRIBE_CART = "subscription { cartEvents { kind leadId heldUntil cartExpiresAt at } }"
SUBSCRIBE_PRICES = (
    "subscription($ids: [ID!], $near: GeoRadiusInput) {"
    " priceChanged(leadIds: $ids, near: $near) { leadId oldPrice newPrice at } }"
)
SEARCH_TEXTS = [
    "2 bed 2 bath condo near downtown",
    "single family home with pool",
    "townhouse garage",
    "condominum",
    "3br house fixer upper",
    "duplex investment",
    "land lot",
    "move in ready family home",
]

# Business outcomes a caller must expect under contention: successes, counted by code.
EXPECTED_ADD = {
    "LEAD_UNAVAILABLE",
    "ALREADY_IN_CART",
    "ALREADY_PURCHASED",
    "CART_FULL",
    "INSUFFICIENT_CREDITS",
}
EXPECTED_REMOVE = {"NOT_FOUND"}  # the hold expired between the buyer's view and the call
EXPECTED_CHECKOUT = {"CART_EMPTY", "HOLD_EXPIRED", "INSUFFICIENT_CREDITS"}

OUTCOMES: Counter[str] = Counter()
_FIXTURE: dict[str, Any] = {}
_HOSTS = itertools.count()
_BUYER_SEATS = itertools.count()
_SUBSCRIBER_SEATS = itertools.count()


@events.init_command_line_parser.add_listener
def _arguments(parser: Any) -> None:
    parser.add_argument(
        "--fixture", default=os.environ.get("AIQ_LOAD_FIXTURE", ""), help="JSON file of hosts, tokens, leads"
    )
    parser.add_argument(
        "--outcomes", default="", help="write outcome counts to OUTCOMES.<pid>.json at the end"
    )
    parser.add_argument("--think", type=float, default=0.5, help="most seconds a user waits between tasks")
    parser.add_argument(
        "--ws-seconds", type=float, default=20.0, help="how long a subscriber listens per connection"
    )


@events.init.add_listener
def _load_fixture(environment: Any, **_kwargs: Any) -> None:
    path = getattr(environment.parsed_options, "fixture", "")
    if path:
        with open(path, encoding="utf-8") as handle:
            _FIXTURE.update(json.load(handle))


@events.quitting.add_listener
def _write_outcomes(environment: Any, **_kwargs: Any) -> None:
    prefix = getattr(environment.parsed_options, "outcomes", "")
    if prefix:
        with open(f"{prefix}.{os.getpid()}.json", "w", encoding="utf-8") as handle:
            json.dump(dict(OUTCOMES), handle)


def _option(user: User, name: str, default: Any) -> Any:
    options = user.environment.parsed_options
    return getattr(options, name, default) if options is not None else default


def _think(user: User) -> float:
    return random.uniform(0, _option(user, "think", 0.5))


def _next_host(default: str | None) -> str | None:
    """The API processes in turn: each user stays on one, as behind a load balancer."""
    hosts = _FIXTURE.get("hosts") or ([default] if default else [])
    return hosts[next(_HOSTS) % len(hosts)] if hosts else default


def _summary(errors: list[dict[str, Any]]) -> str:
    first = errors[0]
    code = (first.get("extensions") or {}).get("code", "")
    return f"GraphQL errors ({len(errors)}): {code} {str(first.get('message', ''))[:160]}"


def _center() -> dict[str, Any]:
    centers = _FIXTURE.get("centers") or [{"lat": 30.2672, "lng": -97.7431, "city": "Austin"}]
    return dict(random.choice(centers))


def _hidden_from_anonymous(lead: dict[str, Any] | None) -> str | None:
    """What is sold must stay hidden from a viewer who has not bought it, under load too."""
    if lead is None:
        return "a lead of the last page was not found"
    if lead["contact"] is not None or lead["address"]["street"] is not None or lead["purchased"]:
        return "contact or street shown to an anonymous viewer"
    return None


class GraphQLUser(FastHttpUser):
    """Shared plumbing: one API process per user, GraphQL posts judged by the rules above."""

    abstract = True
    wait_time = _think
    token: str | None = None

    def __init__(self, environment: Any) -> None:
        self.host = _next_host(self.host or environment.host)
        super().__init__(environment)
        self.seen: list[str] = []

    def gql(
        self,
        name: str,
        query: str,
        variables: dict[str, Any] | None = None,
        payload: str | None = None,
        expected: set[str] | frozenset[str] = frozenset(),
        check: Callable[[dict[str, Any]], str | None] | None = None,
    ) -> tuple[dict[str, Any] | None, str]:
        """Post an operation; (data, outcome code) or (None, "") when it failed (``check`` may fail it)."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        body: dict[str, Any] = {"query": query, "variables": variables or {}}
        with self.client.post(
            "/graphql", json=body, headers=headers, name=name, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}: {(response.text or '')[:160]}")
                return None, ""
            try:
                result = response.json()
            except ValueError:
                response.failure("not JSON")
                return None, ""
            if result.get("errors"):
                response.failure(_summary(result["errors"]))
                return None, ""
            data = result.get("data") or {}
            code = "OK"
            if payload is not None:
                errors = (data.get(payload) or {}).get("errors") or []
                codes = sorted({e["code"] for e in errors})
                unexpected = [c for c in codes if c not in expected]
                if unexpected:
                    response.failure(f"{payload} error {unexpected}: {errors[0]['message'][:120]}")
                    return None, ""
                code = codes[0] if codes else "OK"
            problem = check(data) if check is not None else None
            if problem:
                response.failure(problem)
                return None, ""
            OUTCOMES[f"{name}: {code}"] += 1
            response.success()
            return data, code

    def browse_near(self) -> None:
        """Leads within 10 miles of a metro point, closest first, with totalCount."""
        c = _center()
        centre = {
            "lat": c["lat"] + random.uniform(-0.05, 0.05),
            "lng": c["lng"] + random.uniform(-0.05, 0.05),
        }
        variables = {"filter": {"near": {"center": centre, "radiusMiles": 10.0}}, "sort": "DISTANCE"}
        data, _ = self.gql("leads near", LEADS, variables)
        self._remember(data, "leads")

    def browse_bbox(self) -> None:
        """Leads in a ~20 x 21 mile box, newest first."""
        c = _center()
        lat, lng = c["lat"] + random.uniform(-0.05, 0.05), c["lng"] + random.uniform(-0.05, 0.05)
        box = {"south": lat - 0.15, "west": lng - 0.18, "north": lat + 0.15, "east": lng + 0.18}
        data, _ = self.gql("leads bbox", LEADS, {"filter": {"within": box}, "sort": "NEWEST"})
        self._remember(data, "leads")

    def search(self) -> None:
        """Full-text search with facets in one city."""
        variables = {"query": random.choice(SEARCH_TEXTS), "filter": {"city": _center()["city"]}}
        data, _ = self.gql("searchLeads", SEARCH, variables)
        self._remember(data, "searchLeads")

    def view(self) -> None:
        """One lead of the last page, through node() or lead()."""
        if not self.seen:
            self.browse_near()
            return
        lead_id = random.choice(self.seen)
        check = None if self.token else _hidden_from_anonymous
        if random.random() < 0.6:
            self.gql("node(Lead)", NODE, {"id": lead_id}, check=lambda d: check and check(d.get("node")))
        else:
            self.gql("lead(id)", LEAD, {"id": lead_id}, check=lambda d: check and check(d.get("lead")))

    def _remember(self, data: dict[str, Any] | None, field: str) -> None:
        if data and data.get(field):
            ids = [edge["node"]["id"] for edge in data[field]["edges"]]
            if ids:
                self.seen = ids


class Browser(GraphQLUser):
    """An anonymous visitor: browses, searches and opens leads."""

    weight = 5

    @task(5)
    def leads_near(self) -> None:
        """Radius browse."""
        self.browse_near()

    @task(2)
    def leads_bbox(self) -> None:
        """Bounding-box browse."""
        self.browse_bbox()

    @task(3)
    def search_leads(self) -> None:
        """Faceted search."""
        self.search()

    @task(4)
    def view_lead(self) -> None:
        """Open a lead."""
        self.view()


class Buyer(GraphQLUser):
    """A signed-in buyer with credits: browses, holds (often contested leads), checks out or not."""

    weight = 3

    def on_start(self) -> None:
        """Take the next buyer account; a quarter of buyers only hold and let holds expire."""
        self._take_account()
        self.abandons = random.random() < 0.25

    def _take_account(self) -> None:
        tokens = _FIXTURE.get("tokens") or []
        if not tokens:
            raise RuntimeError("the fixture has no buyer tokens")
        self.token = tokens[next(_BUYER_SEATS) % len(tokens)]
        self.held: set[str] = set()
        self.bought: set[str] = set()

    def _sync(self, cart: dict[str, Any] | None) -> None:
        if cart is not None:
            self.held = {item["lead"]["id"] for item in cart["items"]}

    @task(3)
    def leads_near(self) -> None:
        """Radius browse, signed in."""
        self.browse_near()

    @task(1)
    def search_leads(self) -> None:
        """Faceted search, signed in."""
        self.search()

    @task(2)
    def view_lead(self) -> None:
        """Open a lead, signed in."""
        self.view()

    @task(4)
    def hold(self) -> None:
        """Hold a contested lead (mostly) or one of the last page."""
        if len(self.held) >= (2 if self.abandons else 3):
            self.checkout() if not self.abandons else self.browse_near()
            return
        contested = _FIXTURE.get("contested") or []
        pool = contested if (random.random() < 0.7 and contested) or not self.seen else self.seen
        choices = [lead for lead in pool if lead not in self.held and lead not in self.bought] or pool
        data, code = self.gql("addToCart", ADD, {"id": random.choice(choices)}, "addToCart", EXPECTED_ADD)
        if data is not None:
            self._sync(data["addToCart"]["cart"])
        if code == "INSUFFICIENT_CREDITS":  # spent: continue as the next buyer account
            self._take_account()

    @task(1)
    def cart(self) -> None:
        """Read the cart (timers for the countdowns)."""
        data, _ = self.gql("cart", CART)
        if data is not None:
            self._sync(data["cart"])

    @task(1)
    def remove(self) -> None:
        """Release one hold."""
        if not self.held:
            return
        lead_id = random.choice(sorted(self.held))
        data, _ = self.gql("removeFromCart", REMOVE, {"id": lead_id}, "removeFromCart", EXPECTED_REMOVE)
        if data is not None:
            self.held.discard(lead_id)
            self._sync(data["removeFromCart"]["cart"])

    @task(3)
    def checkout(self) -> None:
        """Buy the cart; now and then retry with the same key, which must replay the first result."""
        if self.abandons or not self.held:
            return
        key = f"load-{uuid.uuid4().hex}"
        data, code = self.gql("checkout", CHECKOUT, {"key": key}, "checkout", EXPECTED_CHECKOUT)
        if data is None:
            return
        self.held = set()
        first = data["checkout"]
        self.bought.update(p["lead"]["id"] for p in first["purchases"])
        if code == "OK" and random.random() < 0.1:
            again, _ = self.gql("checkout retry", CHECKOUT, {"key": key}, "checkout", frozenset())
            if again is not None:
                replay = again["checkout"]
                same = [p["id"] for p in replay["purchases"]] == [p["id"] for p in first["purchases"]]
                if not same or replay["creditsSpent"] != first["creditsSpent"]:
                    self.environment.events.request.fire(
                        request_type="POST",
                        name="checkout retry",
                        response_time=0,
                        response_length=0,
                        exception=AssertionError("a retried checkout did not replay the first result"),
                    )
        if code == "INSUFFICIENT_CREDITS":
            self._take_account()


class Subscriber(User):
    """A client with live timers and a price ticker: cartEvents and priceChanged over one websocket."""

    weight = 1
    wait_time = between(0.5, 2.0)

    def __init__(self, environment: Any) -> None:
        self.host = _next_host(self.host or environment.host)
        super().__init__(environment)
        tokens = _FIXTURE.get("tokens") or [""]
        # the same accounts as the buyers, in the same order, so the cart events are real ones
        self.token = tokens[next(_SUBSCRIBER_SEATS) % len(tokens)]

    def _fire(self, name: str, started: float, length: int, exception: Exception | None = None) -> None:
        if exception is not None:  # one stable message per kind, so Locust groups the failures
            text = str(exception).split(" -+-+- ")[0][:160]
            exception = RuntimeError(f"{type(exception).__name__}: {text}")
        self.environment.events.request.fire(
            request_type="WS",
            name=name,
            response_time=(time.perf_counter() - started) * 1000,
            response_length=length,
            exception=exception,
            context={},
        )

    def _event(self, name: str, at: str, length: int) -> None:
        """An event: its response time is how long after the server's ``at`` it arrived."""
        latency = max(0.0, time.time() - datetime.fromisoformat(at).timestamp()) * 1000
        self.environment.events.request.fire(
            request_type="WS",
            name=name,
            response_time=latency,
            response_length=length,
            exception=None,
            context={},
        )

    @task
    def listen(self) -> None:
        """Connect, subscribe to both streams, read events for a while, complete and close."""
        url = (self.host or "").replace("http", "ws", 1) + "/graphql"
        started = time.perf_counter()
        try:
            ws = websocket.create_connection(url, subprotocols=["graphql-transport-ws"], timeout=10)
        except Exception as exc:  # any connection failure is a failed request
            self._fire("WS connect+ack", started, 0, exc)
            return
        try:
            ws.send(
                json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {self.token}"}})
            )
            ack = json.loads(ws.recv())
            if ack.get("type") != "connection_ack":
                self._fire("WS connect+ack", started, 0, RuntimeError(f"no ack: {ack.get('type')}"))
                return
            self._fire("WS connect+ack", started, 0)
            c = _center()
            near = {"center": {"lat": c["lat"], "lng": c["lng"]}, "radiusMiles": 25.0}
            for sub_id, query, variables in (
                ("cart", SUBSCRIBE_CART, {}),
                # the contested leads are the ones repriced by their purchases during a short run
                ("prices", SUBSCRIBE_PRICES, {"ids": _FIXTURE.get("contested") or None, "near": near}),
            ):
                payload = {"query": query, "variables": variables}
                ws.send(json.dumps({"id": sub_id, "type": "subscribe", "payload": payload}))
            self._read(ws, time.monotonic() + _option(self, "ws_seconds", 20.0))
            for sub_id in ("cart", "prices"):
                ws.send(json.dumps({"id": sub_id, "type": "complete"}))
        except Exception as exc:  # a dropped or broken socket is a failed request
            self._fire("WS session", started, 0, exc)
        finally:
            ws.close()

    def _read(self, ws: websocket.WebSocket, until: float) -> None:
        names = {"cart": ("WS cartEvents", "cartEvents"), "prices": ("WS priceChanged", "priceChanged")}
        while (left := until - time.monotonic()) > 0:
            ws.settimeout(min(left, 1.0))
            try:
                raw = ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            message = json.loads(raw)
            kind = message.get("type")
            if kind == "ping":
                ws.send(json.dumps({"type": "pong"}))
                continue
            if kind in ("error", "complete") or (kind == "next" and message["payload"].get("errors")):
                name = names.get(message.get("id", ""), ("WS session", ""))[0]
                self._fire(name, time.perf_counter(), len(raw), RuntimeError(f"{kind}: {str(message)[:160]}"))
                continue
            if kind == "next":
                name, field = names[message["id"]]
                event = message["payload"]["data"][field]
                OUTCOMES[f"{name}: {event.get('kind', 'PRICE')}"] += 1
                self._event(name, event["at"], len(raw))


class HealthUser(FastHttpUser):
    """The harness's ceiling: ``GET /healthz`` as fast as the users can (run only when named)."""

    wait_time = constant(0)

    def __init__(self, environment: Any) -> None:
        self.host = _next_host(self.host or environment.host)
        super().__init__(environment)

    @task
    def healthz(self) -> None:
        """The cheapest route of the same server."""
        self.client.get("/healthz", name="GET /healthz")

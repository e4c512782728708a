"""The rest of the viewer policy as pure functions: who the caller is, which node types they may look
up, the point precision and the price they are shown (viewer kind × path × field)."""

from __future__ import annotations

import pytest

from aiqleads.domain.core.plans import PLANS
from aiqleads.domain.core.visibility import (
    ViewerKind,
    may_look_up_node,
    public_point,
    sees_originals,
    viewer_kind,
    viewer_price,
    visible_point,
)

ALL_KINDS = list(ViewerKind)
OWN_TYPES = ["User", "Purchase", "LeadReturn", "CreditTransaction", "Payment"]


@pytest.mark.parametrize(
    ("role", "signed_in", "api_key", "kind"),
    [
        (None, False, False, ViewerKind.ANONYMOUS),
        (None, False, True, ViewerKind.PARTNER),
        ("user", True, False, ViewerKind.BUYER),
        ("user", True, True, ViewerKind.BUYER),  # a signed-in user is a buyer whatever else is sent
        ("admin", True, False, ViewerKind.ADMIN),
        ("admin", False, True, ViewerKind.PARTNER),  # a role without a sign-in means nothing
    ],
)
def test_the_caller_is_named_by_sign_in_then_api_key(
    role: str | None, signed_in: bool, api_key: bool, kind: ViewerKind
) -> None:
    assert viewer_kind(role, signed_in=signed_in, api_key=api_key) is kind


@pytest.mark.parametrize("kind", ALL_KINDS)
@pytest.mark.parametrize("type_name", ["Lead", *OWN_TYPES, "Hold", "Cart", "lead", ""])
def test_node_types_each_viewer_may_look_up(kind: ViewerKind, type_name: str) -> None:
    signed_in = kind in (ViewerKind.BUYER, ViewerKind.ADMIN)
    expected = type_name == "Lead" or (signed_in and type_name in OWN_TYPES)
    assert may_look_up_node(kind, type_name) is expected


@pytest.mark.parametrize("kind", ALL_KINDS)
@pytest.mark.parametrize("purchased", [False, True])
def test_point_precision_follows_the_paid_fields_decision(kind: ViewerKind, purchased: bool) -> None:
    full = sees_originals(kind, purchased)
    exact = (32.781234, -96.804567)
    assert visible_point(*exact, full=full) == (exact if full else public_point(*exact))


@pytest.mark.parametrize("tier", [None, *PLANS])
@pytest.mark.parametrize("price", [0, 1, 7, 10, 55, 999])
def test_viewer_price_is_the_tier_discount_half_up_never_below_one(tier: str | None, price: int) -> None:
    pct = PLANS[tier or "FREE"].discount_percent
    shown = viewer_price(price, tier)
    if price == 0:
        assert shown == 0
    else:
        assert shown == max(1, (price * (100 - pct) + 50) // 100)
        assert 1 <= shown <= price
    assert viewer_price(price, "UNKNOWN") == price  # an unknown tier pays FREE prices

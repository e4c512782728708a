import { describe, expect, it } from "vitest";
import type { CartFieldsFragment } from "../gql/graphql";
import { type CartEventData, type CartState, cartReducer, cartSignature, heldLeadIds, initialCartState, MAX_NOTICES } from "./cartState";

const T0 = Date.parse("2030-05-01T12:00:00Z");
const iso = (offsetSeconds: number) => new Date(T0 + offsetSeconds * 1000).toISOString();

function lead(id: string, title = `Lead ${id}`) {
  return {
    id,
    title,
    propertyType: "CONDO" as const,
    source: "ZILLOW" as const,
    askingPrice: 300_000,
    bedrooms: 2,
    bathrooms: 2,
    sqft: 1000,
    qualityScore: 0.8,
    fraudScore: 0.1,
    fraudSignals: [],
    price: 20,
    maxBuyers: 3,
    buyersCount: 0,
    availableSeats: 2,
    status: "AVAILABLE" as const,
    purchased: false,
    distanceMiles: null,
    postedAt: iso(-3600),
    address: { city: "Austin", state: "TX", zip: "78701" },
  };
}

function item(id: string, heldUntilOffset: number, extensionsLeft = 0) {
  return { lead: lead(id), price: 20, heldUntil: iso(heldUntilOffset), extensionsUsed: 0, extensionsLeft };
}

function cart(items: CartFieldsFragment["items"], expiresOffset: number | null, serverOffset = 0): CartFieldsFragment {
  return {
    items,
    expiresAt: expiresOffset === null ? null : iso(expiresOffset),
    total: items.reduce((s, i) => s + i.price, 0),
    serverTime: iso(serverOffset),
  };
}

function loaded(c: CartFieldsFragment, localNow = T0): CartState {
  return cartReducer(initialCartState, { type: "snapshot", cart: c, sentAt: localNow, receivedAt: localNow });
}

function event(kind: CartEventData["kind"], leadId: string | null, heldUntil: number | null, cartExpires: number | null): CartEventData {
  return {
    kind,
    leadId,
    heldUntil: heldUntil === null ? null : iso(heldUntil),
    cartExpiresAt: cartExpires === null ? null : iso(cartExpires),
    at: iso(0),
  };
}

const apply = (state: CartState, e: CartEventData) => cartReducer(state, { type: "event", event: e });

describe("snapshot", () => {
  it("loads items and timers and measures the skew", () => {
    const s = loaded(cart([item("a", 300)], 900, 0), T0 - 5000); // local clock 5 s behind
    expect(s.loaded).toBe(true);
    expect(s.items.map((i) => i.lead.id)).toEqual(["a"]);
    expect(s.expiresAt).toBe(iso(900));
    expect(s.skewMs).toBe(5000);
    expect(s.needsRefetch).toBe(false);
  });
  it("replaces the previous state and clears a pending refetch, keeping notices", () => {
    let s = loaded(cart([item("a", 300)], 900));
    s = apply(s, event("HOLD_EXPIRED", "a", null, 900));
    s = apply(s, event("HOLD_CREATED", "zz", 300, 900));
    expect(s.needsRefetch).toBe(true);
    s = cartReducer(s, { type: "snapshot", cart: cart([item("zz", 300)], 900), sentAt: T0, receivedAt: T0 });
    expect(s.needsRefetch).toBe(false);
    expect(s.items.map((i) => i.lead.id)).toEqual(["zz"]);
    expect(s.notices).toHaveLength(1);
  });
});

describe("cart events", () => {
  const two = () => loaded(cart([item("a", 300, 1), item("b", 320, 1)], 900));

  it("HOLD_CREATED for a known item updates its timer and the cart's", () => {
    const s = apply(two(), event("HOLD_CREATED", "a", 310, 905));
    expect(s.items[0]?.heldUntil).toBe(iso(310));
    expect(s.expiresAt).toBe(iso(905));
    expect(s.needsRefetch).toBe(false);
    expect(s.notices).toEqual([]);
  });

  it("HOLD_CREATED for an unknown lead asks for a refetch (the event has no lead details)", () => {
    const s = apply(two(), event("HOLD_CREATED", "c", 300, 900));
    expect(s.needsRefetch).toBe(true);
    expect(s.items).toHaveLength(2);
  });

  it("HOLD_EXTENDED moves the deadline and spends an extension", () => {
    const s = apply(two(), event("HOLD_EXTENDED", "a", 600, 1200));
    expect(s.items[0]).toMatchObject({ heldUntil: iso(600), extensionsUsed: 1, extensionsLeft: 0 });
    expect(s.expiresAt).toBe(iso(1200));
    expect(s.items[1]?.heldUntil).toBe(iso(320));
  });

  it("HOLD_EXTENDED already applied by the extendHold response is not counted twice", () => {
    const extended = { ...item("a", 600, 0), extensionsUsed: 1 };
    const s0 = loaded(cart([extended], 1200));
    const s = apply(s0, event("HOLD_EXTENDED", "a", 600, 1200));
    expect(s.items[0]).toMatchObject({ extensionsUsed: 1, extensionsLeft: 0 });
  });

  it("HOLD_EXPIRED removes the item at once with an 'expired' notice", () => {
    const s = apply(two(), event("HOLD_EXPIRED", "a", null, 900));
    expect(s.items.map((i) => i.lead.id)).toEqual(["b"]);
    expect(s.expiresAt).toBe(iso(900));
    expect(s.notices).toHaveLength(1);
    expect(s.notices[0]?.kind).toBe("expired");
    expect(s.notices[0]?.text).toContain("expired");
    expect(s.notices[0]?.text).toContain("Lead a");
  });

  it("the last item's expiry leaves an empty cart without a timer", () => {
    const s = apply(loaded(cart([item("a", 300)], 900)), event("HOLD_EXPIRED", "a", null, 900));
    expect(s.items).toEqual([]);
    expect(s.expiresAt).toBeNull();
  });

  it("LEAD_WITHDRAWN removes the item with a withdrawn notice", () => {
    const s = apply(two(), event("LEAD_WITHDRAWN", "b", null, 900));
    expect(s.items.map((i) => i.lead.id)).toEqual(["a"]);
    expect(s.notices[0]?.kind).toBe("withdrawn");
    expect(s.notices[0]?.text).toContain("withdrawn");
  });

  it("HOLD_RELEASED from elsewhere removes the item with a notice", () => {
    const s = apply(two(), event("HOLD_RELEASED", "a", null, 900));
    expect(s.items.map((i) => i.lead.id)).toEqual(["b"]);
    expect(s.notices[0]?.kind).toBe("released");
  });

  it("events about items the page no longer shows change nothing shown (our own remove, a late expiry)", () => {
    const s0 = two();
    for (const kind of ["HOLD_RELEASED", "HOLD_EXPIRED", "LEAD_WITHDRAWN"] as const) {
      const s1 = apply(s0, event(kind, "zz", null, 900));
      expect({ items: s1.items, notices: s1.notices, expiresAt: s1.expiresAt }).toEqual({ items: s0.items, notices: s0.notices, expiresAt: s0.expiresAt });
      // but the departure is remembered: a snapshot read earlier and still in flight must not revive it
      expect(s1.left).toEqual({ zz: Date.parse(iso(0)) });
    }
  });

  it("CART_EXPIRED empties the cart with a 'Cart expired' notice", () => {
    const s = apply(two(), event("CART_EXPIRED", null, null, null));
    expect(s.items).toEqual([]);
    expect(s.expiresAt).toBeNull();
    expect(s.notices[0]?.kind).toBe("cart-expired");
    expect(s.notices[0]?.text).toMatch(/^Cart expired/);
  });

  it("CART_EXPIRED on an already empty cart adds no notice", () => {
    const s = apply(loaded(cart([], null)), event("CART_EXPIRED", null, null, null));
    expect(s.notices).toEqual([]);
  });

  it("CHECKED_OUT empties the cart; a notice only when the page still showed items", () => {
    const s = apply(two(), event("CHECKED_OUT", null, null, null));
    expect(s.items).toEqual([]);
    expect(s.expiresAt).toBeNull();
    expect(s.notices[0]?.kind).toBe("checked-out");
    const quiet = apply(loaded(cart([], null)), event("CHECKED_OUT", null, null, null));
    expect(quiet.notices).toEqual([]);
  });

  it("this page's own checkout: its CHECKED_OUT event adds no notice, and success empties the cart", () => {
    let s = cartReducer(two(), { type: "checkoutStarted" });
    expect(s.checkingOut).toBe(true);
    s = apply(s, event("CHECKED_OUT", null, null, null));
    expect(s.items).toEqual([]);
    expect(s.notices).toEqual([]);
    s = cartReducer(s, { type: "checkoutFinished", bought: true });
    expect(s.checkingOut).toBe(false);
    const failed = cartReducer(cartReducer(two(), { type: "checkoutStarted" }), { type: "checkoutFinished", bought: false });
    expect(failed.items).toHaveLength(2);
    expect(failed.checkingOut).toBe(false);
  });

  it("an unknown kind from a newer server triggers a refetch", () => {
    const s = apply(two(), { ...event("HOLD_CREATED", "a", 300, 900), kind: "SOMETHING_NEW" as never });
    expect(s.needsRefetch).toBe(true);
    expect(s.items).toHaveLength(2);
  });
});

describe("notices", () => {
  it("keeps the newest MAX_NOTICES, newest first, with unique ids", () => {
    let s = loaded(cart([], null));
    for (let n = 0; n < MAX_NOTICES + 3; n++) s = cartReducer(s, { type: "notice", kind: "error", text: `n${n}` });
    expect(s.notices).toHaveLength(MAX_NOTICES);
    expect(s.notices[0]?.text).toBe(`n${MAX_NOTICES + 2}`);
    expect(new Set(s.notices.map((n) => n.id)).size).toBe(MAX_NOTICES);
  });
  it("dismiss removes one notice", () => {
    let s = apply(loaded(cart([item("a", 300), item("b", 300)], 900)), event("HOLD_EXPIRED", "a", null, 900));
    s = apply(s, event("HOLD_EXPIRED", "b", null, 900));
    const [first, second] = s.notices;
    s = cartReducer(s, { type: "dismiss", id: first!.id });
    expect(s.notices.map((n) => n.id)).toEqual([second!.id]);
  });
  it("reset returns to the initial state (sign-out)", () => {
    expect(cartReducer(loaded(cart([item("a", 300)], 900)), { type: "reset" })).toEqual(initialCartState);
  });
});

describe("helpers", () => {
  it("heldLeadIds and cartSignature", () => {
    const s = loaded(cart([item("b", 300), item("a", 300)], 900));
    expect(heldLeadIds(s)).toEqual(new Set(["a", "b"]));
    expect(cartSignature(s.items)).toBe("a,b");
    expect(cartSignature([{ lead: { id: "a" } }, { lead: { id: "b" } }])).toBe("a,b");
  });
});

describe("a snapshot that crossed an event in flight", () => {
  const at = (kind: CartEventData["kind"], leadId: string | null, offset: number): CartEventData => ({
    ...event(kind, leadId, null, null),
    at: iso(offset),
  });

  it("does not bring back an item an event took out after the snapshot was read", () => {
    let state = loaded(cart([item("a", 60), item("b", 120)], 600, 0));
    state = apply(state, at("HOLD_EXPIRED", "a", 5));
    // the cart was read at +4 s (before the expiry), its answer arrives after the event
    state = cartReducer(state, { type: "snapshot", cart: cart([item("a", 60), item("b", 120)], 600, 4), sentAt: T0, receivedAt: T0 });
    expect(state.items.map((i) => i.lead.id)).toEqual(["b"]);
    // a later read (after a re-add) shows it again, and the departure is forgotten
    state = cartReducer(state, { type: "snapshot", cart: cart([item("a", 90), item("b", 120)], 600, 6), sentAt: T0, receivedAt: T0 });
    expect(state.items.map((i) => i.lead.id)).toEqual(["a", "b"]);
    expect(state.left).toEqual({});
  });

  it("does not refill a cart emptied after the snapshot was read", () => {
    let state = loaded(cart([item("a", 60)], 600, 0));
    state = apply(state, at("CART_EXPIRED", null, 10));
    state = cartReducer(state, { type: "snapshot", cart: cart([item("a", 60)], 600, 9), sentAt: T0, receivedAt: T0 });
    expect(state.items).toEqual([]);
    expect(state.expiresAt).toBeNull();
    state = cartReducer(state, { type: "snapshot", cart: cart([item("c", 60)], 600, 11), sentAt: T0, receivedAt: T0 });
    expect(state.items.map((i) => i.lead.id)).toEqual(["c"]);
    expect(state.emptiedAt).toBeNull();
  });
});


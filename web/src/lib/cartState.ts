// The cart as the page shows it, and the reducer that applies server snapshots and live
// `cartEvents` to it. Pure (no React, no clock reads), so every event kind is unit-tested
// (cartState.test.ts).
import type { CartEventKind, CartFieldsFragment } from "../gql/graphql";
import { measureSkew, parseInstant } from "./countdown";

export type CartItemState = CartFieldsFragment["items"][number];

export type NoticeKind = "expired" | "withdrawn" | "released" | "cart-expired" | "checked-out" | "extended" | "error";

export interface CartNotice {
  id: number;
  kind: NoticeKind;
  text: string;
}

export interface CartState {
  /** A snapshot has been applied (before that the page shows "Loading"). */
  loaded: boolean;
  items: CartItemState[];
  expiresAt: string | null;
  /** serverTime − local clock (ms), measured when the last snapshot arrived. */
  skewMs: number;
  /** Newest first, at most MAX_NOTICES. */
  notices: CartNotice[];
  nextNoticeId: number;
  /** An event named a hold the page knows nothing about (made in another tab): fetch the cart. */
  needsRefetch: boolean;
  /** This page's checkout is in flight: its own CHECKED_OUT event is not news. */
  checkingOut: boolean;
  /** When (server time, ms) each lead left the cart by an event, and when the whole cart did:
   * a snapshot read before that instant but arriving after the event must not bring it back. */
  left: Record<string, number>;
  emptiedAt: number | null;
}

export interface CartEventData {
  kind: CartEventKind;
  leadId: string | null;
  heldUntil: string | null;
  cartExpiresAt: string | null;
  at: string;
}

export type CartAction =
  | { type: "snapshot"; cart: CartFieldsFragment; sentAt: number; receivedAt: number }
  | { type: "event"; event: CartEventData }
  | { type: "dismiss"; id: number }
  | { type: "notice"; kind: NoticeKind; text: string }
  | { type: "checkoutStarted" }
  | { type: "checkoutFinished"; bought: boolean }
  | { type: "reset" };

export const MAX_NOTICES = 5;

export const initialCartState: CartState = {
  loaded: false,
  items: [],
  expiresAt: null,
  skewMs: 0,
  notices: [],
  nextNoticeId: 1,
  needsRefetch: false,
  checkingOut: false,
  left: {},
  emptiedAt: null,
};

const LEAVING: ReadonlySet<CartEventKind> = new Set<CartEventKind>(["HOLD_EXPIRED", "HOLD_RELEASED", "LEAD_WITHDRAWN"] as CartEventKind[]);
const EMPTYING: ReadonlySet<CartEventKind> = new Set<CartEventKind>(["CART_EXPIRED", "CHECKED_OUT"] as CartEventKind[]);

/** Remember when an event took a lead (or every lead) out of the cart. */
function rememberDeparture(state: CartState, event: CartEventData): CartState {
  const at = parseInstant(event.at);
  if (EMPTYING.has(event.kind)) return { ...state, emptiedAt: Math.max(at, state.emptiedAt ?? at) };
  if (LEAVING.has(event.kind) && event.leadId) {
    return { ...state, left: { ...state.left, [event.leadId]: Math.max(at, state.left[event.leadId] ?? at) } };
  }
  return state;
}

/** A snapshot's items without those an event already took out after the snapshot was read; the
 * departures older than the snapshot are forgotten (the server's answer already reflects them). */
function applySnapshot(state: CartState, cart: CartFieldsFragment): Pick<CartState, "items" | "expiresAt" | "left" | "emptiedAt"> {
  const readAt = parseInstant(cart.serverTime);
  const emptiedLater = state.emptiedAt !== null && state.emptiedAt > readAt;
  const items = emptiedLater ? [] : cart.items.filter((i) => !((state.left[i.lead.id] ?? -Infinity) > readAt));
  const left = Object.fromEntries(Object.entries(state.left).filter(([, at]) => at > readAt));
  return {
    items,
    expiresAt: items.length === 0 ? null : cart.expiresAt,
    left,
    emptiedAt: emptiedLater ? state.emptiedAt : null,
  };
}

function withNotice(state: CartState, kind: NoticeKind, text: string): CartState {
  const notice = { id: state.nextNoticeId, kind, text };
  return { ...state, notices: [notice, ...state.notices].slice(0, MAX_NOTICES), nextNoticeId: state.nextNoticeId + 1 };
}

function titleOf(item: CartItemState | undefined): string {
  return item ? `“${item.lead.title}”` : "a lead";
}

/** Remove one lead's item; the cart timer goes with the last item (an empty cart has none). */
function without(state: CartState, leadId: string | null, cartExpiresAt: string | null): CartState {
  const items = state.items.filter((i) => i.lead.id !== leadId);
  return { ...state, items, expiresAt: items.length === 0 ? null : (cartExpiresAt ?? state.expiresAt) };
}

function applyEvent(state: CartState, event: CartEventData): CartState {
  const item = state.items.find((i) => i.lead.id === event.leadId);
  switch (event.kind) {
    case "HOLD_CREATED": {
      if (!item) {
        // held elsewhere (another tab or device): the event has no lead details, fetch them
        return { ...state, expiresAt: event.cartExpiresAt ?? state.expiresAt, needsRefetch: true };
      }
      const heldUntil = event.heldUntil ?? item.heldUntil;
      return {
        ...state,
        items: state.items.map((i) => (i === item ? { ...i, heldUntil } : i)),
        expiresAt: event.cartExpiresAt ?? state.expiresAt,
      };
    }
    case "HOLD_EXTENDED": {
      if (!item) return { ...state, expiresAt: event.cartExpiresAt ?? state.expiresAt, needsRefetch: true };
      const heldUntil = event.heldUntil ?? item.heldUntil;
      const extended = parseInstant(heldUntil) !== parseInstant(item.heldUntil);
      const next: CartItemState = extended
        ? {
            ...item,
            heldUntil,
            extensionsUsed: item.extensionsUsed + 1,
            extensionsLeft: Math.max(0, item.extensionsLeft - 1),
          }
        : item; // the extendHold response already carried this extension
      return {
        ...state,
        items: state.items.map((i) => (i === item ? next : i)),
        expiresAt: event.cartExpiresAt ?? state.expiresAt,
      };
    }
    case "HOLD_RELEASED": {
      if (!item) return state; // our own removeFromCart: its response already dropped the item
      return withNotice(without(state, event.leadId, event.cartExpiresAt), "released", `${titleOf(item)} was removed from your cart.`);
    }
    case "HOLD_EXPIRED": {
      if (!item) return state;
      return withNotice(
        without(state, event.leadId, event.cartExpiresAt),
        "expired",
        `Your hold on ${titleOf(item)} expired; the seat was released.`,
      );
    }
    case "LEAD_WITHDRAWN": {
      if (!item) return state;
      return withNotice(
        without(state, event.leadId, event.cartExpiresAt),
        "withdrawn",
        `${titleOf(item)} was withdrawn from the market and left your cart.`,
      );
    }
    case "CART_EXPIRED": {
      const emptied = { ...state, items: [], expiresAt: null };
      return state.items.length === 0 && !state.expiresAt
        ? emptied
        : withNotice(emptied, "cart-expired", "Cart expired: every hold in it was released.");
    }
    case "CHECKED_OUT": {
      const emptied = { ...state, items: [], expiresAt: null };
      // our own checkout is not news; a cart that was still shown was bought in another tab
      return state.items.length === 0 || state.checkingOut
        ? emptied
        : withNotice(emptied, "checked-out", "Your cart was checked out.");
    }
    default: {
      // a kind this build does not know (a newer server): the snapshot is the truth
      const unknownKind: never = event.kind;
      void unknownKind;
      return { ...state, needsRefetch: true };
    }
  }
}

/** Apply a server snapshot (query or mutation payload), a live event, or a notice change. */
export function cartReducer(state: CartState, action: CartAction): CartState {
  switch (action.type) {
    case "snapshot":
      return {
        ...state,
        ...applySnapshot(state, action.cart),
        loaded: true,
        skewMs: measureSkew(action.cart.serverTime, action.sentAt, action.receivedAt),
        needsRefetch: false,
      };
    case "event":
      return rememberDeparture(applyEvent(state, action.event), action.event);
    case "dismiss":
      return { ...state, notices: state.notices.filter((n) => n.id !== action.id) };
    case "notice":
      return withNotice(state, action.kind, action.text);
    case "checkoutStarted":
      return { ...state, checkingOut: true };
    case "checkoutFinished":
      return action.bought
        ? { ...state, checkingOut: false, items: [], expiresAt: null }
        : { ...state, checkingOut: false };
    case "reset":
      return initialCartState;
  }
}

/** The lead ids in the cart, for "already in cart" checks. */
export function heldLeadIds(state: CartState): Set<string> {
  return new Set(state.items.map((i) => i.lead.id));
}

/** An order-independent signature of the cart's contents (which checkout attempt a key belongs to). */
export function cartSignature(items: readonly { lead: { id: string } }[]): string {
  return items
    .map((i) => i.lead.id)
    .sort()
    .join(",");
}

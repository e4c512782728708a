// The cart for the whole app: one snapshot fetched on sign-in (and after every reconnect), kept
// live by the cartEvents subscription, and changed by the cart mutations (whose payloads carry
// a fresh snapshot with serverTime, so the clock skew is re-measured each time).
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useReducer, useRef } from "react";
import { useClient } from "urql";
import {
  AddToCartDocument,
  CartDocument,
  CartEventsDocument,
  type CartFieldsFragment,
  ExtendHoldDocument,
  RemoveFromCartDocument,
  type UserErrorFieldsFragment,
} from "../gql/graphql";
import { type CartState, cartReducer, type CartAction, initialCartState } from "../lib/cartState";
import { effectiveDeadline, serverNow } from "../lib/countdown";
import { type Failure, fromCombined, fromUserErrors } from "../lib/errors";
import { onReconnected } from "./connection";

/** How long past a deadline the page waits for HOLD_EXPIRED before asking the server itself. */
const EXPIRY_GRACE_MS = 2_500;

interface CartContextValue {
  state: CartState;
  dispatch: (action: CartAction) => void;
  refetch: () => Promise<void>;
  add: (leadId: string) => Promise<Failure | null>;
  remove: (leadId: string) => Promise<Failure | null>;
  extend: (leadId: string) => Promise<Failure | null>;
}

const CartContext = createContext<CartContextValue | null>(null);

type CartPayloadResult = { cart: CartFieldsFragment | null; errors: UserErrorFieldsFragment[] } | undefined;

export function CartProvider({ signedIn, children }: { signedIn: boolean; children: ReactNode }) {
  const client = useClient();
  const [state, dispatch] = useReducer(cartReducer, initialCartState);
  const inFlight = useRef(0);
  const lastFallback = useRef(0);

  const refetch = useCallback(async () => {
    if (!signedIn) return;
    inFlight.current += 1;
    try {
      const sentAt = Date.now();
      const result = await client.query(CartDocument, {}, { requestPolicy: "network-only" }).toPromise();
      if (result.data) dispatch({ type: "snapshot", cart: result.data.cart, sentAt, receivedAt: Date.now() });
    } finally {
      inFlight.current -= 1;
    }
  }, [client, signedIn]);

  // first snapshot, and a fresh one after every reconnection (events may have been missed)
  useEffect(() => {
    if (!signedIn) {
      dispatch({ type: "reset" });
      return;
    }
    void refetch();
    return onReconnected(() => void refetch());
  }, [signedIn, refetch]);

  // live events
  useEffect(() => {
    if (!signedIn) return;
    const subscription = client.subscription(CartEventsDocument, {}).subscribe((result) => {
      if (result.data) dispatch({ type: "event", event: result.data.cartEvents });
    });
    return () => subscription.unsubscribe();
  }, [client, signedIn]);

  // an event named a hold made elsewhere: fetch its details (unless a mutation's payload is coming)
  useEffect(() => {
    if (!state.needsRefetch) return;
    const timer = setTimeout(() => {
      if (inFlight.current === 0) void refetch();
    }, 250);
    return () => clearTimeout(timer);
  }, [state.needsRefetch, refetch]);

  // safety net: a deadline well past with no HOLD_EXPIRED (e.g. the socket is down) → ask the server
  const stateRef = useRef(state);
  stateRef.current = state;
  useEffect(() => {
    if (!signedIn) return;
    const timer = setInterval(() => {
      const s = stateRef.current;
      if (s.items.length === 0 && !s.expiresAt) return;
      const now = serverNow(Date.now(), s.skewMs);
      const overdue =
        s.items.some((i) => effectiveDeadline(i.heldUntil, s.expiresAt) + EXPIRY_GRACE_MS < now) ||
        (s.expiresAt !== null && Date.parse(s.expiresAt) + EXPIRY_GRACE_MS < now);
      if (overdue && Date.now() - lastFallback.current > 5_000 && inFlight.current === 0) {
        lastFallback.current = Date.now();
        void refetch();
      }
    }, 1_000);
    return () => clearInterval(timer);
  }, [signedIn, refetch]);

  const runCartMutation = useCallback(
    async (execute: () => Promise<{ payload: CartPayloadResult; error?: Parameters<typeof fromCombined>[0] }>) => {
      inFlight.current += 1;
      try {
        const sentAt = Date.now();
        const { payload, error } = await execute();
        const receivedAt = Date.now();
        if (error && !payload) return fromCombined(error);
        if (payload?.cart) dispatch({ type: "snapshot", cart: payload.cart, sentAt, receivedAt });
        const failure = fromUserErrors(payload?.errors);
        if (failure && !payload?.cart) void refetch(); // e.g. HOLD_EXPIRED: show what the server has
        return failure;
      } finally {
        inFlight.current -= 1;
      }
    },
    [refetch],
  );

  const add = useCallback(
    (leadId: string) =>
      runCartMutation(async () => {
        const r = await client.mutation(AddToCartDocument, { leadId }).toPromise();
        return { payload: r.data?.addToCart, error: r.error };
      }),
    [client, runCartMutation],
  );
  const remove = useCallback(
    (leadId: string) =>
      runCartMutation(async () => {
        const r = await client.mutation(RemoveFromCartDocument, { leadId }).toPromise();
        return { payload: r.data?.removeFromCart, error: r.error };
      }),
    [client, runCartMutation],
  );
  const extend = useCallback(
    (leadId: string) =>
      runCartMutation(async () => {
        const r = await client.mutation(ExtendHoldDocument, { leadId }).toPromise();
        return { payload: r.data?.extendHold, error: r.error };
      }),
    [client, runCartMutation],
  );

  const value = useMemo(() => ({ state, dispatch, refetch, add, remove, extend }), [state, refetch, add, remove, extend]);
  return <CartContext.Provider value={value}>{children}</CartContext.Provider>;
}

export function useCart(): CartContextValue {
  const value = useContext(CartContext);
  if (!value) throw new Error("useCart outside CartProvider");
  return value;
}

// The cart: each hold's countdown and the cart-wide countdown (deadlines corrected by the clock
// skew measured with serverTime), live removal on HOLD_EXPIRED / LEAD_WITHDRAWN, CART_EXPIRED
// emptying it, Extend where the tier allows, and checkout with an idempotency key kept across
// retries of the same attempt, then the revealed contacts.
import { useEffect, useState } from "react";
import { useClient } from "urql";
import { useCart } from "../app/cart";
import { useViewer } from "../app/viewer";
import { Countdown } from "../components/Countdown";
import { CheckoutDocument, type CheckoutMutation } from "../gql/graphql";
import { attemptKey, attemptStore, finishAttempt, isRetryableFailure, pendingKey } from "../lib/attempts";
import { cartSignature } from "../lib/cartState";
import { effectiveDeadline } from "../lib/countdown";
import { type Failure, fromCombined, fromUserErrors } from "../lib/errors";
import { credits, propertyTypeLabel } from "../lib/format";
import { href, Link, leadHref } from "../lib/router";
import { ContactCard } from "./LeadPage";

const CHECKOUT = "checkout";

type Purchases = CheckoutMutation["checkout"]["purchases"];

const keyStore = attemptStore;

export function CartPage() {
  const client = useClient();
  const { state, dispatch, refetch, remove, extend } = useCart();
  // opening the cart shows the server's cart: a hold made elsewhere just after sign-in, before
  // the cartEvents subscription was registered, would otherwise stay unseen until the next event
  useEffect(() => {
    void refetch();
  }, [refetch]);
  const { viewer, refresh: refreshViewer } = useViewer();
  const [busyLead, setBusyLead] = useState<string | null>(null);
  const [checkingOut, setCheckingOut] = useState(false);
  const [failure, setFailure] = useState<(Failure & { retryable: boolean }) | null>(null);
  const [purchases, setPurchases] = useState<Purchases>([]);
  const [spent, setSpent] = useState<number | null>(null);

  const total = state.items.reduce((sum, i) => sum + i.price, 0);
  const signature = cartSignature(state.items);
  const savedKey = pendingKey(keyStore(), CHECKOUT);

  async function itemAction(leadId: string, action: (id: string) => Promise<Failure | null>) {
    setBusyLead(leadId);
    const f = await action(leadId);
    setBusyLead(null);
    if (f) dispatch({ type: "notice", kind: "error", text: f.message });
  }

  async function checkout() {
    // same attempt (same cart, not yet answered) → same key, so a retry can never buy twice; with
    // the cart already empty, an interrupted attempt is asked for its result with its own key
    const idempotencyKey = state.items.length > 0 ? attemptKey(keyStore(), CHECKOUT, signature) : savedKey;
    if (!idempotencyKey) return;
    setCheckingOut(true);
    setFailure(null);
    dispatch({ type: "checkoutStarted" });
    const result = await client.mutation(CheckoutDocument, { idempotencyKey }).toPromise();
    const payload = result.data?.checkout;
    let f: Failure | null = null;
    if (!payload) f = result.error ? fromCombined(result.error) : { message: "Checkout failed.", codes: [] };
    else f = fromUserErrors(payload.errors);
    const bought = !!payload && !f && payload.purchases.length > 0;
    dispatch({ type: "checkoutFinished", bought });
    setCheckingOut(false);
    if (bought) {
      finishAttempt(keyStore(), CHECKOUT);
      setPurchases(payload.purchases);
      setSpent(payload.creditsSpent);
      refreshViewer();
      void refetch();
      return;
    }
    const retryable = f ? isRetryableFailure(f) : false;
    if (!retryable) finishAttempt(keyStore(), CHECKOUT); // a definitive answer ends the attempt
    setFailure({ ...(f ?? { message: "Nothing was bought.", codes: [] }), retryable });
    void refetch(); // e.g. HOLD_EXPIRED: show what is left
  }

  return (
    <section className="cart-page" aria-label="Cart">
      <h1 tabIndex={-1} data-page-heading>
        Cart
      </h1>

      <div className="notices" role="status" data-testid="cart-notice">
        {state.notices.map((n) => (
          <p key={n.id} className={`notice notice--${n.kind === "error" ? "error" : n.kind === "extended" ? "info" : "warn"}`}>
            <span id={`notice-${n.id}`}>{n.text}</span>
            <button type="button" className="button button--small button--quiet" onClick={() => dispatch({ type: "dismiss", id: n.id })} aria-describedby={`notice-${n.id}`}>
              Dismiss
            </button>
          </p>
        ))}
      </div>

      {!state.loaded ? <p>Loading your cart…</p> : null}

      {state.loaded && state.items.length === 0 && savedKey && purchases.length === 0 ? (
        <div className="notice notice--warn">
          <p>A checkout was interrupted before its answer arrived. Ask for its result (nothing is bought twice):</p>
          <button type="button" className="button button--primary" onClick={checkout} disabled={checkingOut} data-attempt-key={savedKey}>
            Check out
          </button>
        </div>
      ) : null}

      {state.loaded && state.items.length === 0 && !savedKey && purchases.length === 0 ? (
        <p>
          Your cart is empty. <Link href={href("/")}>Find leads</Link>
        </p>
      ) : null}

      {state.items.length > 0 ? (
        <>
          <p className="cart-timer">
            Cart expires in{" "}
            {state.expiresAt ? <Countdown deadline={state.expiresAt} skewMs={state.skewMs} testId="cart-countdown" /> : <span data-testid="cart-countdown">—</span>}
            <span className="hint"> — every hold is released then.</span>
          </p>
          <ul className="cart-items">
            {state.items.map((item) => {
              const titleId = `cart-title-${item.lead.id}`;
              const deadline = effectiveDeadline(item.heldUntil, state.expiresAt);
              return (
                <li key={item.lead.id} className="cart-item" data-testid="cart-item" data-lead-id={item.lead.id}>
                  <div className="cart-item__main">
                    <h2 className="cart-item__title" id={titleId}>
                      <Link href={leadHref(item.lead.id)}>{item.lead.title}</Link>
                    </h2>
                    <p className="card__meta">
                      {propertyTypeLabel(item.lead.propertyType)} · {item.lead.address.city}, {item.lead.address.state}
                    </p>
                    <p>
                      <span className="price">{credits(item.price)}</span> <span className="hint">(price frozen while held)</span>
                    </p>
                  </div>
                  <div className="cart-item__timer">
                    <span className="hint">Held for</span> <Countdown deadline={deadline} skewMs={state.skewMs} testId="item-countdown" />
                  </div>
                  <div className="cart-item__actions">
                    {item.extensionsLeft > 0 ? (
                      <button
                        type="button"
                        className="button"
                        onClick={() => itemAction(item.lead.id, extend)}
                        disabled={busyLead === item.lead.id || checkingOut}
                        aria-describedby={`${titleId} ext-${item.lead.id}`}
                      >
                        Extend
                      </button>
                    ) : null}
                    {item.extensionsLeft > 0 ? (
                      <span className="hint" id={`ext-${item.lead.id}`}>
                        {item.extensionsLeft} extension{item.extensionsLeft === 1 ? "" : "s"} left
                      </span>
                    ) : null}
                    <button type="button" className="button button--quiet" onClick={() => itemAction(item.lead.id, remove)} disabled={busyLead === item.lead.id || checkingOut} aria-describedby={titleId}>
                      Remove
                    </button>
                  </div>
                </li>
              );
            })}
          </ul>
          <div className="cart-summary">
            <p>
              Total <strong>{credits(total)}</strong>
              {viewer ? <span className="hint"> · your balance {credits(viewer.credits)}</span> : null}
            </p>
            {viewer && viewer.credits < total ? (
              <p className="error">
                Not enough credits: <Link href={href("/credits")}>top up your balance</Link>.
              </p>
            ) : null}
            <button type="button" className="button button--primary" onClick={checkout} disabled={checkingOut} data-attempt-key={savedKey ?? undefined}>
              Check out
            </button>
            {checkingOut ? <span role="status"> Checking out…</span> : null}
          </div>
        </>
      ) : null}

      {failure ? (
        <div className="notice notice--error" role="alert">
          <p>{failure.message}</p>
          {failure.retryable ? <p>Nothing is charged twice: “Check out” retries this attempt with the same key.</p> : null}
        </div>
      ) : null}

      {purchases.length > 0 ? (
        <section className="purchases" aria-labelledby="purchased-heading">
          <h2 id="purchased-heading">Purchased{spent !== null ? ` for ${credits(spent)}` : ""}</h2>
          <ul className="purchase-list">
            {purchases.map((p) => (
              <li key={p.id} className="panel" data-lead-id={p.lead.id}>
                <h3>
                  <Link href={leadHref(p.lead.id)}>{p.lead.title}</Link>
                </h3>
                {p.lead.address.street ? (
                  <p>
                    {p.lead.address.street}, {p.lead.address.city}, {p.lead.address.state} {p.lead.address.zip}
                  </p>
                ) : null}
                {p.lead.contact ? <ContactCard contact={p.lead.contact} sourceUrl={p.lead.sourceUrl} /> : <p>Contact not available.</p>}
              </li>
            ))}
          </ul>
        </section>
      ) : null}
    </section>
  );
}

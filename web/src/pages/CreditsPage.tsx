// Credits: balance, packs (buyCredits, one idempotency key per purchase attempt), the tiers'
// plans, and the ledger (creditTransactions, newest first, paginated).
import { useEffect, useRef, useState } from "react";
import { useClient, useQuery } from "urql";
import { useViewer } from "../app/viewer";
import { BuyCreditsDocument, type CreditPack, CreditsDocument, type CreditsQuery, type PaymentFieldsFragment, PaymentDocument } from "../gql/graphql";
import { attemptKey, attemptStore, finishAttempt, isRetryableFailure } from "../lib/attempts";
import { fromCombined, fromUserErrors } from "../lib/errors";
import { credits, formatCents, formatDateTime } from "../lib/format";

const PACKS: { pack: CreditPack; credits: number }[] = [
  { pack: "STARTER", credits: 50 },
  { pack: "GROWTH", credits: 250 },
  { pack: "BULK", credits: 1000 },
];

const POLL_MS = 2_000;
const POLL_LIMIT = 60;

type Transaction = CreditsQuery["creditTransactions"]["edges"][number]["node"];

export function CreditsPage() {
  const client = useClient();
  const { refresh: refreshViewer } = useViewer();
  const [result, reexecute] = useQuery({ query: CreditsDocument, variables: { first: 20 }, requestPolicy: "cache-and-network" });
  const [older, setOlder] = useState<{ items: Transaction[]; endCursor: string | null; hasNext: boolean } | null>(null);
  const [busy, setBusy] = useState<CreditPack | null>(null);
  const [message, setMessage] = useState<{ tone: "ok" | "error" | "info"; text: string } | null>(null);
  const polling = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => () => void (polling.current && clearTimeout(polling.current)), []);

  const data = result.data;
  const viewer = data?.me;

  function refreshAll() {
    setOlder(null);
    reexecute({ requestPolicy: "network-only" });
    refreshViewer();
  }

  function settle(payment: PaymentFieldsFragment, name: string) {
    if (payment.status === "SUCCEEDED") {
      finishAttempt(attemptStore(), name);
      setMessage({ tone: "ok", text: `Added ${credits(payment.credits ?? 0)} to your balance.` });
      refreshAll();
    } else if (payment.status === "FAILED") {
      finishAttempt(attemptStore(), name);
      setMessage({ tone: "error", text: `The payment failed${payment.failureReason ? `: ${payment.failureReason}` : "."}` });
    }
  }

  async function poll(payment: PaymentFieldsFragment, name: string, round = 0) {
    if (round >= POLL_LIMIT) {
      setMessage({ tone: "info", text: "The payment is still pending. Its credits are added as soon as it succeeds." });
      return;
    }
    polling.current = setTimeout(async () => {
      const r = await client.query(PaymentDocument, { id: payment.id }, { requestPolicy: "network-only" }).toPromise();
      const now = r.data?.payment;
      if (now && now.status !== "PENDING") settle(now, name);
      else void poll(payment, name, round + 1);
    }, POLL_MS);
  }

  async function buy(pack: CreditPack) {
    const name = `buy:${pack}`;
    const idempotencyKey = attemptKey(attemptStore(), name, pack);
    setBusy(pack);
    setMessage(null);
    const r = await client.mutation(BuyCreditsDocument, { pack, idempotencyKey }).toPromise();
    setBusy(null);
    const payload = r.data?.buyCredits;
    const failure = payload ? fromUserErrors(payload.errors) : r.error ? fromCombined(r.error) : { message: "The purchase failed.", codes: [] };
    if (failure) {
      if (!isRetryableFailure(failure)) finishAttempt(attemptStore(), name);
      setMessage({ tone: "error", text: failure.message });
      return;
    }
    const payment = payload?.payment;
    if (!payment) {
      finishAttempt(attemptStore(), name);
      refreshAll();
      return;
    }
    if (payment.status === "PENDING") {
      // a real provider (Stripe) confirms in the browser with payment.clientSecret; until then we poll
      setMessage({ tone: "info", text: `Payment of ${formatCents(payment.amountCents, payment.currency)} pending: confirm it with the payment provider.` });
      void poll(payment, name);
    } else settle(payment, name);
  }

  async function loadOlder() {
    const after = older ? older.endCursor : (data?.creditTransactions.pageInfo.endCursor ?? null);
    if (!after) return;
    const r = await client.query(CreditsDocument, { first: 20, after }).toPromise();
    const page = r.data?.creditTransactions;
    if (!page) return;
    setOlder((prev) => ({ items: [...(prev?.items ?? []), ...page.edges.map((e) => e.node)], endCursor: page.pageInfo.endCursor ?? null, hasNext: page.pageInfo.hasNextPage }));
  }

  const transactions = [...(data?.creditTransactions.edges.map((e) => e.node) ?? []), ...(older?.items ?? [])];
  const hasOlder = older ? older.hasNext : (data?.creditTransactions.pageInfo.hasNextPage ?? false);

  return (
    <div className="credits-page">
      <h1 tabIndex={-1} data-page-heading>
        Credits
      </h1>
      {result.error && !data ? (
        <p className="error" role="alert">
          {fromCombined(result.error).message}
        </p>
      ) : null}
      <section className="panel" aria-labelledby="balance-heading">
        <h2 id="balance-heading">Balance</h2>
        <p className="balance-big">{viewer ? credits(viewer.credits) : "…"}</p>
        {viewer ? (
          <p>
            Tier <strong>{viewer.tier}</strong>
            {viewer.tierPaidUntil ? ` · paid until ${formatDateTime(viewer.tierPaidUntil)}` : ""}
          </p>
        ) : null}
      </section>

      <section className="panel" aria-labelledby="packs-heading">
        <h2 id="packs-heading">Buy credits</h2>
        <ul className="packs">
          {PACKS.map((p) => (
            <li key={p.pack} className="pack">
              <p className="pack__credits">{credits(p.credits)}</p>
              <button type="button" className="button button--primary" onClick={() => buy(p.pack)} disabled={busy !== null} aria-describedby={`pack-${p.pack}`}>
                Buy {p.pack}
              </button>
              <span className="sr-only" id={`pack-${p.pack}`}>
                {credits(p.credits)}
              </span>
            </li>
          ))}
        </ul>
        <div role="status" className="packs__status">
          {busy ? <p>Buying {busy}…</p> : null}
          {message ? <p className={message.tone === "error" ? "error" : message.tone === "ok" ? "ok" : ""}>{message.text}</p> : null}
        </div>
      </section>

      {data ? (
        <section className="panel" aria-labelledby="plans-heading">
          <h2 id="plans-heading">Tiers</h2>
          <div className="table-scroll" tabIndex={0} role="region" aria-label="Tiers table (scrolls sideways)">
            <table className="plans">
              <thead>
                <tr>
                  <th scope="col">Tier</th>
                  <th scope="col">Monthly credits</th>
                  <th scope="col">Discount</th>
                  <th scope="col">Cart size</th>
                  <th scope="col">Hold extensions</th>
                  <th scope="col">Price / 30 days</th>
                </tr>
              </thead>
              <tbody>
                {data.plans.map((plan) => (
                  <tr key={plan.tier} aria-current={viewer?.tier === plan.tier ? "true" : undefined}>
                    <th scope="row">{plan.tier}</th>
                    <td>{plan.monthlyCredits}</td>
                    <td>{plan.discountPercent}%</td>
                    <td>{plan.maxCartItems}</td>
                    <td>{plan.holdExtensions}</td>
                    <td>{plan.monthlyPriceCents ? formatCents(plan.monthlyPriceCents) : "free"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      ) : null}

      <section className="panel" aria-labelledby="tx-heading">
        <h2 id="tx-heading">Transactions{data ? ` (${data.creditTransactions.totalCount})` : ""}</h2>
        {data && transactions.length === 0 ? <p>No transactions yet.</p> : null}
        <ol className="transactions" data-testid="transactions">
          {transactions.map((t) => (
            <li key={t.id} className="transaction">
              <span className={t.amount >= 0 ? "transaction__amount ok" : "transaction__amount"}>
                {t.amount >= 0 ? "+" : "−"}
                {Math.abs(t.amount)}
              </span>
              <span className="transaction__what">
                <strong>{t.kind.replace(/_/g, " ").toLowerCase()}</strong> — {t.reason}
              </span>
              <span className="transaction__when">{formatDateTime(t.createdAt)}</span>
              <span className="transaction__after">balance {t.balanceAfter}</span>
            </li>
          ))}
        </ol>
        {hasOlder ? (
          <button type="button" className="button" onClick={loadOlder}>
            Older transactions
          </button>
        ) : null}
      </section>
    </div>
  );
}

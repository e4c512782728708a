// One lead in a list (search results, similar leads, new leads): the viewer's price (live),
// quality, fraud signals, seats left and Add to cart.
import { useState } from "react";
import type { LeadCardFieldsFragment } from "../gql/graphql";
import { useCart } from "../app/cart";
import { useLivePrice } from "../app/livePrices";
import { useViewer } from "../app/viewer";
import { credits, formatUsd, fraudLevel, percent, propertyTypeLabel, sourceLabel } from "../lib/format";
import { href, Link, leadHref, navigate } from "../lib/router";
import { FraudSignals } from "./FraudSignals";

export type CardLead = LeadCardFieldsFragment & { recommendationReason?: string | null };

export function seatsText(available: number, maxBuyers: number): string {
  if (maxBuyers === 1) return available > 0 ? "Exclusive: 1 seat left" : "Exclusive: sold";
  return `${available} of ${maxBuyers} seats left`;
}

export function LeadCard({ lead, headingLevel = 3 }: { lead: CardLead; headingLevel?: 2 | 3 | 4 }) {
  const live = useLivePrice(lead.id);
  const { signedIn } = useViewer();
  const cart = useCart();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const price = live?.price ?? lead.price;
  const seats = live?.availableSeats ?? lead.availableSeats;
  const status = live?.status ?? lead.status;
  const inCart = cart.state.items.some((i) => i.lead.id === lead.id);
  const available = status === "AVAILABLE" && seats > 0;
  const level = fraudLevel(lead.fraudScore);
  const Heading = `h${headingLevel}` as const;
  const titleId = `lead-title-${lead.id}`;

  async function addToCart() {
    if (!signedIn) {
      navigate(`${href("/signin")}?next=${encodeURIComponent(window.location.pathname + window.location.search)}`);
      return;
    }
    setBusy(true);
    setError(null);
    const failure = await cart.add(lead.id);
    setBusy(false);
    if (failure) setError(failure.message);
  }

  return (
    <article className="card" data-testid="lead-card" data-lead-id={lead.id}>
      <Heading className="card__title" id={titleId}>
        <Link href={leadHref(lead.id)}>{lead.title}</Link>
      </Heading>
      <p className="card__meta">
        {propertyTypeLabel(lead.propertyType)} · {lead.address.city}, {lead.address.state} {lead.address.zip}
        {lead.distanceMiles !== null ? ` · ${lead.distanceMiles.toFixed(1)} mi` : ""}
      </p>
      <p className="card__facts">
        {formatUsd(lead.askingPrice)}
        {lead.bedrooms !== null ? ` · ${lead.bedrooms} bd` : ""}
        {lead.bathrooms !== null ? ` · ${lead.bathrooms} ba` : ""}
        {lead.sqft !== null ? ` · ${lead.sqft.toLocaleString("en-US")} sqft` : ""}
        {` · ${sourceLabel(lead.source)}`}
      </p>
      {lead.recommendationReason ? <p className="card__reason">{lead.recommendationReason}</p> : null}
      <div className="card__price">
        <span className="price" data-testid="lead-price">
          {credits(price)}
        </span>
        {live && live.oldPrice !== live.price ? (
          <span className={live.price > live.oldPrice ? "price-change price-change--up" : "price-change price-change--down"}>
            {live.price > live.oldPrice ? "▲" : "▼"} was {live.oldPrice}
          </span>
        ) : null}
      </div>
      <dl className="card__scores">
        <div>
          <dt>Quality</dt>
          <dd data-testid="lead-quality">{percent(lead.qualityScore)}</dd>
        </div>
        <div>
          <dt>Seats</dt>
          <dd data-testid="lead-seats">{seatsText(seats, lead.maxBuyers)}</dd>
        </div>
      </dl>
      <div className={`fraud fraud--${level}`} data-testid="lead-fraud">
        <p className="fraud__score">
          Fraud risk: {level} ({percent(lead.fraudScore)})
        </p>
        <FraudSignals signals={lead.fraudSignals} emptyText="No fraud signals" />
      </div>
      <div className="card__actions">
        <button type="button" className="button button--primary" onClick={addToCart} aria-describedby={titleId} disabled={!available || inCart || lead.purchased || busy}>
          Add to cart
        </button>
        <span className="card__state">
          {lead.purchased ? "Purchased" : inCart ? "In your cart" : !available ? (status === "AVAILABLE" ? "No seat free" : status.replace("_", " ").toLowerCase()) : ""}
        </span>
      </div>
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
    </article>
  );
}

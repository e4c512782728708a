// One lead: details, the viewer's live price, price history chart, contact once bought, and
// similar leads (similarLeads).
import { useState } from "react";
import { useQuery } from "urql";
import { useCart } from "../app/cart";
import { useLivePrice, usePriceChangeListener } from "../app/livePrices";
import { useViewer } from "../app/viewer";
import { LeadCard, seatsText } from "../components/LeadCard";
import { PriceHistoryChart } from "../components/PriceHistoryChart";
import { LeadDocument, SimilarLeadsDocument } from "../gql/graphql";
import { fromCombined } from "../lib/errors";
import { credits, formatDate, formatUsd, fraudLevel, percent, propertyTypeLabel, sourceLabel } from "../lib/format";
import { href, Link, navigate } from "../lib/router";
import { FraudSignals } from "../components/FraudSignals";

export function LeadPage({ id }: { id: string }) {
  const [result, reexecute] = useQuery({ query: LeadDocument, variables: { id } });
  const [similar] = useQuery({ query: SimilarLeadsDocument, variables: { leadId: id, first: 6 } });
  const live = useLivePrice(id);
  // a pushed price change of this lead: fetch the new history point too
  usePriceChangeListener((leadId) => {
    if (leadId === id) reexecute({ requestPolicy: "network-only" });
  });
  const { signedIn } = useViewer();
  const cart = useCart();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  if (result.error && !result.data) {
    return (
      <div>
        <h1 tabIndex={-1} data-page-heading>
          Lead
        </h1>
        <p className="error" role="alert">
          {fromCombined(result.error).message}
        </p>
      </div>
    );
  }
  const lead = result.data?.lead;
  if (!lead) {
    return (
      <div>
        <h1 tabIndex={-1} data-page-heading>
          {result.fetching ? "Loading lead…" : "Lead not found"}
        </h1>
        {!result.fetching ? <Link href={href("/")}>Back to results</Link> : null}
      </div>
    );
  }

  const price = live?.price ?? lead.price;
  const seats = live?.availableSeats ?? lead.availableSeats;
  const status = live?.status ?? lead.status;
  const inCart = cart.state.items.some((i) => i.lead.id === lead.id);
  const available = status === "AVAILABLE" && seats > 0;

  async function add() {
    if (!signedIn) {
      navigate(`${href("/signin")}?next=${encodeURIComponent(window.location.pathname)}`);
      return;
    }
    setBusy(true);
    setError(null);
    const failure = await cart.add(id);
    setBusy(false);
    if (failure) setError(failure.message);
  }

  return (
    <article className="lead-page">
      <p className="breadcrumb">
        <Link href={href("/")}>← Back to results</Link>
      </p>
      <h1 tabIndex={-1} data-page-heading>
        {lead.title}
      </h1>
      <p className="card__meta">
        {propertyTypeLabel(lead.propertyType)} · {lead.address.street ? `${lead.address.street}, ` : ""}
        {lead.address.city}, {lead.address.state} {lead.address.zip} · listed {formatDate(lead.postedAt)} on {sourceLabel(lead.source)}
      </p>
      <div className="lead-page__grid">
        <section className="panel" aria-labelledby="buy-heading">
          <h2 id="buy-heading">Price</h2>
          <p className="lead-page__price">
            <span className="price" data-testid="lead-detail-price">
              {credits(price)}
            </span>
            {live && live.oldPrice !== live.price ? <span className="price-change"> (was {live.oldPrice})</span> : null}
          </p>
          <p>{seatsText(seats, lead.maxBuyers)}</p>
          {lead.purchased ? (
            <p className="ok">You bought this lead.</p>
          ) : (
            <button type="button" className="button button--primary" onClick={add} disabled={!available || inCart || busy}>
              Add to cart
            </button>
          )}
          {inCart ? <p>In your cart.</p> : null}
          {error ? (
            <p className="error" role="alert">
              {error}
            </p>
          ) : null}
        </section>
        <section className="panel" aria-labelledby="facts-heading">
          <h2 id="facts-heading">Property</h2>
          <dl className="facts">
            <dt>Asking price</dt>
            <dd>{formatUsd(lead.askingPrice)}</dd>
            <dt>Bedrooms</dt>
            <dd>{lead.bedrooms ?? "—"}</dd>
            <dt>Bathrooms</dt>
            <dd>{lead.bathrooms ?? "—"}</dd>
            <dt>Living area</dt>
            <dd>{lead.sqft ? `${lead.sqft.toLocaleString("en-US")} sqft` : "—"}</dd>
            <dt>Year built</dt>
            <dd>{lead.yearBuilt ?? "—"}</dd>
            <dt>Photos</dt>
            <dd>{lead.photoCount}</dd>
            <dt>Quality</dt>
            <dd>{percent(lead.qualityScore)}</dd>
            <dt>Fraud risk</dt>
            <dd>
              {fraudLevel(lead.fraudScore)} ({percent(lead.fraudScore)})
            </dd>
          </dl>
          <FraudSignals signals={lead.fraudSignals} />
        </section>
      </div>
      {lead.contact ? (
        <section className="panel" aria-labelledby="contact-heading">
          <h2 id="contact-heading">Contact</h2>
          <ContactCard contact={lead.contact} sourceUrl={lead.sourceUrl} />
        </section>
      ) : null}
      {lead.description ? (
        <section className="panel" aria-labelledby="description-heading">
          <h2 id="description-heading">Description</h2>
          <p className="description">{lead.description}</p>
        </section>
      ) : null}
      <section className="panel" aria-labelledby="history-heading">
        <h2 id="history-heading">Price history</h2>
        <PriceHistoryChart history={lead.priceHistory} />
      </section>
      <section aria-labelledby="similar-heading">
        <h2 id="similar-heading">Similar leads</h2>
        {similar.data && similar.data.similarLeads.length === 0 ? <p>No similar leads yet.</p> : null}
        {similar.error ? <p className="error">{fromCombined(similar.error).message}</p> : null}
        <ul className="card-grid" data-testid="similar-leads">
          {similar.data?.similarLeads.map((l) => (
            <li key={l.id}>
              <LeadCard lead={l} />
            </li>
          ))}
        </ul>
      </section>
    </article>
  );
}

export function ContactCard({ contact, sourceUrl }: { contact: { name?: string | null; phone?: string | null; email?: string | null }; sourceUrl?: string | null }) {
  return (
    <address className="contact" data-testid="contact">
      <span className="contact__name">{contact.name ?? "Name not given"}</span>
      {contact.phone ? <a href={`tel:${contact.phone}`}>{contact.phone}</a> : <span>No phone</span>}
      {contact.email ? <a href={`mailto:${contact.email}`}>{contact.email}</a> : <span>No e-mail</span>}
      {sourceUrl && /^https?:\/\//i.test(sourceUrl) ? (
        <a href={sourceUrl} rel="noreferrer noopener" target="_blank">
          Original listing
        </a>
      ) : null}
    </address>
  );
}

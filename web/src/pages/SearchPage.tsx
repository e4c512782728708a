// Search: free text + filters (type, price, bedrooms, city, radius around a point), facet
// counts, result cards with live prices, and a notice when newLeads delivers a match.
import { type FormEvent, type ReactNode, useEffect, useMemo, useState } from "react";
import { useClient, useQuery } from "urql";
import { LeadCard, type CardLead } from "../components/LeadCard";
import { NewLeadsDocument, SearchLeadsDocument, type SearchLeadsQuery } from "../gql/graphql";
import { fromCombined } from "../lib/errors";
import { PROPERTY_TYPES, formatUsdCompact, propertyTypeLabel, sourceLabel } from "../lib/format";
import { href, navigate, useLocation } from "../lib/router";
import { EMPTY_FORM, type SearchForm, formFromQuery, queryFromForm, variablesFromForm } from "../lib/searchParams";

const PAGE_SIZE = 20;

type Facets = SearchLeadsQuery["searchLeads"]["facets"];

function Field({ id, label, error, children }: { id: string; label: string; error?: string; children: ReactNode }) {
  return (
    <div className={error ? "field field--error" : "field"}>
      <label htmlFor={id}>{label}</label>
      {children}
      {error ? (
        <p className="field__error" id={`${id}-error`}>
          {error}
        </p>
      ) : null}
    </div>
  );
}

export function SearchPage() {
  const { search } = useLocation();
  const applied = useMemo(() => formFromQuery(search), [search]);
  const [form, setForm] = useState<SearchForm>(applied);
  const [submitted, setSubmitted] = useState(false);
  useEffect(() => setForm(applied), [applied]);

  const { variables, errors } = useMemo(() => variablesFromForm(applied), [applied]);
  const formErrors = useMemo(() => (submitted ? variablesFromForm(form).errors : []), [form, submitted]);
  const errorOf = (field: keyof SearchForm) => formErrors.find((e) => e.field === field)?.message;

  const [result, reexecute] = useQuery({
    query: SearchLeadsDocument,
    variables: { ...variables, first: PAGE_SIZE },
    pause: errors.length > 0,
  });

  // further pages ("More results"), reset when the search changes
  const client = useClient();
  const [more, setMore] = useState<{ leads: CardLead[]; endCursor: string | null; hasNext: boolean } | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  useEffect(() => setMore(null), [variables]);

  // newLeads with the same filter: count arrivals since this search ran
  const [fresh, setFresh] = useState<CardLead[]>([]);
  useEffect(() => {
    setFresh([]);
    if (errors.length > 0) return;
    const subscription = client.subscription(NewLeadsDocument, { filter: variables.filter }).subscribe((r) => {
      const lead = r.data?.newLeads;
      if (lead) setFresh((prev) => (prev.some((l) => l.id === lead.id) ? prev : [lead, ...prev].slice(0, 50)));
    });
    return () => subscription.unsubscribe();
  }, [client, variables, errors.length]);

  const data = result.data?.searchLeads;
  const leads: CardLead[] = [...(data?.edges.map((e) => e.node) ?? []), ...(more?.leads ?? [])];
  const hasNext = more ? more.hasNext : (data?.pageInfo.hasNextPage ?? false);
  const endCursor = more ? more.endCursor : (data?.pageInfo.endCursor ?? null);

  async function loadMore() {
    if (!endCursor) return;
    setLoadingMore(true);
    const r = await client.query(SearchLeadsDocument, { ...variables, first: PAGE_SIZE, after: endCursor }).toPromise();
    setLoadingMore(false);
    const page = r.data?.searchLeads;
    if (!page) return;
    setMore((prev) => ({
      leads: [...(prev?.leads ?? []), ...page.edges.map((e) => e.node)],
      endCursor: page.pageInfo.endCursor ?? null,
      hasNext: page.pageInfo.hasNextPage,
    }));
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    setSubmitted(true);
    const check = variablesFromForm(form);
    if (check.errors.length > 0) {
      const id = `search-${check.errors[0]!.field}`;
      (document.getElementById(id) as HTMLInputElement | null)?.focus();
      return;
    }
    navigate(href("/") + queryFromForm(form));
    if (queryFromForm(form) === search) reexecute({ requestPolicy: "network-only" });
  }

  function applyFacet(patch: Partial<SearchForm>) {
    const next = { ...applied, ...patch };
    setForm(next);
    navigate(href("/") + queryFromForm(next));
  }

  function showFresh() {
    setFresh([]);
    setMore(null);
    reexecute({ requestPolicy: "network-only" });
  }

  const set = (field: keyof SearchForm) => (e: { target: { value: string } }) => setForm((f) => ({ ...f, [field]: e.target.value }));
  const described = (field: keyof SearchForm) => (errorOf(field) ? { "aria-invalid": true, "aria-describedby": `search-${field}-error` } : {});

  return (
    <div className="search-page">
      <h1 tabIndex={-1} data-page-heading>
        Find leads
      </h1>
      <form className="search-form" role="search" onSubmit={submit} noValidate>
        <div className="search-form__text">
          <Field id="search-q" label="Search">
            <input
              id="search-q"
              type="search"
              value={form.q}
              onChange={set("q")}
              placeholder="e.g. 2 bed 2 bath condo near UT Austin"
              autoComplete="off"
            />
          </Field>
        </div>
        <fieldset className="search-form__filters">
          <legend>Filters</legend>
          <Field id="search-type" label="Property type">
            <select id="search-type" value={form.type} onChange={set("type")}>
              <option value="">Any type</option>
              {PROPERTY_TYPES.map((t) => (
                <option key={t} value={t}>
                  {propertyTypeLabel(t)}
                </option>
              ))}
            </select>
          </Field>
          <Field id="search-minPrice" label="Min price" error={errorOf("minPrice")}>
            <input id="search-minPrice" type="number" inputMode="numeric" min={0} step={1000} value={form.minPrice} onChange={set("minPrice")} placeholder="USD" {...described("minPrice")} />
          </Field>
          <Field id="search-maxPrice" label="Max price" error={errorOf("maxPrice")}>
            <input id="search-maxPrice" type="number" inputMode="numeric" min={0} step={1000} value={form.maxPrice} onChange={set("maxPrice")} placeholder="USD" {...described("maxPrice")} />
          </Field>
          <Field id="search-beds" label="Bedrooms">
            <select id="search-beds" value={form.beds} onChange={set("beds")}>
              <option value="">Any</option>
              {[1, 2, 3, 4, 5].map((n) => (
                <option key={n} value={String(n)}>
                  {n}+
                </option>
              ))}
            </select>
          </Field>
          <Field id="search-city" label="City">
            <input id="search-city" type="text" value={form.city} onChange={set("city")} autoComplete="address-level2" />
          </Field>
          <Field id="search-lat" label="Latitude" error={errorOf("lat")}>
            <input id="search-lat" type="number" inputMode="decimal" step="any" min={-90} max={90} value={form.lat} onChange={set("lat")} {...described("lat")} />
          </Field>
          <Field id="search-lng" label="Longitude" error={errorOf("lng")}>
            <input id="search-lng" type="number" inputMode="decimal" step="any" min={-180} max={180} value={form.lng} onChange={set("lng")} {...described("lng")} />
          </Field>
          <Field id="search-radius" label="Radius (miles)" error={errorOf("radius")}>
            <input id="search-radius" type="number" inputMode="decimal" step="any" min={0} max={500} value={form.radius} onChange={set("radius")} {...described("radius")} />
          </Field>
          <Field id="search-sort" label="Sort">
            <select id="search-sort" value={form.sort} onChange={set("sort")}>
              <option value="">{form.q.trim() ? "Best match" : "Newest"}</option>
              <option value="RELEVANCE">Best match</option>
              <option value="NEWEST">Newest</option>
              <option value="PRICE_ASC">Price, low to high</option>
              <option value="PRICE_DESC">Price, high to low</option>
              <option value="QUALITY">Quality</option>
              <option value="DISTANCE">Distance (needs a radius)</option>
            </select>
          </Field>
        </fieldset>
        <div className="search-form__actions">
          <button type="submit" className="button button--primary">
            Search
          </button>
          <button type="button" className="button" onClick={() => applyFacet(EMPTY_FORM)}>
            Clear filters
          </button>
        </div>
      </form>

      {fresh.length > 0 ? (
        <div className="notice notice--info" role="status" data-testid="new-leads">
          <span>
            {fresh.length} new lead{fresh.length === 1 ? "" : "s"} match{fresh.length === 1 ? "es" : ""} this search
            {fresh[0] ? `: “${fresh[0].title}”` : ""}.
          </span>{" "}
          <button type="button" className="button button--small" onClick={showFresh}>
            Show new leads
          </button>
        </div>
      ) : null}

      <div className="search-layout">
        <section className="results" aria-labelledby="results-heading" aria-busy={result.fetching}>
          <h2 id="results-heading" className="results__heading">
            Results
          </h2>
          {errors.length > 0 ? <p className="error">{errors[0]!.message}</p> : null}
          {result.error ? (
            <p className="error" role="alert">
              {fromCombined(result.error).message}
            </p>
          ) : null}
          {data ? (
            <p className="results__count" role="status">
              {data.totalCount.toLocaleString("en-US")} lead{data.totalCount === 1 ? "" : "s"} found
            </p>
          ) : result.fetching ? (
            <p role="status">Loading…</p>
          ) : null}
          <ul className="card-grid">
            {leads.map((lead) => (
              <li key={lead.id}>
                <LeadCard lead={lead} />
              </li>
            ))}
          </ul>
          {hasNext ? (
            <button type="button" className="button" onClick={loadMore} disabled={loadingMore}>
              {loadingMore ? "Loading…" : "More results"}
            </button>
          ) : null}
        </section>
        <FacetsPanel facets={data?.facets} applied={applied} onApply={applyFacet} />
      </div>
    </div>
  );
}

function FacetsPanel({ facets, applied, onApply }: { facets: Facets | undefined; applied: SearchForm; onApply: (patch: Partial<SearchForm>) => void }) {
  return (
    <section className="facets" aria-label="Facets">
      <h2 className="facets__heading">Refine</h2>
      {!facets ? (
        <p>No counts yet.</p>
      ) : (
        <>
          <FacetGroup
            title="Property types"
            items={facets.propertyTypes.map((f) => ({ key: f.value, label: propertyTypeLabel(f.value), count: f.count, active: applied.type === f.value, patch: { type: applied.type === f.value ? "" : f.value } }))}
            onApply={onApply}
          />
          <FacetGroup
            title="Cities"
            items={facets.cities.map((f) => ({ key: f.value, label: f.value, count: f.count, active: applied.city.toLowerCase() === f.value.toLowerCase(), patch: { city: applied.city.toLowerCase() === f.value.toLowerCase() ? "" : f.value } }))}
            onApply={onApply}
          />
          <FacetGroup
            title="Price ranges"
            items={facets.priceRanges.map((r) => {
              const label = r.from === null || r.from === undefined ? `Under ${formatUsdCompact(r.to ?? 0)}` : r.to === null || r.to === undefined ? `${formatUsdCompact(r.from)} and up` : `${formatUsdCompact(r.from)} – ${formatUsdCompact(r.to)}`;
              const minPrice = r.from === null || r.from === undefined ? "" : String(r.from);
              const maxPrice = r.to === null || r.to === undefined ? "" : String(r.to - 1); // ranges are [from, to)
              const active = applied.minPrice === minPrice && applied.maxPrice === maxPrice;
              return { key: `${r.from}-${r.to}`, label, count: r.count, active, patch: active ? { minPrice: "", maxPrice: "" } : { minPrice, maxPrice } };
            })}
            onApply={onApply}
          />
          <FacetGroup title="Bedrooms (exact)" items={facets.bedrooms.map((f) => ({ key: f.value, label: `${f.value} bd`, count: f.count }))} onApply={onApply} />
          <FacetGroup title="Sources" items={facets.sources.map((f) => ({ key: f.value, label: sourceLabel(f.value), count: f.count }))} onApply={onApply} />
        </>
      )}
    </section>
  );
}

interface FacetItem {
  key: string;
  label: string;
  count: number;
  active?: boolean;
  patch?: Partial<SearchForm>;
}

function FacetGroup({ title, items, onApply }: { title: string; items: FacetItem[]; onApply: (patch: Partial<SearchForm>) => void }) {
  if (items.length === 0) return null;
  return (
    <div className="facet-group">
      <h3>{title}</h3>
      <ul>
        {items.map((item) => (
          <li key={item.key}>
            {item.patch ? (
              <button type="button" className="facet" aria-pressed={item.active ?? false} onClick={() => onApply(item.patch!)}>
                <span>{item.label}</span> <span className="facet__count">{item.count}</span>
              </button>
            ) : (
              <span className="facet facet--static">
                <span>{item.label}</span> <span className="facet__count">{item.count}</span>
              </span>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}

// The search form ⇄ the URL's query string ⇄ searchLeads variables. Pure, so the mapping
// and its validation are unit-tested (searchParams.test.ts).
import type { LeadFilter, LeadSort, PropertyType } from "../gql/graphql";
import { PROPERTY_TYPES } from "./format";

/** The form's fields as typed (strings: empty means "any"). */
export interface SearchForm {
  q: string;
  type: string;
  minPrice: string;
  maxPrice: string;
  beds: string;
  city: string;
  lat: string;
  lng: string;
  radius: string;
  sort: string;
}

export const EMPTY_FORM: SearchForm = { q: "", type: "", minPrice: "", maxPrice: "", beds: "", city: "", lat: "", lng: "", radius: "", sort: "" };

const KEYS = Object.keys(EMPTY_FORM) as (keyof SearchForm)[];
const SORTS: readonly LeadSort[] = ["RELEVANCE", "NEWEST", "PRICE_ASC", "PRICE_DESC", "QUALITY", "DISTANCE"];

export function formFromQuery(search: string): SearchForm {
  const params = new URLSearchParams(search);
  const form = { ...EMPTY_FORM };
  for (const key of KEYS) form[key] = params.get(key)?.trim() ?? "";
  return form;
}

export function queryFromForm(form: SearchForm): string {
  const params = new URLSearchParams();
  for (const key of KEYS) {
    const value = form[key].trim();
    if (value) params.set(key, value);
  }
  const s = params.toString();
  return s ? `?${s}` : "";
}

export interface FieldError {
  field: keyof SearchForm;
  message: string;
}

export interface SearchVariables {
  query: string;
  filter: LeadFilter;
  sort: LeadSort;
}

function number(value: string): number | null {
  if (value.trim() === "") return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : Number.NaN;
}

/** searchLeads variables for the form, or the first field errors to show next to the inputs. */
export function variablesFromForm(form: SearchForm): { variables: SearchVariables; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const filter: LeadFilter = {};
  if (form.type) {
    if ((PROPERTY_TYPES as readonly string[]).includes(form.type)) filter.propertyTypes = [form.type as PropertyType];
    else errors.push({ field: "type", message: "Unknown property type." });
  }
  const minPrice = number(form.minPrice);
  const maxPrice = number(form.maxPrice);
  if (minPrice !== null) {
    if (Number.isNaN(minPrice) || minPrice < 0) errors.push({ field: "minPrice", message: "Enter a price of 0 or more, in dollars." });
    else filter.minPrice = Math.round(minPrice);
  }
  if (maxPrice !== null) {
    if (Number.isNaN(maxPrice) || maxPrice < 0) errors.push({ field: "maxPrice", message: "Enter a price of 0 or more, in dollars." });
    else if (minPrice !== null && !Number.isNaN(minPrice) && maxPrice < minPrice) errors.push({ field: "maxPrice", message: "Max price must be at least the min price." });
    else filter.maxPrice = Math.round(maxPrice);
  }
  const beds = number(form.beds);
  if (beds !== null) {
    if (Number.isNaN(beds) || beds < 0 || !Number.isInteger(beds)) errors.push({ field: "beds", message: "Choose a number of bedrooms." });
    else filter.minBedrooms = beds;
  }
  if (form.city.trim()) filter.city = form.city.trim();
  const lat = number(form.lat);
  const lng = number(form.lng);
  const radius = number(form.radius);
  const geoGiven = [lat, lng, radius].filter((v) => v !== null).length;
  if (geoGiven > 0) {
    if (lat === null || Number.isNaN(lat) || lat < -90 || lat > 90) errors.push({ field: "lat", message: "Latitude is a number from -90 to 90." });
    if (lng === null || Number.isNaN(lng) || lng < -180 || lng > 180) errors.push({ field: "lng", message: "Longitude is a number from -180 to 180." });
    if (radius === null || Number.isNaN(radius) || radius <= 0 || radius > 500) errors.push({ field: "radius", message: "Radius is more than 0 and at most 500 miles." });
    if (errors.every((e) => !["lat", "lng", "radius"].includes(e.field))) {
      filter.near = { center: { lat: lat!, lng: lng! }, radiusMiles: radius! };
    }
  }
  const query = form.q.trim();
  let sort: LeadSort = query ? "RELEVANCE" : "NEWEST";
  if (form.sort && (SORTS as readonly string[]).includes(form.sort)) sort = form.sort as LeadSort;
  if (sort === "DISTANCE" && !filter.near) sort = query ? "RELEVANCE" : "NEWEST"; // DISTANCE needs a centre
  return { variables: { query, filter, sort }, errors };
}

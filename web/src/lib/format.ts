// Display formatting shared by the pages.
import type { LeadSource, PropertyType } from "../gql/graphql";

export const PROPERTY_TYPES: readonly PropertyType[] = [
  "SINGLE_FAMILY",
  "CONDO",
  "TOWNHOUSE",
  "MULTI_FAMILY",
  "LAND",
  "MANUFACTURED",
  "OTHER",
];

const TYPE_LABELS: Record<PropertyType, string> = {
  SINGLE_FAMILY: "Single family",
  CONDO: "Condo",
  TOWNHOUSE: "Townhouse",
  MULTI_FAMILY: "Multi-family",
  LAND: "Land",
  MANUFACTURED: "Manufactured",
  OTHER: "Other",
};

const SOURCE_LABELS: Record<LeadSource, string> = {
  ZILLOW: "Zillow",
  CRAIGSLIST: "Craigslist",
  FSBO: "FSBO",
  FACEBOOK: "Facebook Marketplace",
};

export function propertyTypeLabel(value: string): string {
  return TYPE_LABELS[value as PropertyType] ?? value;
}

export function sourceLabel(value: string): string {
  return SOURCE_LABELS[value as LeadSource] ?? value;
}

const usd = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", maximumFractionDigits: 0 });
const compactUsd = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", notation: "compact", maximumFractionDigits: 1 });

export function formatUsd(value: number | null | undefined): string {
  return value === null || value === undefined ? "—" : usd.format(value);
}

export function formatUsdCompact(value: number): string {
  return compactUsd.format(value);
}

export function formatCents(cents: number, currency = "USD"): string {
  return new Intl.NumberFormat("en-US", { style: "currency", currency }).format(cents / 100);
}

export function credits(value: number): string {
  return `${value} credit${value === 1 ? "" : "s"}`;
}

export function percent(score: number): string {
  return `${Math.round(score * 100)}%`;
}

export function formatDateTime(iso: string): string {
  return new Date(iso).toLocaleString("en-US", { dateStyle: "medium", timeStyle: "short" });
}

export function formatDate(iso: string): string {
  return new Date(iso).toLocaleDateString("en-US", { dateStyle: "medium" });
}

/** Fraud score bands as words (colour is never the only signal). */
export function fraudLevel(score: number): "low" | "medium" | "high" {
  return score >= 0.7 ? "high" : score >= 0.4 ? "medium" : "low";
}

// GraphiQL's fetcher: HTTP at same-origin /graphql, subscriptions over graphql-ws at the same
// host, both carrying what the user typed in the headers editor (e.g. {"X-API-Key": "..."}).
// The API admits GraphiQL's own schema introspection (its depth walk counts no level for the
// `ofType` chain) and reads websocket headers in any capitalisation, so the toolkit's fetcher
// is used as it comes: this is what a partner's own GraphiQL would do.
import { createGraphiQLFetcher, type Fetcher } from "@graphiql/toolkit";

export function subscriptionUrl(loc: Pick<Location, "protocol" | "host">): string {
  return `${loc.protocol === "https:" ? "wss" : "ws"}://${loc.host}/graphql`;
}

export function createFetcher(loc: Pick<Location, "protocol" | "host"> = window.location): Fetcher {
  return createGraphiQLFetcher({ url: "/graphql", subscriptionUrl: subscriptionUrl(loc) });
}

// The self-hosted GraphiQL page (GET /graphql in a browser): GraphiQL and the explorer plugin
// bundled from npm with their styles and Monaco's workers, so nothing loads from a CDN.
import "graphiql/setup-workers/vite";
import "graphiql/style.css";
import "@graphiql/plugin-explorer/style.css";
import { explorerPlugin } from "@graphiql/plugin-explorer";
import { GraphiQL, HISTORY_PLUGIN } from "graphiql";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { createFetcher } from "./fetcher";
import "./graphiql.css";

const DEFAULT_QUERY = `# AIQLeads GraphQL API. Partners: put your key in the Headers tab below,
# e.g. {"X-API-Key": "..."}; subscriptions run over a websocket to this host.
{
  __typename
}
`;

// a link may prefill the editors: /graphql#query=...&headers=... (the fragment, because GET
// /graphql?query=... is a GraphQL request to the API, not this page)
const params = new URLSearchParams(window.location.hash.slice(1));
const fetcher = createFetcher();
const plugins = [HISTORY_PLUGIN, explorerPlugin()]; // passing plugins replaces the default [HISTORY_PLUGIN]

const root = document.getElementById("graphiql");
if (!root) throw new Error("#graphiql missing from graphiql.html");
root.textContent = "";
createRoot(root).render(
  <StrictMode>
    <GraphiQL
      fetcher={fetcher}
      plugins={plugins}
      defaultQuery={DEFAULT_QUERY}
      initialQuery={params.get("query") ?? undefined}
      initialHeaders={params.get("headers") ?? undefined}
      isHeadersEditorEnabled
      defaultEditorToolsVisibility="headers"
    />
  </StrictMode>,
);

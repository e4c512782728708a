// The GraphQL client: urql over same-origin HTTP for queries and mutations, graphql-ws
// (graphql-transport-ws) at ws(s)://<host>/graphql for subscriptions. One client per token:
// signing in or out builds a new one, so nothing cached for one user is shown to another.
import { createClient as createWsClient, type Client as WsClient } from "graphql-ws";
import { Client, cacheExchange, fetchExchange, mapExchange, subscriptionExchange } from "urql";

/** Close code the API uses when a socket's token expires (aiqleads/ws_sessions.py). */
export const TOKEN_EXPIRED_CLOSE_CODE = 4401;
/** Close code of a connection_init the API refused (a bad or revoked token or key). */
export const REFUSED_CLOSE_CODE = 4403;
export type CloseOutcome = "signed-out" | "idle" | "reconnecting";

/** What a closed socket means for the page: the token was refused (sign out, never retry); the
 * socket was closed on purpose (disposed, or graphql-ws closing its lazy socket once no
 * subscription is left: nothing to show); or it dropped under live subscriptions (retrying:
 * "Reconnecting…"). */
export function closeOutcome(
  code: number | undefined,
  { token, disposed, subscribed }: { token: boolean; disposed: boolean; subscribed: boolean },
): CloseOutcome {
  if (token && (code === TOKEN_EXPIRED_CLOSE_CODE || code === REFUSED_CLOSE_CODE)) return "signed-out";
  if (disposed || !subscribed) return "idle";
  return "reconnecting";
}

export interface ApiClientOptions {
  token: string | null;
  /** The socket (re)connected; wasRetry is true after a drop: resubscribed, refetch what may be stale. */
  onConnected?: (wasRetry: boolean) => void;
  /** The socket dropped (the UI shows "reconnecting"). */
  onDisconnected?: () => void;
  /** The socket was closed on purpose (idle, or this client was disposed). */
  onIdle?: () => void;
  /** The token was refused (expired or revoked): sign out. */
  onUnauthenticated?: () => void;
}

export interface ApiClient {
  client: Client;
  ws: WsClient;
  dispose: () => void;
}

/** ws:// or wss:// URL of /graphql on the page's own host. */
export function websocketUrl(loc: Pick<Location, "protocol" | "host"> = window.location): string {
  return `${loc.protocol === "https:" ? "wss" : "ws"}://${loc.host}/graphql`;
}

/** Backoff between reconnection attempts: 0.5 s, 1 s, 2 s … capped at 10 s, with jitter. */
export function retryDelayMs(retries: number, random: () => number = Math.random): number {
  return Math.min(10_000, 500 * 2 ** retries) + Math.floor(random() * 500);
}

function hasCode(errors: readonly { extensions?: Record<string, unknown> }[], code: string): boolean {
  return errors.some((e) => e.extensions?.["code"] === code);
}

/** Build the urql client (and its websocket client) for this token. */
export function createApiClient(options: ApiClientOptions): ApiClient {
  const { token } = options;
  const authorization = token ? `Bearer ${token}` : null;
  let connectedOnce = false;
  let disposed = false;
  let subscriptions = 0; // live subscriptions on this client's socket
  const state = () => ({ token: token !== null, disposed, subscribed: subscriptions > 0 });
  const closeCode = (event: unknown) => (event as { code?: number } | undefined)?.code;
  const ws = createWsClient({
    url: websocketUrl(),
    lazy: true,
    lazyCloseTimeout: 3_000,
    keepAlive: 15_000,
    // the API reads the bearer token from connection_init's payload (resolvers/auth.py)
    connectionParams: () => (authorization ? { Authorization: authorization } : {}),
    retryAttempts: Number.POSITIVE_INFINITY,
    retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, retryDelayMs(retries))),
    // a refused token is refused again: sign out instead (closed, below)
    shouldRetry: (event) => !disposed && closeOutcome(closeCode(event), state()) !== "signed-out",
    on: {
      connected: (_socket, _payload, wasRetry) => {
        const retry = wasRetry || connectedOnce;
        connectedOnce = true;
        options.onConnected?.(retry);
      },
      closed: (event) => {
        const outcome = closeOutcome(closeCode(event), state());
        if (outcome === "signed-out") options.onUnauthenticated?.();
        else if (outcome === "idle") options.onIdle?.();
        else options.onDisconnected?.();
      },
    },
  });

  const client = new Client({
    url: "/graphql",
    requestPolicy: "cache-and-network",
    fetchOptions: (): RequestInit => {
      const headers: Record<string, string> = {};
      if (authorization) headers["Authorization"] = authorization;
      return { headers, credentials: "same-origin" };
    },
    exchanges: [
      cacheExchange,
      mapExchange({
        onError(error) {
          // a refused token answers 401 UNAUTHENTICATED; without a token it only means "sign in"
          if (token && hasCode(error.graphQLErrors, "UNAUTHENTICATED") && error.response?.status === 401) {
            options.onUnauthenticated?.();
          }
        },
      }),
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query ?? "" };
          return {
            subscribe(sink) {
              subscriptions += 1;
              let ended = false;
              const end = () => {
                if (!ended) subscriptions -= 1;
                ended = true;
              };
              const stop = ws.subscribe(input, {
                next: (value) => sink.next(value as Parameters<typeof sink.next>[0]),
                error: (error) => {
                  end();
                  sink.error(error);
                },
                complete: () => {
                  end();
                  sink.complete();
                },
              });
              return {
                unsubscribe: () => {
                  end();
                  stop();
                },
              };
            },
          };
        },
      }),
    ],
  });

  return {
    client,
    ws,
    dispose: () => {
      disposed = true; // its closing must not say "Reconnecting…" over the next client
      void ws.dispose();
    },
  };
}

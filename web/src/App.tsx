// The app shell: one urql client per signed-in token, the providers (viewer, cart, live
// prices), the header with navigation and balance, and the routes under /app/.
import { useEffect, useMemo, useRef, useSyncExternalStore } from "react";
import { Provider } from "urql";
import { CartProvider, useCart } from "./app/cart";
import { announceReconnected, setLinkState, useLinkState } from "./app/connection";
import { LivePricesProvider } from "./app/livePrices";
import { useViewer, ViewerProvider } from "./app/viewer";
import { createApiClient } from "./lib/client";
import { credits } from "./lib/format";
import { href, Link, matchRoute, navigate, type Route, useLocation } from "./lib/router";
import { clearToken, getToken, subscribeToken } from "./lib/session";
import { CartPage } from "./pages/CartPage";
import { CreditsPage } from "./pages/CreditsPage";
import { LeadPage } from "./pages/LeadPage";
import { SearchPage } from "./pages/SearchPage";
import { SignInPage } from "./pages/SignInPage";

const EXPIRED = "Your session expired. Sign in again.";

export function App() {
  const token = useSyncExternalStore(subscribeToken, getToken);
  const api = useMemo(
    () =>
      createApiClient({
        token,
        onConnected: (wasRetry) => {
          setLinkState("connected");
          if (wasRetry) announceReconnected();
        },
        onDisconnected: () => setLinkState("reconnecting"),
        onIdle: () => setLinkState("idle"),
        onUnauthenticated: () => clearToken(EXPIRED),
      }),
    [token],
  );
  // the previous user's socket closes once the new client is in place (not in an effect cleanup:
  // StrictMode re-runs effects and would close the live client)
  const previous = useRef(api);
  useEffect(() => {
    if (previous.current !== api) previous.current.dispose();
    previous.current = api;
  }, [api]);
  const signedIn = token !== null;

  return (
    <Provider value={api.client} key={token ?? "anonymous"}>
      <ViewerProvider signedIn={signedIn}>
        <CartProvider signedIn={signedIn}>
          <LivePricesProvider>
            <Shell signedIn={signedIn} />
          </LivePricesProvider>
        </CartProvider>
      </ViewerProvider>
    </Provider>
  );
}

const TITLES: Record<Route["name"], string> = {
  search: "Search",
  lead: "Lead",
  cart: "Cart",
  credits: "Credits",
  signin: "Sign in",
  notFound: "Not found",
};

function Shell({ signedIn }: { signedIn: boolean }) {
  const { pathname } = useLocation();
  const route = matchRoute(pathname);
  const needsAccount = route.name === "cart" || route.name === "credits";
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);

  useEffect(() => {
    if (needsAccount && !signedIn) navigate(`${href("/signin")}?next=${encodeURIComponent(pathname)}`, { replace: true });
    if (route.name === "signin" && signedIn) navigate(href("/"), { replace: true });
  }, [needsAccount, signedIn, route.name, pathname]);

  // a route change moves focus to the new page's heading, so keyboard and screen-reader users
  // start at the top of what changed (not on the first load: the page starts there anyway)
  useEffect(() => {
    document.title = `${TITLES[route.name]} · AIQLeads`;
    if (first.current) {
      first.current = false;
      return;
    }
    const heading = main.current?.querySelector<HTMLElement>("[data-page-heading]");
    (heading ?? main.current)?.focus({ preventScroll: false });
  }, [pathname, route.name]);

  let page;
  if (needsAccount && !signedIn) page = <p>Redirecting to sign in…</p>;
  else if (route.name === "search") page = <SearchPage />;
  else if (route.name === "lead") page = <LeadPage id={route.id} key={route.id} />;
  else if (route.name === "cart") page = <CartPage />;
  else if (route.name === "credits") page = <CreditsPage />;
  else if (route.name === "signin") page = <SignInPage />;
  else
    page = (
      <>
        <h1 tabIndex={-1} data-page-heading>
          Page not found
        </h1>
        <Link href={href("/")}>Go to search</Link>
      </>
    );

  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <Header signedIn={signedIn} current={route.name} />
      <main id="main" ref={main} tabIndex={-1}>
        {page}
      </main>
      <footer className="footer">
        <a href="/graphql">API explorer (GraphiQL)</a>
      </footer>
    </>
  );
}

function Header({ signedIn, current }: { signedIn: boolean; current: Route["name"] }) {
  const { viewer } = useViewer();
  const { state } = useCart();
  const link = useLinkState();
  const here = (name: Route["name"]) => (current === name ? { "aria-current": "page" as const } : {});
  return (
    <header className="header">
      <Link href={href("/")} className="brand">
        AIQLeads
      </Link>
      <nav className="nav" aria-label="Main">
        <ul>
          <li>
            <Link href={href("/")} {...here("search")}>
              Search
            </Link>
          </li>
          <li>
            <Link href={href("/cart")} {...here("cart")}>
              Cart
              {state.items.length > 0 ? (
                <span className="badge" aria-hidden="true">
                  {state.items.length}
                </span>
              ) : null}
            </Link>
          </li>
          <li>
            <Link href={href("/credits")} {...here("credits")}>
              Credits
            </Link>
          </li>
        </ul>
      </nav>
      <div className="header__account">
        {link === "reconnecting" ? (
          <span className="link-state" role="status">
            Reconnecting…
          </span>
        ) : null}
        {signedIn ? (
          <>
            <span className="header__who">
              {viewer ? <span className="tier">{viewer.tier}</span> : null}{" "}
              <span data-testid="balance">{viewer ? credits(viewer.credits) : "…"}</span>
            </span>
            <button type="button" className="button button--small" onClick={() => clearToken()}>
              Sign out
            </button>
          </>
        ) : (
          <Link href={href("/signin")} className="button button--small" {...here("signin")}>
            Sign in
          </Link>
        )}
      </div>
    </header>
  );
}

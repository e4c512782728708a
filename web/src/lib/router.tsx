// A small history-API router for the five routes under /app/ (the API answers any /app/<path>
// with index.html, so deep links and reloads work).
import { type AnchorHTMLAttributes, type MouseEvent, useSyncExternalStore } from "react";

export const BASE = import.meta.env.BASE_URL.replace(/\/$/, ""); // "/app"

export type Route =
  | { name: "search" }
  | { name: "lead"; id: string }
  | { name: "cart" }
  | { name: "credits" }
  | { name: "signin" }
  | { name: "notFound" };

/** The route of a pathname (with or without the /app prefix). */
export function matchRoute(pathname: string): Route {
  let path = pathname.startsWith(BASE) ? pathname.slice(BASE.length) : pathname;
  path = path.replace(/\/+$/, "") || "/";
  if (path === "/") return { name: "search" };
  if (path === "/cart") return { name: "cart" };
  if (path === "/credits") return { name: "credits" };
  if (path === "/signin") return { name: "signin" };
  const lead = /^\/lead\/([^/]+)$/.exec(path);
  if (lead?.[1]) return { name: "lead", id: decodeURIComponent(lead[1]) };
  return { name: "notFound" };
}

/** The URL of a route (app-relative path like "/cart" → "/app/cart"). */
export function href(path: string): string {
  return `${BASE}${path.startsWith("/") ? path : `/${path}`}`;
}

export function leadHref(id: string): string {
  return href(`/lead/${encodeURIComponent(id)}`);
}

const NAVIGATE = "aiq:navigate";

function subscribe(listener: () => void): () => void {
  window.addEventListener("popstate", listener);
  window.addEventListener(NAVIGATE, listener);
  return () => {
    window.removeEventListener("popstate", listener);
    window.removeEventListener(NAVIGATE, listener);
  };
}

const snapshot = () => window.location.pathname + window.location.search;

/** The current path and query string, re-rendering on navigation. */
export function useLocation(): { pathname: string; search: string } {
  const value = useSyncExternalStore(subscribe, snapshot);
  const q = value.indexOf("?");
  return q < 0 ? { pathname: value, search: "" } : { pathname: value.slice(0, q), search: value.slice(q) };
}

/** Go to a URL (already including /app). `replace` keeps history clean for redirects. */
export function navigate(url: string, { replace = false }: { replace?: boolean } = {}): void {
  if (url === snapshot()) return;
  if (replace) window.history.replaceState(null, "", url);
  else window.history.pushState(null, "", url);
  window.dispatchEvent(new Event(NAVIGATE));
}

/** An <a> that navigates without a reload (modified clicks still open new tabs). */
export function Link({ href: to, onClick, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  function handle(event: MouseEvent<HTMLAnchorElement>) {
    onClick?.(event);
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(to);
  }
  return <a href={to} onClick={handle} {...rest} />;
}

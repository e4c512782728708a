// The signed-in user's bearer token, kept in localStorage["aiq.token"] (shared by the tabs of
// this origin) and observable, so a sign-in or sign-out in one tab rebuilds the client in all.
export const TOKEN_KEY = "aiq.token";

type Listener = () => void;
const listeners = new Set<Listener>();
let signOutReason: string | null = null;

function storage(): Storage | null {
  try {
    return typeof localStorage === "undefined" ? null : localStorage;
  } catch {
    return null; // storage disabled (privacy settings): the session lasts as long as the page
  }
}

let memoryToken: string | null = storage()?.getItem(TOKEN_KEY) ?? null;

/** The current token, or null when signed out. */
export function getToken(): string | null {
  return memoryToken;
}

/** Sign in: keep the token and tell every subscriber. */
export function setToken(token: string): void {
  memoryToken = token;
  signOutReason = null;
  storage()?.setItem(TOKEN_KEY, token);
  listeners.forEach((l) => l());
}

/** Sign out (reason: why, shown on the sign-in page, e.g. an expired session). */
export function clearToken(reason: string | null = null): void {
  if (memoryToken === null) return;
  memoryToken = null;
  signOutReason = reason;
  storage()?.removeItem(TOKEN_KEY);
  listeners.forEach((l) => l());
}

/** Why the last sign-out happened, if the app did it (not the user). */
export function lastSignOutReason(): string | null {
  return signOutReason;
}

/** useSyncExternalStore-compatible subscription. */
export function subscribeToken(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

if (typeof window !== "undefined") {
  window.addEventListener("storage", (event) => {
    if (event.key !== TOKEN_KEY) return;
    memoryToken = event.newValue;
    listeners.forEach((l) => l());
  });
}

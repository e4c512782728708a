// Idempotency keys for operations that must not run twice (checkout, buying a pack).
//
// One key per *attempt*: the first click of an attempt makes a key and stores it (sessionStorage,
// so a reload or a retry after a network failure reuses it and the server returns the first
// result instead of charging again). The attempt ends, and its key is forgotten, once the server
// gave a definitive answer. A checkout attempt is also tied to the cart's contents: the same key
// for a different cart would be IDEMPOTENCY_CONFLICT, so a changed cart starts a new attempt.

/** The part of the Web Storage API this module uses (sessionStorage, or a Map in tests). */
export interface KeyStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

const memoryStore = new Map<string, string>();
const memory: KeyStore = {
  getItem: (key) => memoryStore.get(key) ?? null,
  setItem: (key, value) => void memoryStore.set(key, value),
  removeItem: (key) => void memoryStore.delete(key),
};

/** sessionStorage, or (storage disabled by privacy settings) a store that lasts as long as the page. */
export function attemptStore(): KeyStore {
  try {
    if (typeof sessionStorage !== "undefined") {
      sessionStorage.getItem(PREFIX); // a blocked storage throws here, not later in a click handler
      return sessionStorage;
    }
  } catch {
    // fall through
  }
  return memory;
}

interface StoredAttempt {
  key: string;
  scope: string;
}

const PREFIX = "aiq.attempt.";

/** A fresh random key (UUID v4 when the browser has crypto.randomUUID). */
export function newKey(random: () => string = defaultRandom): string {
  return random();
}

function defaultRandom(): string {
  if (typeof crypto !== "undefined" && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function read(store: KeyStore, name: string): StoredAttempt | null {
  const raw = store.getItem(PREFIX + name);
  if (!raw) return null;
  try {
    const parsed: unknown = JSON.parse(raw);
    if (parsed && typeof parsed === "object" && "key" in parsed && "scope" in parsed) {
      const { key, scope } = parsed as Record<string, unknown>;
      if (typeof key === "string" && typeof scope === "string" && key) return { key, scope };
    }
  } catch {
    // a corrupt entry is a new attempt
  }
  return null;
}

/**
 * The key of the current attempt of `name` for `scope` (e.g. the cart's signature): the stored one
 * when it belongs to the same scope, otherwise a new one, stored before the request is sent.
 */
export function attemptKey(store: KeyStore, name: string, scope: string, random?: () => string): string {
  const current = read(store, name);
  if (current && current.scope === scope) return current.key;
  const key = newKey(random);
  store.setItem(PREFIX + name, JSON.stringify({ key, scope }));
  return key;
}

/** The attempt got a definitive answer: the next click is a new attempt with a new key. */
export function finishAttempt(store: KeyStore, name: string): void {
  store.removeItem(PREFIX + name);
}

/** The key stored for `name`, if an attempt is in progress (for display and tests). */
export function pendingKey(store: KeyStore, name: string): string | null {
  return read(store, name)?.key ?? null;
}

/**
 * Whether an attempt's outcome is final (forget the key) or worth retrying with the same key. A
 * transport failure, a 5xx or SERVICE_UNAVAILABLE/RATE_LIMITED leave the outcome unknown — the
 * server may have done the work — so the key is kept for the retry.
 */
export function isRetryableFailure(failure: { networkError?: unknown; codes: readonly string[] }): boolean {
  if (failure.networkError) return true;
  return failure.codes.some((c) => c === "SERVICE_UNAVAILABLE" || c === "RATE_LIMITED" || c === "INTERNAL");
}

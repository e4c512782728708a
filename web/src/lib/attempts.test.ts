import { describe, expect, it } from "vitest";
import { attemptKey, finishAttempt, isRetryableFailure, type KeyStore, pendingKey } from "./attempts";

function memoryStore(): KeyStore & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return {
    data,
    getItem: (k) => data.get(k) ?? null,
    setItem: (k, v) => void data.set(k, v),
    removeItem: (k) => void data.delete(k),
  };
}

function counter() {
  let n = 0;
  return () => `key-${++n}`;
}

describe("checkout attempts", () => {
  it("reuses the key across retries of the same attempt", () => {
    const store = memoryStore();
    const rnd = counter();
    const first = attemptKey(store, "checkout", "a,b", rnd);
    expect(attemptKey(store, "checkout", "a,b", rnd)).toBe(first);
    expect(pendingKey(store, "checkout")).toBe(first);
  });
  it("a new attempt after a definitive answer gets a new key", () => {
    const store = memoryStore();
    const rnd = counter();
    const first = attemptKey(store, "checkout", "a,b", rnd);
    finishAttempt(store, "checkout");
    expect(pendingKey(store, "checkout")).toBeNull();
    expect(attemptKey(store, "checkout", "a,b", rnd)).not.toBe(first);
  });
  it("a changed cart is a new attempt (the old key would be IDEMPOTENCY_CONFLICT)", () => {
    const store = memoryStore();
    const rnd = counter();
    const first = attemptKey(store, "checkout", "a,b", rnd);
    expect(attemptKey(store, "checkout", "a,b,c", rnd)).not.toBe(first);
  });
  it("attempts of different operations do not share keys", () => {
    const store = memoryStore();
    const rnd = counter();
    expect(attemptKey(store, "checkout", "x", rnd)).not.toBe(attemptKey(store, "buy:STARTER", "x", rnd));
  });
  it("a corrupt stored entry starts a new attempt", () => {
    const store = memoryStore();
    store.setItem("aiq.attempt.checkout", "{not json");
    expect(attemptKey(store, "checkout", "a", counter())).toBe("key-1");
  });
  it("default keys are random UUIDs", () => {
    const store = memoryStore();
    const key = attemptKey(store, "checkout", "a");
    expect(key).toMatch(/^[0-9a-f-]{32,36}$/);
    finishAttempt(store, "checkout");
    expect(attemptKey(store, "checkout", "a")).not.toBe(key);
  });
});

describe("isRetryableFailure", () => {
  it("keeps the key when the outcome is unknown", () => {
    expect(isRetryableFailure({ networkError: new Error("offline"), codes: [] })).toBe(true);
    expect(isRetryableFailure({ codes: ["SERVICE_UNAVAILABLE"] })).toBe(true);
    expect(isRetryableFailure({ codes: ["RATE_LIMITED"] })).toBe(true);
  });
  it("forgets it on a definitive answer", () => {
    expect(isRetryableFailure({ codes: ["INSUFFICIENT_CREDITS"] })).toBe(false);
    expect(isRetryableFailure({ codes: ["HOLD_EXPIRED"] })).toBe(false);
    expect(isRetryableFailure({ codes: [] })).toBe(false);
  });
});

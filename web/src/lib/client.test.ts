import { describe, expect, it } from "vitest";
import { closeOutcome, retryDelayMs } from "./client";

describe("what a closed socket means", () => {
  it("a refused or expired token signs out (and is not retried)", () => {
    expect(closeOutcome(4401, { token: true, disposed: false, subscribed: true })).toBe("signed-out");
    expect(closeOutcome(4403, { token: true, disposed: false, subscribed: true })).toBe("signed-out");
  });
  it("without a token a refusal is only a drop", () => {
    expect(closeOutcome(4403, { token: false, disposed: false, subscribed: true })).toBe("reconnecting");
  });
  it("a lazy close with no subscription left, or a disposed client, is idle, not reconnecting", () => {
    expect(closeOutcome(1000, { token: true, disposed: false, subscribed: false })).toBe("idle");
    expect(closeOutcome(1006, { token: true, disposed: true, subscribed: true })).toBe("idle");
  });
  it("an abnormal closure is a drop: reconnecting", () => {
    expect(closeOutcome(1006, { token: true, disposed: false, subscribed: true })).toBe("reconnecting");
    expect(closeOutcome(1011, { token: false, disposed: false, subscribed: true })).toBe("reconnecting");
    expect(closeOutcome(undefined, { token: false, disposed: false, subscribed: true })).toBe("reconnecting");
  });
});

describe("reconnection backoff", () => {
  it("doubles from 0.5 s up to 10 s, with up to 0.5 s of jitter", () => {
    expect(retryDelayMs(0, () => 0)).toBe(500);
    expect(retryDelayMs(3, () => 0)).toBe(4000);
    expect(retryDelayMs(20, () => 0.999)).toBe(10_499);
  });
});

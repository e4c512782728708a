import { describe, expect, it } from "vitest";
import {
  countdownLabel,
  countdownText,
  effectiveDeadline,
  formatCountdown,
  measureSkew,
  parseInstant,
  remainingSeconds,
} from "./countdown";

const T0 = Date.parse("2030-05-01T12:00:00Z");

describe("parseInstant", () => {
  it("reads the API's isoformat with microseconds and an offset", () => {
    expect(parseInstant("2030-05-01T12:00:00.123456+00:00")).toBe(T0 + 123);
  });
  it("reads other offsets and Z", () => {
    expect(parseInstant("2030-05-01T14:00:00+02:00")).toBe(T0);
    expect(parseInstant("2030-05-01T12:00:00Z")).toBe(T0);
  });
  it("takes an instant without an offset as UTC, not local time", () => {
    expect(parseInstant("2030-05-01T12:00:00")).toBe(T0);
  });
  it("rejects garbage", () => {
    expect(() => parseInstant("soon")).toThrow(RangeError);
  });
});

describe("measureSkew", () => {
  it("is serverTime minus the local clock", () => {
    // the local clock is 90 s behind the server
    expect(measureSkew("2030-05-01T12:00:00Z", T0 - 90_000)).toBe(90_000);
    // ... or 30 s ahead
    expect(measureSkew("2030-05-01T12:00:00Z", T0 + 30_000)).toBe(-30_000);
  });
  it("uses the midpoint of the round trip", () => {
    expect(measureSkew("2030-05-01T12:00:00Z", T0 - 1000, T0 + 1000)).toBe(0);
    expect(measureSkew("2030-05-01T12:00:10Z", T0, T0 + 400)).toBe(9_800);
  });
  it("ignores a receive time before the send time", () => {
    expect(measureSkew("2030-05-01T12:00:00Z", T0, T0 - 500)).toBe(0);
  });
});

describe("remainingSeconds", () => {
  const deadline = "2030-05-01T12:05:00Z"; // five minutes after T0

  it("counts down from the deadline on a correct clock", () => {
    expect(remainingSeconds(deadline, 0, T0)).toBe(300);
    expect(remainingSeconds(deadline, 0, T0 + 1)).toBe(300); // rounded up: 299.999 s shows 5:00
    expect(remainingSeconds(deadline, 0, T0 + 1000)).toBe(299);
    expect(remainingSeconds(deadline, 0, T0 + 299_500)).toBe(1);
  });

  it("applies the skew: a local clock 2 minutes slow still shows the server's remaining time", () => {
    const skew = 120_000; // server is 2 min ahead of this browser
    const localNow = T0 - skew; // the browser thinks it is 11:58
    expect(remainingSeconds(deadline, skew, localNow)).toBe(300);
    // without the correction the countdown would be 2 minutes too long
    expect(remainingSeconds(deadline, 0, localNow)).toBe(420);
  });

  it("applies a negative skew (local clock fast)", () => {
    const skew = -45_000;
    expect(remainingSeconds(deadline, skew, T0 + 45_000)).toBe(300);
  });

  it("is never negative", () => {
    expect(remainingSeconds(deadline, 0, T0 + 300_000)).toBe(0);
    expect(remainingSeconds(deadline, 0, T0 + 3_600_000)).toBe(0);
    expect(remainingSeconds(deadline, 10_000_000, T0)).toBe(0);
  });

  it("accepts a deadline in epoch ms", () => {
    expect(remainingSeconds(T0 + 61_000, 0, T0)).toBe(61);
  });
});

describe("formatCountdown", () => {
  it("formats m:ss", () => {
    expect(formatCountdown(300)).toBe("5:00");
    expect(formatCountdown(299)).toBe("4:59");
    expect(formatCountdown(61)).toBe("1:01");
    expect(formatCountdown(9)).toBe("0:09");
    expect(formatCountdown(0)).toBe("0:00");
  });
  it("keeps counting minutes past an hour", () => {
    expect(formatCountdown(4500)).toBe("75:00");
  });
  it("clamps negative, fractional and non-finite input", () => {
    expect(formatCountdown(-5)).toBe("0:00");
    expect(formatCountdown(59.9)).toBe("0:59");
    expect(formatCountdown(Number.NaN)).toBe("0:00");
  });
  it("countdownText combines both", () => {
    expect(countdownText("2030-05-01T12:00:42Z", 1000, T0 - 1000)).toBe("0:42");
  });
});

describe("effectiveDeadline", () => {
  it("is the earlier of the hold and the cart deadline", () => {
    expect(effectiveDeadline("2030-05-01T12:05:00Z", "2030-05-01T12:03:00Z")).toBe(T0 + 180_000);
    expect(effectiveDeadline("2030-05-01T12:05:00Z", "2030-05-01T12:15:00Z")).toBe(T0 + 300_000);
    expect(effectiveDeadline("2030-05-01T12:05:00Z", null)).toBe(T0 + 300_000);
  });
});

describe("countdownLabel", () => {
  it("speaks the time left", () => {
    expect(countdownLabel(245)).toBe("4 minutes 5 seconds left");
    expect(countdownLabel(60)).toBe("1 minute left");
    expect(countdownLabel(1)).toBe("1 second left");
    expect(countdownLabel(0)).toBe("expired");
  });
});

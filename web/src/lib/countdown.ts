// Countdown arithmetic for hold timers, kept pure so it is unit-tested (countdown.test.ts).
//
// The server sends deadlines (heldUntil, cartExpiresAt) and its own clock (Cart.serverTime). A
// browser's clock can be minutes off, so a countdown never compares a deadline with Date.now()
// directly: it uses the skew measured when the cart was fetched, serverTime − local time, and
// reads "server now" as Date.now() + skew.

/** Milliseconds since the epoch of an ISO-8601 instant; one without an offset is UTC (the API's zone). */
export function parseInstant(iso: string): number {
  const hasZone = /(?:[zZ]|[+-]\d{2}:?\d{2})$/.test(iso);
  // fractions finer than milliseconds (Python's microseconds) are cut: not every engine parses them
  const trimmed = iso.replace(/(\.\d{3})\d+/, "$1");
  const ms = Date.parse(hasZone ? trimmed : `${trimmed}Z`);
  if (Number.isNaN(ms)) throw new RangeError(`not an ISO-8601 instant: ${iso}`);
  return ms;
}

/**
 * The skew serverTime − local clock, in ms. The server read its clock somewhere between the
 * request leaving (sentAt) and the response arriving (receivedAt), so the midpoint is the best
 * local estimate of that moment; with sentAt === receivedAt this is serverTime − receivedAt.
 */
export function measureSkew(serverTime: string, sentAt: number, receivedAt: number = sentAt): number {
  const local = sentAt + Math.max(0, receivedAt - sentAt) / 2;
  return Math.round(parseInstant(serverTime) - local);
}

/** The server's clock now, estimated from the local clock and the skew. */
export function serverNow(localNow: number, skewMs: number): number {
  return localNow + skewMs;
}

/**
 * Whole seconds left until the deadline, never negative. Rounded up, so "0:00" shows exactly when
 * the deadline is reached (not a second early) and a fresh 5-minute hold starts at 5:00.
 */
export function remainingSeconds(deadline: string | number, skewMs: number, localNow: number): number {
  const end = typeof deadline === "number" ? deadline : parseInstant(deadline);
  const left = end - serverNow(localNow, skewMs);
  return left <= 0 ? 0 : Math.ceil(left / 1000);
}

/** m:ss (minutes unbounded: 75:00 for an hour and a quarter); negative or fractional input is clamped. */
export function formatCountdown(seconds: number): string {
  const s = Number.isFinite(seconds) ? Math.max(0, Math.floor(seconds)) : 0;
  const minutes = Math.floor(s / 60);
  const rest = s % 60;
  return `${minutes}:${rest.toString().padStart(2, "0")}`;
}

/** A hold never outlives its cart: the item's effective deadline is the earlier of the two. */
export function effectiveDeadline(heldUntil: string, cartExpiresAt: string | null): number {
  const item = parseInstant(heldUntil);
  return cartExpiresAt === null ? item : Math.min(item, parseInstant(cartExpiresAt));
}

/** The countdown text of a deadline, as shown in the cart. */
export function countdownText(deadline: string | number, skewMs: number, localNow: number): string {
  return formatCountdown(remainingSeconds(deadline, skewMs, localNow));
}

/** Spoken form for assistive technology: "4 minutes 5 seconds left". */
export function countdownLabel(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s === 0) return "expired";
  const minutes = Math.floor(s / 60);
  const rest = s % 60;
  const parts: string[] = [];
  if (minutes) parts.push(`${minutes} minute${minutes === 1 ? "" : "s"}`);
  if (rest || !minutes) parts.push(`${rest} second${rest === 1 ? "" : "s"}`);
  return `${parts.join(" ")} left`;
}

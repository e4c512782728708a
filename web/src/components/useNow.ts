// A shared clock for countdowns: one interval for the whole page, ticking 4 times a second so a
// displayed m:ss changes within 250 ms of the real second boundary (each value still changes
// once a second).
import { useSyncExternalStore } from "react";

const TICK_MS = 250;
let now = Date.now();
let timer: ReturnType<typeof setInterval> | null = null;
const listeners = new Set<() => void>();

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  if (!timer) {
    now = Date.now();
    timer = setInterval(() => {
      now = Date.now();
      listeners.forEach((l) => l());
    }, TICK_MS);
  }
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0 && timer) {
      clearInterval(timer);
      timer = null;
    }
  };
}

/** The local clock (ms), re-rendering the caller every tick. */
export function useNow(): number {
  return useSyncExternalStore(subscribe, () => now);
}

// The websocket's state, shared between the client factory and the components that react to it
// (the cart refetches after a reconnect; the header shows "reconnecting").
import { useSyncExternalStore } from "react";

export type LinkState = "idle" | "connected" | "reconnecting";

let state: LinkState = "idle";
const listeners = new Set<() => void>();
const reconnectListeners = new Set<() => void>();

export function setLinkState(next: LinkState): void {
  if (next === state) return;
  state = next;
  listeners.forEach((l) => l());
}

/** Called by the client when the socket connected again after a drop (subscriptions resumed). */
export function announceReconnected(): void {
  reconnectListeners.forEach((l) => l());
}

/** Run `listener` after every reconnection; returns the unsubscribe function. */
export function onReconnected(listener: () => void): () => void {
  reconnectListeners.add(listener);
  return () => reconnectListeners.delete(listener);
}

export function useLinkState(): LinkState {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => state,
  );
}

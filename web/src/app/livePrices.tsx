// Live prices of the leads on screen: every rendered lead card registers its id, and one
// priceChanged(leadIds) subscription covers them all (re-subscribed, debounced, when the set
// changes). A card shows the pushed price until it leaves the page.
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useRef, useState } from "react";
import { useClient } from "urql";
import { type LeadStatus, PriceChangedDocument } from "../gql/graphql";

export interface LivePrice {
  price: number;
  oldPrice: number;
  at: string;
  availableSeats: number;
  status: LeadStatus;
}

interface LivePricesValue {
  prices: ReadonlyMap<string, LivePrice>;
  register: (id: string) => () => void;
  /** Listen for changes of one lead (the lead page refetches its price history). */
  onChange: (listener: (leadId: string) => void) => () => void;
}

const LivePricesContext = createContext<LivePricesValue | null>(null);

/** The API accepts at most 1000 ids per priceChanged subscription. */
const MAX_WATCHED = 1000;

export function LivePricesProvider({ children }: { children: ReactNode }) {
  const client = useClient();
  const counts = useRef(new Map<string, number>());
  const listeners = useRef(new Set<(leadId: string) => void>());
  const [watched, setWatched] = useState<string[]>([]);
  const [prices, setPrices] = useState<ReadonlyMap<string, LivePrice>>(new Map());
  const pending = useRef<ReturnType<typeof setTimeout> | null>(null);

  const schedule = useCallback(() => {
    if (pending.current) clearTimeout(pending.current);
    pending.current = setTimeout(() => {
      pending.current = null;
      const ids = [...counts.current.keys()].sort().slice(0, MAX_WATCHED);
      setWatched((prev) => (prev.join() === ids.join() ? prev : ids));
      setPrices((prev) => {
        if ([...prev.keys()].every((id) => counts.current.has(id))) return prev;
        return new Map([...prev].filter(([id]) => counts.current.has(id)));
      });
    }, 150);
  }, []);

  const register = useCallback(
    (id: string) => {
      counts.current.set(id, (counts.current.get(id) ?? 0) + 1);
      schedule();
      return () => {
        const n = (counts.current.get(id) ?? 1) - 1;
        if (n <= 0) counts.current.delete(id);
        else counts.current.set(id, n);
        schedule();
      };
    },
    [schedule],
  );

  useEffect(() => () => void (pending.current && clearTimeout(pending.current)), []);

  useEffect(() => {
    if (watched.length === 0) return;
    const subscription = client.subscription(PriceChangedDocument, { leadIds: watched }).subscribe((result) => {
      const change = result.data?.priceChanged;
      if (!change) return;
      setPrices((prev) => {
        const next = new Map(prev);
        next.set(change.leadId, {
          price: change.newPrice,
          oldPrice: change.oldPrice,
          at: change.at,
          availableSeats: change.lead.availableSeats,
          status: change.lead.status,
        });
        return next;
      });
      listeners.current.forEach((l) => l(change.leadId));
    });
    return () => subscription.unsubscribe();
  }, [client, watched]);

  const onChange = useCallback((listener: (leadId: string) => void) => {
    listeners.current.add(listener);
    return () => listeners.current.delete(listener);
  }, []);

  const value = useMemo(() => ({ prices, register, onChange }), [prices, register, onChange]);
  return <LivePricesContext.Provider value={value}>{children}</LivePricesContext.Provider>;
}

/** Watch a lead's price while the calling component is mounted; the latest pushed change, if any. */
export function useLivePrice(leadId: string): LivePrice | undefined {
  const value = useContext(LivePricesContext);
  if (!value) throw new Error("useLivePrice outside LivePricesProvider");
  const { register, prices } = value;
  useEffect(() => register(leadId), [register, leadId]);
  return prices.get(leadId);
}

export function usePriceChangeListener(listener: (leadId: string) => void): void {
  const value = useContext(LivePricesContext);
  const ref = useRef(listener);
  ref.current = listener;
  useEffect(() => value?.onChange((id) => ref.current(id)), [value]);
}

// The signed-in user (me): name, tier and balance for the header, refreshed after anything that
// changes the balance (checkout, buying credits).
import { createContext, type ReactNode, useCallback, useContext, useMemo } from "react";
import { useQuery } from "urql";
import { MeDocument, type ViewerFieldsFragment } from "../gql/graphql";

interface ViewerContextValue {
  signedIn: boolean;
  viewer: ViewerFieldsFragment | null;
  loading: boolean;
  refresh: () => void;
}

const ViewerContext = createContext<ViewerContextValue>({ signedIn: false, viewer: null, loading: false, refresh: () => {} });

export function ViewerProvider({ signedIn, children }: { signedIn: boolean; children: ReactNode }) {
  const [result, reexecute] = useQuery({ query: MeDocument, pause: !signedIn });
  const refresh = useCallback(() => reexecute({ requestPolicy: "network-only" }), [reexecute]);
  const value = useMemo(
    () => ({ signedIn, viewer: signedIn ? (result.data?.me ?? null) : null, loading: result.fetching, refresh }),
    [signedIn, result.data, result.fetching, refresh],
  );
  return <ViewerContext.Provider value={value}>{children}</ViewerContext.Provider>;
}

export function useViewer(): ViewerContextValue {
  return useContext(ViewerContext);
}

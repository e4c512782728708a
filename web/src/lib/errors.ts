// Turning GraphQL failures into messages: expected failures come as `errors: [UserError]` in
// payloads; transport and unexpected ones as urql's CombinedError.
import type { CombinedError } from "urql";
import type { UserErrorFieldsFragment } from "../gql/graphql";

export interface Failure {
  message: string;
  codes: string[];
  networkError?: unknown;
  field?: string | null;
}

/** A failure from a CombinedError (network, HTTP status, GraphQL errors). */
export function fromCombined(error: CombinedError): Failure {
  const codes = error.graphQLErrors
    .map((e) => e.extensions?.["code"])
    .filter((c): c is string => typeof c === "string");
  if (error.networkError) {
    return { message: "The server could not be reached. Check your connection and try again.", codes, networkError: error.networkError };
  }
  const message = error.graphQLErrors.map((e) => e.message).join(" ") || error.message;
  return { message, codes };
}

/** A failure from a payload's UserErrors, or null when there is none. */
export function fromUserErrors(errors: readonly UserErrorFieldsFragment[] | null | undefined): Failure | null {
  if (!errors || errors.length === 0) return null;
  return { message: errors.map((e) => e.message).join(" "), codes: errors.map((e) => e.code), field: errors[0]?.field ?? null };
}

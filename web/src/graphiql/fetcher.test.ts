import { describe, expect, it } from "vitest";
import { subscriptionUrl } from "./fetcher";

describe("GraphiQL fetcher", () => {
  it("subscriptions go to the same host, wss behind https", () => {
    expect(subscriptionUrl({ protocol: "http:", host: "127.0.0.1:8000" })).toBe("ws://127.0.0.1:8000/graphql");
    expect(subscriptionUrl({ protocol: "https:", host: "api.example.com" })).toBe("wss://api.example.com/graphql");
  });
});

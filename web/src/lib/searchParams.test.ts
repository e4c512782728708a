import { describe, expect, it } from "vitest";
import { EMPTY_FORM, formFromQuery, queryFromForm, variablesFromForm } from "./searchParams";

describe("search form ⇄ URL", () => {
  it("round-trips the filled fields only", () => {
    const form = { ...EMPTY_FORM, q: "2 bed condo", type: "CONDO", city: "Austin" };
    const qs = queryFromForm(form);
    expect(qs).toBe("?q=2+bed+condo&type=CONDO&city=Austin");
    expect(formFromQuery(qs)).toEqual(form);
    expect(queryFromForm(EMPTY_FORM)).toBe("");
  });
});

describe("variablesFromForm", () => {
  it("an empty form searches everything, newest first", () => {
    expect(variablesFromForm(EMPTY_FORM)).toEqual({ variables: { query: "", filter: {}, sort: "NEWEST" }, errors: [] });
  });
  it("free text sorts by relevance", () => {
    expect(variablesFromForm({ ...EMPTY_FORM, q: " condo " }).variables).toMatchObject({ query: "condo", sort: "RELEVANCE" });
  });
  it("maps every filter", () => {
    const { variables, errors } = variablesFromForm({
      ...EMPTY_FORM,
      type: "TOWNHOUSE",
      minPrice: "100000",
      maxPrice: "450000",
      beds: "2",
      city: " Dallas ",
      lat: "32.78",
      lng: "-96.8",
      radius: "10",
      sort: "DISTANCE",
    });
    expect(errors).toEqual([]);
    expect(variables.filter).toEqual({
      propertyTypes: ["TOWNHOUSE"],
      minPrice: 100000,
      maxPrice: 450000,
      minBedrooms: 2,
      city: "Dallas",
      near: { center: { lat: 32.78, lng: -96.8 }, radiusMiles: 10 },
    });
    expect(variables.sort).toBe("DISTANCE");
  });
  it("a partial or invalid radius is an error on each missing field, and no geo filter", () => {
    const { variables, errors } = variablesFromForm({ ...EMPTY_FORM, lat: "32.7", radius: "900" });
    expect(errors.map((e) => e.field).sort()).toEqual(["lng", "radius"]);
    expect(variables.filter.near).toBeUndefined();
  });
  it("rejects bad prices and a max below the min", () => {
    expect(variablesFromForm({ ...EMPTY_FORM, minPrice: "-1" }).errors[0]?.field).toBe("minPrice");
    expect(variablesFromForm({ ...EMPTY_FORM, minPrice: "500", maxPrice: "100" }).errors[0]?.field).toBe("maxPrice");
    expect(variablesFromForm({ ...EMPTY_FORM, maxPrice: "abc" }).errors[0]?.field).toBe("maxPrice");
  });
  it("DISTANCE without a centre falls back", () => {
    expect(variablesFromForm({ ...EMPTY_FORM, sort: "DISTANCE" }).variables.sort).toBe("NEWEST");
    expect(variablesFromForm({ ...EMPTY_FORM, q: "x", sort: "DISTANCE" }).variables.sort).toBe("RELEVANCE");
  });
});

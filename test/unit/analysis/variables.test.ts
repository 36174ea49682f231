import { describe, expect, it } from "vitest";
import { releaseSchema, type Release } from "../../../src/api/index.ts";
import {
  builtinQueries,
  renderQuery,
  templateVariablesFor,
  type TemplateVariables,
} from "../../../src/analysis/index.ts";
import { exampleRelease } from "../../fixtures/releases.ts";

const release: Release = releaseSchema.parse(exampleRelease());

describe("the template variables of a Release", () => {
  it("name the stable and canary objects, the version and the window while the canary runs", () => {
    expect(templateVariablesFor(release, { subject: "canary", analysisIntervalMs: 120_000 })).toEqual({
      namespace: "shop",
      service: "checkout",
      target: "checkout",
      canary: "checkout-canary",
      canaryService: "checkout-canary",
      analysedService: "checkout-canary",
      version: "2.4.0",
      interval: "2m",
      route: "checkout",
    } satisfies TemplateVariables);
  });

  it("analyse the stable Service after promotion, and know the previous version once captured", () => {
    const promoted: Release = {
      ...release,
      status: releaseSchema.shape.status.unwrap().parse({ previous: { version: "2.3.1", images: {} } }),
    };
    const variables = templateVariablesFor(promoted, { subject: "stable", analysisIntervalMs: 30_000 });
    expect(variables).toMatchObject({ analysedService: "checkout", stableVersion: "2.3.1" });
  });

  it("keep the rate() window at one minute or more, so it spans several scrapes", () => {
    expect(templateVariablesFor(release, { subject: "canary", analysisIntervalMs: 10_000 }).interval).toBe(
      "1m",
    );
    expect(templateVariablesFor(release, { subject: "canary", analysisIntervalMs: 90_000 }).interval).toBe(
      "1m30s",
    );
  });

  it("keep the window at the configured minimum instead, for Prometheus servers that scrape faster", () => {
    const fast = { subject: "canary", analysisIntervalMs: 5_000, minimumRateWindowMs: 4_000 } as const;
    expect(templateVariablesFor(release, fast).interval).toBe("5s");
    expect(templateVariablesFor(release, { ...fast, analysisIntervalMs: 2_000 }).interval).toBe("4s");
  });

  it("fill every built-in query for the example Release", () => {
    const variables = templateVariablesFor(release, { subject: "canary", analysisIntervalMs: 30_000 });
    for (const builtin of Object.values(builtinQueries))
      expect(() => renderQuery(builtin.query, variables)).not.toThrow();
    expect(renderQuery(builtinQueries["http-error-ratio"].query, variables)).toBe(
      "(\n" +
        '  sum(rate(http_requests_total{namespace="shop", service="checkout", version="2.4.0", code=~"5.."}[1m])) or vector(0)\n' +
        ")\n/\n" +
        'sum(rate(http_requests_total{namespace="shop", service="checkout", version="2.4.0"}[1m]))',
    );
  });
});

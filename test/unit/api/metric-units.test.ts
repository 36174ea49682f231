import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  formatMetricNumber,
  formatMetricValue,
  formatThreshold,
  metricSchema,
  metricUnit,
  metricUnits,
} from "../../../src/api/index.ts";
import { builtinQueries } from "../../../src/analysis/index.ts";

describe("a metric's unit", () => {
  it("is its own unit, else its template's, else none", () => {
    expect(metricUnit(metricSchema.parse({ name: "e", template: "http-error-ratio", max: 0.05 }))).toBe(
      "ratio",
    );
    expect(metricUnit(metricSchema.parse({ name: "l", template: "istio-latency-p99", max: 300 }))).toBe(
      "milliseconds",
    );
    expect(metricUnit(metricSchema.parse({ name: "q", query: "up", min: 1 }))).toBe("none");
    expect(metricUnit(metricSchema.parse({ name: "q", query: "x", max: 0.3, unit: "seconds" }))).toBe(
      "seconds",
    );
  });

  it("of every built-in template is the one its query returns", () => {
    for (const [template, builtin] of Object.entries(builtinQueries)) {
      const unit = metricUnit({ template: template as keyof typeof builtinQueries });
      expect(unit, template).toBe(builtin.unit);
      expect(template.endsWith("-error-ratio") ? "ratio" : ["seconds", "milliseconds"]).toContain(unit);
    }
  });

  it("is refused when it is not one the schema knows, naming the choices", () => {
    const parsed = metricSchema.safeParse({ name: "q", query: "x", max: 1, unit: "furlongs" });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual(["unit"]);
    expect(parsed.error?.issues[0]?.message).toContain('"ratio"');
  });
});

describe("values as people read them", () => {
  it("shows an error ratio as a percentage with three significant digits", () => {
    expect(formatMetricValue("0.07914494264859229", "ratio")).toBe("7.91%");
    expect(formatMetricValue("0.05", "ratio")).toBe("5%");
    expect(formatMetricValue("0.0012", "ratio")).toBe("0.12%");
    expect(formatMetricValue("0", "ratio")).toBe("0%");
    expect(formatMetricValue("1", "ratio")).toBe("100%");
  });

  it("shows latencies in ms below a second and in s above", () => {
    expect(formatMetricValue("0.0995", "seconds")).toBe("99.5 ms");
    expect(formatMetricValue("0.25", "seconds")).toBe("250 ms");
    expect(formatMetricValue("10", "seconds")).toBe("10 s");
    expect(formatMetricValue("1.23456", "seconds")).toBe("1.23 s");
    expect(formatMetricValue("99.5", "milliseconds")).toBe("99.5 ms");
    expect(formatMetricValue("1500", "milliseconds")).toBe("1.5 s");
    expect(formatMetricValue("0.0002", "seconds")).toBe("200 µs");
  });

  it("shows plain numbers rounded, and very large or small ones with an exponent", () => {
    expect(formatMetricValue("12.3456", "none")).toBe("12.3");
    expect(formatMetricValue("1234", "none")).toBe("1234");
    expect(formatMetricValue("42", "percent")).toBe("42%");
    expect(formatMetricValue("1e-9", "none")).toBe("1e-9");
    expect(formatMetricValue("-0.5", "none")).toBe("-0.5");
  });

  it("keeps NaN, the infinities and text that is not a number as they are", () => {
    expect(formatMetricValue("NaN", "ratio")).toBe("NaN");
    expect(formatMetricValue("+Inf", "seconds")).toBe("+Inf");
    expect(formatMetricValue("-Inf", "none")).toBe("-Inf");
    expect(formatMetricValue("not a number", "ratio")).toBe("not a number");
  });

  it("states thresholds in the metric's unit", () => {
    expect(formatThreshold({ max: 0.05 }, "ratio")).toBe("max 5%");
    expect(formatThreshold({ min: 0.1, max: 0.3 }, "seconds")).toBe("between 100 ms and 300 ms");
    expect(formatThreshold({ min: 10 }, "none")).toBe("min 10");
    expect(formatThreshold({}, "none")).toBe("no threshold");
  });

  it("is short and within 1% of the exact value for any number up to 1e300", () => {
    const suffixes: Record<string, number> = { "": 1, "%": 1, " s": 1, " ms": 1e-3, " µs": 1e-6 };
    /** What a shown value means in the unit's own terms (a ratio's 7.91% is 0.0791; 1.5 s in ms is 1500). */
    const readBack = (shown: string, unit: (typeof metricUnits)[number]): number => {
      const [, digits = "", suffix = ""] = /^(-?[\d.]+(?:e[+-]?\d+)?)(%| s| ms| µs)?$/.exec(shown) ?? [];
      const value = Number(digits) * (suffixes[suffix] ?? Number.NaN);
      if (unit === "ratio") return value / 100;
      if (unit === "milliseconds") return value * 1000;
      return value;
    };
    fc.assert(
      fc.property(
        fc.double({ min: -1e300, max: 1e300, noNaN: true }),
        fc.constantFrom(...metricUnits),
        (value, unit) => {
          const shown = formatMetricNumber(value, unit);
          expect(shown.length).toBeLessThanOrEqual(20);
          const back = readBack(shown, unit);
          expect(Math.abs(back - value), `${value} ${unit} shown as ${shown}`).toBeLessThanOrEqual(
            Math.abs(value) * 0.01 + 1e-300,
          );
        },
      ),
      { numRuns: 1000 },
    );
  });
});

import { describe, expect, it } from "vitest";
import { formatQuantile, mib, round, seconds } from "../../../bench/lib/format.ts";
import { markdownTable } from "../../../bench/lib/table.ts";

describe("markdown tables", () => {
  it("are plain when no column has a width, as docs/performance.md takes them", () => {
    expect(
      markdownTable(
        [{ header: "scenario" }, { header: "Releases" }],
        [
          ["10 active", "10"],
          ["100 completed, 10 s steady", "100"],
        ],
      ),
    ).toEqual([
      "| scenario | Releases |",
      "|---|---|",
      "| 10 active | 10 |",
      "| 100 completed, 10 s steady | 100 |",
    ]);
  });

  it("pad each cell to its column's width, text to the left and numbers to the right", () => {
    expect(
      markdownTable(
        [
          { header: "milliseconds", width: 14 },
          { header: "p50", width: 6, align: "right" },
        ],
        [["alert", "216"]],
      ),
    ).toEqual(["| milliseconds   |    p50 |", "|----------------|--------|", "| alert          |    216 |"]);
  });

  it("let a cell wider than its column run over rather than cut it", () => {
    expect(markdownTable([{ header: "n", width: 2, align: "right" }], [["12345"]])[2]).toBe("| 12345 |");
  });
});

describe("figures in the tables", () => {
  it("give a histogram quantile in whole milliseconds with its bucket", () => {
    expect(formatQuantile({ estimate: 0.0671, lower: 0.05, upper: 0.1 })).toBe("67 ms (50–100]");
    expect(formatQuantile({ estimate: 10, lower: 10, upper: Number.POSITIVE_INFINITY })).toBe(
      "10000 ms (10000–+Inf]",
    );
    expect(formatQuantile(undefined)).toBe("—");
  });

  it("give durations in seconds to a tenth, and a dash when not measured", () => {
    expect(seconds(17_949)).toBe("17.9 s");
    expect(seconds(undefined)).toBe("—");
  });

  it("give memory in MiB to a tenth", () => {
    expect(mib(221_249_536)).toBe(211);
    expect(mib(165_567_283)).toBe(157.9);
    expect(mib(undefined)).toBeUndefined();
    expect(round(3.14159, 2)).toBe(3.14);
  });
});

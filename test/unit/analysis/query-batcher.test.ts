// The pure halves of the query batcher: the matchers that select every Release's series
// (each value literal, whatever it holds) and the split of a grouped answer into what
// each Release's own query would have returned. Against Prometheus: analysis-batched.test.ts.
import { describe, expect, it } from "vitest";
import { builtinQueries, groupMatchers, splitByGroup, type Series } from "../../../src/analysis/index.ts";

const httpLabels = builtinQueries["http-error-ratio"].grouped!.labels;

describe("groupMatchers", () => {
  it("selects each label's values as one anchored union, sorted and without repeats", () => {
    expect(
      groupMatchers(httpLabels, [
        ["shop", "checkout", "2.4.0"],
        ["shop", "cart", "2.4.0"],
      ]),
    ).toBe('namespace=~"shop", service=~"cart|checkout", version=~"2\\\\.4\\\\.0"');
  });

  it("keeps a value with quotes, regex characters and a comment one literal value", () => {
    expect(groupMatchers(httpLabels, [["shop", 'a"} or vector(1) #|.*', "1"]])).toBe(
      'namespace=~"shop", service=~"a\\"\\\\} or vector\\\\(1\\\\) #\\\\|\\\\.\\\\*", version=~"1"',
    );
  });
});

describe("splitByGroup", () => {
  const series = (metric: Record<string, string>, value: string): Series => ({ metric, value: [1, value] });

  it("gives each group its series without the group labels, keeping le", () => {
    const split = splitByGroup(
      [
        series({ namespace: "shop", service: "checkout", version: "2", le: "0.1" }, "3"),
        series({ namespace: "shop", service: "checkout", version: "2", le: "+Inf" }, "4"),
        series({ namespace: "shop", service: "cart", version: "2" }, "NaN"),
      ],
      httpLabels,
    );
    expect(split.get(JSON.stringify(["shop", "checkout", "2"]))).toEqual([
      series({ le: "0.1" }, "3"),
      series({ le: "+Inf" }, "4"),
    ]);
    expect(split.get(JSON.stringify(["shop", "cart", "2"]))).toEqual([series({}, "NaN")]);
  });

  it("has nothing for a group the answer lacks: no data, never a zero", () => {
    const split = splitByGroup(
      [series({ namespace: "shop", service: "cart", version: "2" }, "0")],
      httpLabels,
    );
    expect(split.get(JSON.stringify(["shop", "checkout", "2"]))).toBeUndefined();
  });
});

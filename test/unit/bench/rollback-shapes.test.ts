import { describe, expect, it } from "vitest";
import { summarise } from "../../../bench/lib/statistics.ts";
import {
  allPodsOldAndReady,
  BACK_ON_STABLE,
  canaryPodsReady,
  hasCanaryAndBaseline,
  hasCanaryMatchRule,
  hasCanaryMirror,
  parseRuns,
  parseShapes,
  routeRestored,
  SHAPES,
  shapeTable,
  type RouteView,
  type StatefulSetView,
} from "../../../bench/rollback-shapes/shapes.ts";

const route = (rules: NonNullable<RouteView["spec"]>["rules"]): RouteView => ({ spec: { rules } });
const untouched = route([{ backendRefs: [{ name: "checkout", port: 80 }] }]);
const mirrorFilter = {
  type: "RequestMirror",
  requestMirror: { backendRef: { name: "checkout-canary", port: 80 } },
};

describe("BENCH_SHAPES and BENCH_RUNS", () => {
  it("measure every shape in the fixed order unless some are named", () => {
    expect(parseShapes(undefined)).toEqual([...SHAPES]);
    expect(parseShapes(" ")).toEqual([...SHAPES]);
    expect(parseShapes("statefulset, match")).toEqual(["match", "statefulset"]);
  });

  it("refuse an unknown shape, saying the known ones", () => {
    expect(() => parseShapes("match,canary")).toThrow(/unknown shape "canary" \(known: blue-green, match/);
  });

  it("take a positive whole number of runs, or the default", () => {
    expect(parseRuns(undefined, 10)).toBe(10);
    expect(parseRuns("5", 10)).toBe(5);
    expect(() => parseRuns("0", 10)).toThrow(/BENCH_RUNS: "0"/);
    expect(() => parseRuns("2.5", 10)).toThrow(/not a whole number/);
  });
});

describe("a route back on stable, per shape", () => {
  it("blue/green: the switched route is not on stable; stable at 100 and the canary at 0 is", () => {
    const onStable = BACK_ON_STABLE["blue-green"]("checkout");
    const switched = route([
      {
        backendRefs: [
          { name: "checkout", weight: 0 },
          { name: "checkout-canary", weight: 100 },
        ],
      },
    ]);
    const rolledBack = route([
      {
        backendRefs: [
          { name: "checkout", weight: 100 },
          { name: "checkout-canary", weight: 0 },
        ],
      },
    ]);
    expect(onStable(switched)).toBe(false);
    expect(onStable(rolledBack)).toBe(true);
    expect(onStable(untouched)).toBe(true);
    // A canary ref without a weight weighs 1 (Gateway API's default): not on stable.
    expect(onStable(route([{ backendRefs: [{ name: "checkout" }, { name: "checkout-canary" }] }]))).toBe(
      false,
    );
  });

  it("match: armed while a rule with matches sends requests to the canary; back when that rule is gone", () => {
    const matchRule = {
      matches: [
        { path: { type: "PathPrefix", value: "/" }, headers: [{ name: "x-internal-user", value: "true" }] },
      ],
      backendRefs: [{ name: "checkout-canary", port: 80 }],
    };
    const staged = route([{ backendRefs: [{ name: "checkout", port: 80 }] }, matchRule]);
    expect(hasCanaryMatchRule("checkout")(staged)).toBe(true);
    expect(hasCanaryMatchRule("checkout")(untouched)).toBe(false);
    expect(BACK_ON_STABLE.match("checkout")(staged)).toBe(false);
    expect(BACK_ON_STABLE.match("checkout")(untouched)).toBe(true);
  });

  it("mirror: armed while a RequestMirror filter copies to the canary; back when it is gone", () => {
    const mirrored = route([{ filters: [mirrorFilter], backendRefs: [{ name: "checkout", port: 80 }] }]);
    const onBackendRef = route([{ backendRefs: [{ name: "checkout", port: 80, filters: [mirrorFilter] }] }]);
    expect(hasCanaryMirror("checkout")(mirrored)).toBe(true);
    expect(hasCanaryMirror("checkout")(onBackendRef)).toBe(true);
    expect(BACK_ON_STABLE.mirror("checkout")(mirrored)).toBe(false);
    expect(BACK_ON_STABLE.mirror("checkout")(onBackendRef)).toBe(false);
    expect(BACK_ON_STABLE.mirror("checkout")(untouched)).toBe(true);
    // A mirror to another Service is not the canary's.
    const other = { ...mirrorFilter, requestMirror: { backendRef: { name: "audit" } } };
    expect(
      hasCanaryMirror("checkout")(route([{ filters: [other], backendRefs: [{ name: "checkout" }] }])),
    ).toBe(false);
  });

  it("baseline: armed with both shares; back only when the canary and the baseline are both at 0", () => {
    const refs = (canary: number, baseline: number) =>
      route([
        {
          backendRefs: [
            { name: "checkout", weight: 100 - canary - baseline },
            { name: "checkout-canary", weight: canary },
            { name: "checkout-baseline", weight: baseline },
          ],
        },
      ]);
    expect(hasCanaryAndBaseline("checkout")(refs(10, 10))).toBe(true);
    expect(hasCanaryAndBaseline("checkout")(refs(10, 0))).toBe(false);
    expect(BACK_ON_STABLE.baseline("checkout")(refs(10, 10))).toBe(false);
    expect(BACK_ON_STABLE.baseline("checkout")(refs(0, 10))).toBe(false);
    expect(BACK_ON_STABLE.baseline("checkout")(refs(0, 0))).toBe(true);
  });

  it("no shape counts a route with no request to stable as back on stable", () => {
    const nowhere = route([{ backendRefs: [{ name: "checkout", weight: 0 }] }]);
    for (const onStable of Object.values(BACK_ON_STABLE)) expect(onStable("checkout")(nowhere)).toBe(false);
  });

  it("restored: as many rules as before, no canary or baseline ref, no mirror", () => {
    const restored = routeRestored("checkout", 1);
    expect(restored(untouched)).toBe(true);
    expect(
      restored(route([{ backendRefs: [{ name: "checkout" }, { name: "checkout-canary", weight: 0 }] }])),
    ).toBe(false);
    expect(restored(route([{ filters: [mirrorFilter], backendRefs: [{ name: "checkout" }] }]))).toBe(false);
    expect(
      restored(route([{ backendRefs: [{ name: "checkout" }] }, { backendRefs: [{ name: "checkout" }] }])),
    ).toBe(false);
  });
});

describe("a StatefulSet's pods back on the old revision", () => {
  const statefulSet = (status: NonNullable<StatefulSetView["status"]>, generation = 3): StatefulSetView => ({
    metadata: { generation },
    spec: { replicas: 4 },
    status: { observedGeneration: generation, replicas: 4, ...status },
  });

  it("armed: one pod updated to a new revision, every pod Ready", () => {
    const armed = canaryPodsReady("ledger-old");
    expect(armed(statefulSet({ updateRevision: "ledger-new", updatedReplicas: 1, readyReplicas: 4 }))).toBe(
      true,
    );
    expect(armed(statefulSet({ updateRevision: "ledger-new", updatedReplicas: 1, readyReplicas: 3 }))).toBe(
      false,
    );
    expect(armed(statefulSet({ updateRevision: "ledger-old", updatedReplicas: 4, readyReplicas: 4 }))).toBe(
      false,
    );
  });

  it("back: every replica updated to the old revision and Ready, in a status of the current spec", () => {
    const back = allPodsOldAndReady("ledger-old");
    expect(back(statefulSet({ updateRevision: "ledger-old", updatedReplicas: 4, readyReplicas: 4 }))).toBe(
      true,
    );
    // The template restored but the new pod not yet replaced, or its replacement not Ready.
    expect(back(statefulSet({ updateRevision: "ledger-old", updatedReplicas: 3, readyReplicas: 4 }))).toBe(
      false,
    );
    expect(back(statefulSet({ updateRevision: "ledger-old", updatedReplicas: 4, readyReplicas: 3 }))).toBe(
      false,
    );
    // A status the StatefulSet controller wrote before the rollback's write.
    const stale = statefulSet({ updateRevision: "ledger-old", updatedReplicas: 4, readyReplicas: 4 });
    expect(back({ ...stale, metadata: { generation: 4 } })).toBe(false);
    expect(back({})).toBe(false);
  });
});

describe("the shapes table", () => {
  it("has p50/p90/p99, min, max, runs and failures per row, and a dash where nothing was measured", () => {
    const lines = shapeTable([
      { label: "match: alert → match rule gone", summary: summarise([40, 60, 50]), failures: 0 },
      { label: "statefulset: no run", summary: summarise([]), failures: 2 },
    ]);
    expect(lines[0]).toMatch(/\| milliseconds +\| +p50 \| +p90 \| +p99 \| +min \| +max \| runs \| failed \|/);
    expect(lines[2]).toMatch(
      /\| match: alert → match rule gone \| +50 \| +60 \| +60 \| +40 \| +60 \| +3 \| +0 \|/,
    );
    expect(lines[3]).toMatch(/\| +– \| +– \| +– \| +– \| +– \| +0 \| +2 \|/);
  });
});

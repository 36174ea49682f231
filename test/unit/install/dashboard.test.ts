import { describe, expect, it } from "vitest";
import { createControllerMetrics } from "../../../src/telemetry/metrics.ts";
import { readRepoFile } from "./objects.ts";

interface Panel {
  id: number;
  type: string;
  title: string;
  targets?: { expr: string; refId: string }[];
  gridPos: { x: number; y: number; w: number; h: number };
}

const DASHBOARD = "helm/glidepath/dashboards/glidepath.json";
const dashboard = JSON.parse(readRepoFile(DASHBOARD)) as {
  uid: string;
  panels: Panel[];
  templating: { list: { name: string; query?: string | { query: string } }[] };
};
const panels = dashboard.panels.filter((p) => p.type !== "row");
const queries = [
  ...panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: p.title, expr: t.expr }))),
  ...dashboard.templating.list.flatMap((v) =>
    typeof v.query === "object" ? [{ where: `variable ${v.name}`, expr: v.query.query }] : [],
  ),
];

/** The series names the controller's registry exposes, histograms with their suffixes. */
async function exposedSeries(): Promise<Set<string>> {
  const metrics = await createControllerMetrics().registry.getMetricsAsJSON();
  // At run time `type` is the exposition type ("histogram"), whatever prom-client's typings say.
  return new Set(
    metrics.flatMap((m) =>
      (m.type as unknown as string) === "histogram"
        ? [`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`]
        : [m.name],
    ),
  );
}

describe("the Grafana dashboard", () => {
  it("queries only metrics that src/telemetry/metrics.ts registers", async () => {
    const exposed = await exposedSeries();
    const unknown = queries.flatMap(({ where, expr }) =>
      [...expr.matchAll(/\bglidepath_[a-z0-9_]+/g)]
        .map((match) => match[0])
        .filter((name) => !exposed.has(name))
        .map((name) => `${where}: ${name}`),
    );
    expect(unknown).toEqual([]);
    expect(queries.length).toBeGreaterThan(10);
  });

  it("shows phases, weights, rollbacks, verdicts, alert-to-rollback latency, reconcile duration, queue depth and DORA figures", () => {
    const queried = queries.map((q) => q.expr).join("\n");
    for (const metric of [
      "glidepath_releases",
      "glidepath_canary_weight_percent",
      "glidepath_rollbacks_total",
      "glidepath_measurements_total",
      "glidepath_reconcile_duration_seconds_bucket",
      "glidepath_queue_depth",
      "glidepath_alerts_received_total",
      "glidepath_alert_to_rollback_seconds_bucket",
      "glidepath_dora",
    ]) {
      expect(queried).toMatch(new RegExp(`\\b${metric}\\b`));
    }
  });

  it("has a panel for each DORA figure the controller exports", () => {
    const figures = queries.flatMap(({ expr }) =>
      [...expr.matchAll(/glidepath_dora\{[^}]*figure="([a-z_]+)"/g)].map((match) => match[1]),
    );
    expect(new Set(figures)).toEqual(
      new Set(["deployments", "change_failure_ratio", "lead_time_seconds", "time_to_restore_seconds"]),
    );
  });

  it("is importable: unique panel ids, a Prometheus data source variable, panels inside the 24-column grid", () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(dashboard.uid).toBe("glidepath");
    expect(dashboard.templating.list.map((v) => v.name)).toContain("datasource");
    for (const panel of dashboard.panels) {
      expect(panel.gridPos.x + panel.gridPos.w, panel.title).toBeLessThanOrEqual(24);
    }
  });
});

// One metric's measurements as a uPlot chart: the values over time, the failed ones
// marked, and the threshold as a dashed line (max and/or min). The figure's caption
// says the same in words, for screen readers and small screens.
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { MetricChart as Chart } from "../protocol.ts";
import { metricValue } from "./format.ts";

const HEIGHT = 220;

function options(chart: Chart, width: number): uPlot.Options {
  const value = (_u: uPlot, v: number | null) => (v === null ? "—" : metricValue(v, chart.unit));
  const thresholds = [chart.max, chart.min].filter((limit): limit is number => limit !== undefined);
  const series: uPlot.Series[] = [
    {},
    { label: chart.metric, stroke: "#1f5fbf", width: 2, points: { show: true, size: 6 }, value },
    {
      label: "failed",
      stroke: "#b3261e",
      width: 0,
      paths: () => null,
      points: { show: true, size: 9, stroke: "#b3261e", fill: "#b3261e" },
      value,
    },
  ];
  if (chart.max !== undefined)
    series.push({
      label: `threshold (max ${metricValue(chart.max, chart.unit)})`,
      stroke: "#8a4b00",
      width: 2,
      dash: [8, 5],
      points: { show: false },
      value,
    });
  if (chart.min !== undefined)
    series.push({
      label: `threshold (min ${metricValue(chart.min, chart.unit)})`,
      stroke: "#8a4b00",
      width: 2,
      dash: [8, 5],
      points: { show: false },
      value,
    });
  return {
    width,
    height: HEIGHT,
    series,
    cursor: { drag: { x: false, y: false } },
    scales: {
      x: { time: true },
      // Always show the threshold, even when every value is far below it.
      y: {
        range: (_u, low, high) => {
          const all = [low, high, ...thresholds].filter((n) => Number.isFinite(n));
          const lo = Math.min(0, ...all);
          const hi = Math.max(...all, 0) * 1.15 || 1;
          return [lo, hi];
        },
      },
    },
    axes: [
      { stroke: "#333" },
      { stroke: "#333", size: 70, values: (_u, ticks) => ticks.map((tick) => metricValue(tick, chart.unit)) },
    ],
  };
}

function data(chart: Chart): uPlot.AlignedData {
  const xs = chart.points.map((point) => point.at / 1000);
  const values = chart.points.map((point) => point.value);
  const failed = chart.points.map((point) => (point.verdict === "fail" ? point.value : null));
  const rows: (number | null)[][] = [xs, values, failed];
  if (chart.max !== undefined) rows.push(xs.map(() => chart.max as number));
  if (chart.min !== undefined) rows.push(xs.map(() => chart.min as number));
  return rows as uPlot.AlignedData;
}

export function MetricChart({ chart }: { chart: Chart }) {
  const holder = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = holder.current;
    if (!element) return;
    const width = () => Math.max(240, Math.floor(element.clientWidth));
    const plot = new uPlot(options(chart, width()), data(chart), element);
    const resize = new ResizeObserver(() => plot.setSize({ width: width(), height: HEIGHT }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [chart]);
  const newest = chart.points.at(-1);
  return (
    <figure
      class="chart"
      data-metric={chart.metric}
      data-threshold-max={chart.max}
      data-threshold-min={chart.min}
    >
      <div
        ref={holder}
        class="chart-canvas"
        role="img"
        aria-label={`${chart.metric} over time, ${chart.points.length} measurements, threshold ${chart.thresholdText ?? "none"}`}
      />
      <figcaption>
        {chart.points.length === 0
          ? "No measurements yet."
          : `${chart.points.length} measurements; newest ${metricValue(newest?.value, chart.unit)} (${newest?.verdict}) in stage ${newest?.stage}.`}{" "}
        Threshold: {chart.thresholdText ?? "none"}.
      </figcaption>
    </figure>
  );
}

// A target's releases over time as a uPlot bar chart: one bar per finished release at its
// finish, as tall as it took, succeeded and rolled back / failed in two series (and two
// colours, with the legend and the caption saying the same in words).
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { HistoryRow } from "../protocol.ts";
import { humanDuration } from "./format.ts";

const HEIGHT = 220;
const FAILED = new Set(["RolledBack", "Failed"]);

/** The finished releases with a duration, oldest first: what the chart draws. */
function finishedReleases(
  releases: readonly HistoryRow[],
): (HistoryRow & { finishedMs: number; durationMs: number })[] {
  return releases
    .flatMap((release) =>
      release.finishedAt === undefined || release.durationMs === undefined
        ? []
        : [{ ...release, finishedMs: Date.parse(release.finishedAt), durationMs: release.durationMs }],
    )
    .filter((release) => !Number.isNaN(release.finishedMs))
    .sort((a, b) => a.finishedMs - b.finishedMs);
}

function options(width: number): uPlot.Options {
  const minutes = (_u: uPlot, v: number | null) => (v === null ? "—" : humanDuration(v * 60_000));
  const bars = uPlot.paths.bars?.({ size: [0.6, 36, 4] });
  return {
    width,
    height: HEIGHT,
    cursor: { drag: { x: false, y: false } },
    scales: {
      // Room either side, so the first and last bars show whole.
      x: {
        time: true,
        range: (_u, min, max) => {
          const pad = Math.max((max - min) * 0.04, 3_600);
          return [min - pad, max + pad];
        },
      },
      y: { range: (_u, _low, high) => [0, Math.max(1, high * 1.15)] },
    },
    series: [
      {},
      {
        label: "succeeded",
        stroke: "#1a7f37",
        fill: "#1a7f37",
        width: 1,
        paths: bars,
        points: { show: false },
        value: minutes,
      },
      {
        label: "rolled back or failed",
        stroke: "#b3261e",
        fill: "#b3261e",
        width: 1,
        paths: bars,
        points: { show: false },
        value: minutes,
      },
    ],
    axes: [
      { stroke: "#333" },
      {
        stroke: "#333",
        size: 70,
        label: "duration",
        values: (_u, ticks) => ticks.map((tick) => humanDuration(tick * 60_000)),
      },
    ],
  };
}

export function HistoryChart({ releases }: { releases: HistoryRow[] }) {
  const holder = useRef<HTMLDivElement>(null);
  const shown = finishedReleases(releases);
  useEffect(() => {
    const element = holder.current;
    if (!element || shown.length === 0) return;
    const width = () => Math.max(240, Math.floor(element.clientWidth));
    const data: uPlot.AlignedData = [
      shown.map((release) => release.finishedMs / 1000),
      shown.map((release) => (FAILED.has(release.phase) ? null : release.durationMs / 60_000)),
      shown.map((release) => (FAILED.has(release.phase) ? release.durationMs / 60_000 : null)),
    ];
    const plot = new uPlot(options(width()), data, element);
    const resize = new ResizeObserver(() => plot.setSize({ width: width(), height: HEIGHT }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [releases]);
  const failed = shown.filter((release) => FAILED.has(release.phase)).length;
  const longest = Math.max(0, ...shown.map((release) => release.durationMs));
  return (
    <figure class="chart" data-chart="history" data-releases={shown.length} data-failed={failed}>
      {shown.length > 0 ? (
        <div
          ref={holder}
          class="chart-canvas"
          role="img"
          aria-label={`Duration of each finished release over time: ${shown.length} releases, ${failed} rolled back or failed`}
        />
      ) : null}
      <figcaption>
        {shown.length === 0
          ? "No finished release to chart yet."
          : `${shown.length} finished releases by when they finished, each as long as it took (the longest ${humanDuration(longest)}); ${failed} rolled back or failed.`}
      </figcaption>
    </figure>
  );
}

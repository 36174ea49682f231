// One target's history and DORA figures: the four figures over a window (computed on the
// server by the same code as `glidepath dora`), its releases over time as a chart, and
// each release — from its Release, or its ReleaseRecord once the Release is gone.
import { useCallback } from "preact/hooks";
import { percent } from "../../cli/dora-view.ts";
import { DORA_WINDOWS, type DoraFigures, type TargetHistory } from "../protocol.ts";
import { fetchHistory } from "./api.ts";
import { dateTime, humanDuration } from "./format.ts";
import { HistoryChart } from "./history-chart.tsx";
import { DataTable, PhaseBadge } from "./parts.tsx";
import { useReloading } from "./reloading.ts";
import { Link, navigate } from "./router.tsx";

export function historyHref(namespace: string, target: string, window?: string): string {
  const path = `/history/${encodeURIComponent(namespace)}/${encodeURIComponent(target)}`;
  return window === undefined ? path : `${path}?window=${encodeURIComponent(window)}`;
}

export function HistoryPage(props: { namespace: string; target: string; window: string; version: number }) {
  const fetch = useCallback(
    () => fetchHistory(props.namespace, props.target, props.window),
    [props.namespace, props.target, props.window],
  );
  // `version` moves when the event stream reports a change of one of this target's Releases.
  const { loaded: history, problem } = useReloading(fetch, props.version);

  return (
    <main id="main">
      <p class="crumbs">
        <Link href="/">← All releases</Link>
      </p>
      <div class="heading">
        <h1>History of {props.target}</h1>
        <p class="sub">
          {props.namespace} · deployment {props.target}: every release, from its Release or its ReleaseRecord
        </p>
      </div>
      {problem ? (
        <p class="problem" role="alert">
          {problem}
        </p>
      ) : null}
      {history ? <History history={history} /> : problem ? null : <p>Loading…</p>}
    </main>
  );
}

function History({ history }: { history: TargetHistory }) {
  return (
    <>
      <section aria-labelledby="dora">
        <h2 id="dora">DORA figures</h2>
        <form class="filters" onSubmit={(event) => event.preventDefault()}>
          <label>
            Window{" "}
            <select
              value={history.window}
              data-window-select
              onChange={(event) =>
                navigate(historyHref(history.namespace, history.target, event.currentTarget.value))
              }
            >
              {[...new Set([...DORA_WINDOWS, history.window])].map((window) => (
                <option value={window}>last {window.replace(/d$/, " days")}</option>
              ))}
            </select>
          </label>
        </form>
        {history.dora ? (
          <Figures figures={history.dora} window={history.window} target={history.target} />
        ) : (
          <p class="problem" data-dora-problem>
            No DORA figures: {history.doraProblem}
          </p>
        )}
      </section>

      <section aria-labelledby="over-time">
        <h2 id="over-time">Releases over time</h2>
        <HistoryChart releases={history.releases} />
      </section>

      <section aria-labelledby="releases">
        <h2 id="releases">Releases</h2>
        {history.problems.map((line) => (
          <p class="problem">{line}</p>
        ))}
        {history.releases.length === 0 ? (
          <p class="empty">No releases of {history.target} yet.</p>
        ) : (
          <DataTable
            class="history"
            caption={`Releases of ${history.target}, newest first (${history.releases.length})`}
            columns={["Release", "Version", "Outcome", "Type", "Change", "Started", "Duration", "Approvals"]}
          >
            {history.releases.map((release) => (
              <tr data-history-release={release.name} data-phase={release.phase}>
                <th scope="row">
                  {release.live ? (
                    <Link
                      href={`/releases/${encodeURIComponent(history.namespace)}/${encodeURIComponent(release.name)}`}
                    >
                      {release.name}
                    </Link>
                  ) : (
                    <span title="The Release is gone: this row is from its ReleaseRecord">
                      {release.name} <span class="record-mark">(record)</span>
                    </span>
                  )}
                </th>
                <td>{release.version}</td>
                <td>
                  <PhaseBadge phase={release.phase} /> <span class="outcome">{release.outcome}</span>
                </td>
                <td>{release.changeType}</td>
                <td>{release.changeId}</td>
                <td class="nowrap">{dateTime(release.startedAt)}</td>
                <td class="nowrap">
                  {release.durationMs === undefined
                    ? release.finishedAt
                      ? "—"
                      : "running"
                    : humanDuration(release.durationMs)}
                </td>
                <td>
                  {release.approvals.length === 0
                    ? "—"
                    : release.approvals.map((approval) => (
                        <span class="approval" data-approval={approval.by}>
                          {approval.by}{" "}
                          {approval.counts
                            ? "(verified)"
                            : approval.verified
                              ? "(does not count)"
                              : "(unverified)"}
                        </span>
                      ))}
                </td>
              </tr>
            ))}
          </DataTable>
        )}
      </section>
    </>
  );
}

/** A spread's median (and p90) as the CLI writes durations, or undefined when there are no values. */
function spreadText(spread: { count: number; medianMs?: number; p90Ms?: number }): string | undefined {
  if (spread.medianMs === undefined) return undefined;
  return `${humanDuration(spread.medianMs)} median${spread.p90Ms === undefined ? "" : `, ${humanDuration(spread.p90Ms)} p90`}`;
}

function Figures({ figures, window, target }: { figures: DoraFigures; window: string; target: string }) {
  const { deploymentFrequency, leadTime, changeFailureRate, timeToRestore } = figures;
  const succeeded = leadTime.count + leadTime.missing;
  const lead = spreadText(leadTime);
  const toStable = spreadText(timeToRestore.toStable);
  const toNext = spreadText(timeToRestore.toNextSuccess);
  return (
    <>
      <ul class="figures" aria-label="DORA figures">
        <li
          class="figure"
          data-figure="deployment-frequency"
          data-deployments={deploymentFrequency.deployments}
          data-per-day={deploymentFrequency.perDay}
        >
          <span class="figure-name">Deployment frequency</span>
          <strong class="figure-value">{Math.round(deploymentFrequency.perDay * 100) / 100} per day</strong>
          <span class="figure-detail">
            {deploymentFrequency.deployments} succeeded release
            {deploymentFrequency.deployments === 1 ? "" : "s"}
          </span>
        </li>
        <li
          class="figure"
          data-figure="lead-time"
          data-median-ms={leadTime.medianMs}
          data-count={leadTime.count}
          data-missing={leadTime.missing}
        >
          <span class="figure-name">Lead time for changes</span>
          <strong class="figure-value">{lead ?? "unknown"}</strong>
          <span class="figure-detail">
            {succeeded === 0
              ? "no succeeded release in the window"
              : leadTime.missing === 0
                ? `from commit to the end of all ${succeeded} succeeded releases`
                : leadTime.count === 0
                  ? `missing: none of the ${succeeded} succeeded releases carried changeRequest.committedAt (set it from CI)`
                  : `from ${leadTime.count} of ${succeeded} succeeded releases; missing for ${leadTime.missing}: no changeRequest.committedAt`}
          </span>
        </li>
        <li
          class="figure"
          data-figure="change-failure-rate"
          data-ratio={changeFailureRate.ratio}
          data-failures={changeFailureRate.failures}
          data-finished={changeFailureRate.finished}
        >
          <span class="figure-name">Change failure rate</span>
          <strong class="figure-value">
            {changeFailureRate.ratio === undefined ? "—" : percent(changeFailureRate.ratio)}
          </strong>
          <span class="figure-detail">
            {changeFailureRate.finished === 0
              ? "no release finished in the window"
              : `${changeFailureRate.failures} of ${changeFailureRate.finished} finished releases rolled back or failed`}
          </span>
        </li>
        <li
          class="figure"
          data-figure="time-to-restore"
          data-to-stable-ms={timeToRestore.toStable.medianMs}
          data-to-next-success-ms={timeToRestore.toNextSuccess.medianMs}
          data-not-yet-restored={timeToRestore.notYetRestored}
        >
          <span class="figure-name">Time to restore</span>
          <strong class="figure-value">{toStable === undefined ? "—" : `${toStable} to stable`}</strong>
          <span class="figure-detail">
            {changeFailureRate.failures === 0
              ? "nothing to restore: no failure in the window"
              : `${toNext === undefined ? "no later success yet" : `${toNext} to the next success`}${
                  timeToRestore.notYetRestored > 0 ? `; ${timeToRestore.notYetRestored} not yet restored` : ""
                }`}
          </span>
        </li>
      </ul>
      <p class="sub" data-dora-window={figures.window.from}>
        Releases finished from {dateTime(figures.window.from)} to {dateTime(figures.window.to)}: the figures
        of{" "}
        <code>
          glidepath dora {target} --window {window}
        </code>
        . Restore times run from the moment Glidepath acted on the breach or alert.
      </p>
    </>
  );
}

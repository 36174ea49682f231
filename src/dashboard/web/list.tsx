// The list page: every release the watch sees, filtered by namespace and phase, with the
// stage bar, the weight and the age; rows change as the event stream says.
import { useState } from "preact/hooks";
import type { ReleaseSummary } from "../protocol.ts";
import type { FeedState } from "./api.ts";
import { age } from "./format.ts";
import { historyHref } from "./history.tsx";
import { Link } from "./router.tsx";
import { PhaseBadge, StageBar } from "./parts.tsx";

export function ReleaseList(props: {
  rows: ReleaseSummary[];
  scope: string;
  state: FeedState;
  nowMs: number;
}) {
  const [namespace, setNamespace] = useState("");
  const [phase, setPhase] = useState("");
  const namespaces = [...new Set(props.rows.map((row) => row.namespace))].sort();
  const phases = [...new Set(props.rows.map((row) => row.phase))].sort();
  const shown = props.rows.filter(
    (row) => (namespace === "" || row.namespace === namespace) && (phase === "" || row.phase === phase),
  );
  return (
    <main id="main">
      <div class="heading">
        <h1>Releases</h1>
        <p class="scope">
          Watching {props.scope}.{" "}
          <span class={`feed feed-${props.state}`} role="status" data-feed={props.state}>
            {props.state === "live" ? "Live" : props.state === "connecting" ? "Connecting…" : "Reconnecting…"}
          </span>
        </p>
      </div>
      <form class="filters" onSubmit={(event) => event.preventDefault()}>
        <label>
          Namespace{" "}
          <select value={namespace} onChange={(event) => setNamespace(event.currentTarget.value)}>
            <option value="">all</option>
            {namespaces.map((name) => (
              <option value={name}>{name}</option>
            ))}
          </select>
        </label>
        <label>
          Phase{" "}
          <select value={phase} onChange={(event) => setPhase(event.currentTarget.value)}>
            <option value="">all</option>
            {phases.map((name) => (
              <option value={name}>{name}</option>
            ))}
          </select>
        </label>
        <span class="count">
          {shown.length} of {props.rows.length}
        </span>
      </form>
      {shown.length === 0 ? (
        <p class="empty">
          {props.rows.length === 0 ? "No releases yet." : "No release matches the filters."}
        </p>
      ) : (
        <div class="table-scroll">
          <table class="releases">
            <caption class="visually-hidden">Releases, updated live</caption>
            <thead>
              <tr>
                <th scope="col">Namespace</th>
                <th scope="col">Release</th>
                <th scope="col" class="wide-only">
                  Target
                </th>
                <th scope="col">Version</th>
                <th scope="col">Phase</th>
                <th scope="col">Stages</th>
                <th scope="col">Weight</th>
                <th scope="col" class="wide-only">
                  Change
                </th>
                <th scope="col">Age</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((row) => (
                <tr key={row.key} data-release={row.key} data-phase={row.phase} data-stage={row.stage}>
                  <td data-label="Namespace">{row.namespace}</td>
                  <td data-label="Release">
                    <Link
                      href={`/releases/${encodeURIComponent(row.namespace)}/${encodeURIComponent(row.name)}`}
                    >
                      {row.name}
                    </Link>
                    {row.pauseRequested ? (
                      <span class="flag" data-flag="pause-requested">
                        pause requested
                      </span>
                    ) : null}
                  </td>
                  <td class="wide-only" data-label="Target">
                    <Link href={historyHref(row.namespace, row.target)}>{row.target}</Link>
                  </td>
                  <td data-label="Version">{row.version}</td>
                  <td data-label="Phase">
                    <PhaseBadge phase={row.phase} />
                  </td>
                  <td data-label="Stages">
                    <StageBar steps={row.steps} />
                  </td>
                  <td class="weight" data-weight={row.weight} data-label="Weight">
                    {/^\d+$/.test(row.weight) ? `${row.weight}%` : row.weight}
                  </td>
                  <td class="wide-only" data-label="Change">
                    {row.changeId}
                  </td>
                  <td data-label="Age">{age(row.createdAt, Math.max(props.nowMs, Date.now()))}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </main>
  );
}

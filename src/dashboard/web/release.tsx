// One release: where it is (timeline with planned and actual durations, weights), what
// the metrics say (a chart each, counters against limits, the query as sent), who did
// what (approvals, change request, rollback, conditions, Events), and the buttons.
import { useCallback } from "preact/hooks";
import type { MetricChart as Chart, ReleaseDetail } from "../protocol.ts";
import { ActionBar } from "./actions.tsx";
import { fetchDetail } from "./api.ts";
import { MetricChart } from "./chart.tsx";
import { age, clockTime, dateTime, humanDuration } from "./format.ts";
import { historyHref } from "./history.tsx";
import { DataTable, PhaseBadge, StageBar } from "./parts.tsx";
import { useReloading } from "./reloading.ts";
import { Link } from "./router.tsx";

export function ReleasePage(props: { namespace: string; name: string; version: number; nowMs: number }) {
  const fetch = useCallback(() => fetchDetail(props.namespace, props.name), [props.namespace, props.name]);
  // `version` moves each time the event stream reports a change of this release.
  const { loaded: detail, problem, reload: load } = useReloading(fetch, props.version);

  return (
    <main id="main">
      <p class="crumbs">
        <Link href="/">← All releases</Link>
      </p>
      {problem ? (
        <p class="problem" role="alert">
          {problem}
        </p>
      ) : null}
      {detail ? (
        <Detail detail={detail} nowMs={props.nowMs} reload={load} />
      ) : problem ? null : (
        <p>Loading…</p>
      )}
    </main>
  );
}

function Detail(props: { detail: ReleaseDetail; nowMs: number; reload: () => void }) {
  const { detail, reload } = props;
  const { summary } = detail;
  // The clock ticks every few seconds; details may be newer than its last tick.
  const nowMs = Math.max(props.nowMs, Date.now());
  return (
    <>
      <div class="heading">
        <h1>
          {summary.name} <PhaseBadge phase={summary.phase} />
        </h1>
        <p class="sub">
          {summary.namespace} · deployment {summary.target}: {detail.previousVersion ?? "?"} →{" "}
          {summary.version} · change {summary.changeId} · created {age(summary.createdAt, nowMs)} ago
        </p>
        <p class="sub">
          <Link href={historyHref(summary.namespace, summary.target)}>
            History and DORA figures of {summary.target}
          </Link>
        </p>
        {summary.message ? <p class="message">{summary.message}</p> : null}
      </div>
      <ActionBar detail={detail} onDone={reload} />

      <section aria-labelledby="where">
        <h2 id="where">Stages and traffic</h2>
        <StageBar steps={summary.steps} />
        <p class="traffic">{detail.traffic}</p>
        <p class="weights" data-set-weight={detail.weights.set} data-actual-weight={detail.weights.actual}>
          Weight set: <strong>{detail.weights.set === undefined ? "—" : `${detail.weights.set}%`}</strong> ·
          reached by the router:{" "}
          <strong>{detail.weights.actual === undefined ? "—" : `${detail.weights.actual}%`}</strong>
        </p>
        <DataTable
          class="timeline"
          caption="Stage timeline: planned and actual durations"
          columns={["Stage", "Weight", "Planned", "Actual", "Entered", "Outcome"]}
        >
          {detail.timeline.map((stage) => (
            <tr data-stage-row={stage.name} class={`row-${stage.state}`}>
              <th scope="row">{stage.name}</th>
              <td>
                {stage.weight === undefined ? "—" : `${stage.weight}%`}
                {stage.reachedWeight !== undefined ? ` (reached ${stage.reachedWeight}%)` : ""}
              </td>
              <td>{stage.plannedMs === undefined ? "—" : humanDuration(stage.plannedMs)}</td>
              <td>
                {stage.actualMs === undefined ? "—" : humanDuration(stage.actualMs)}
                {stage.state === "current" ? " so far" : ""}
              </td>
              <td>{clockTime(stage.enteredAt)}</td>
              <td>
                {stage.outcome ??
                  (stage.state === "current"
                    ? "running"
                    : stage.state === "pending"
                      ? "to come"
                      : stage.state)}
              </td>
            </tr>
          ))}
        </DataTable>
      </section>

      <section aria-labelledby="metrics">
        <h2 id="metrics">Metrics</h2>
        {detail.charts.length === 0 ? <p>No metrics are analysed for this release.</p> : null}
        <div class="charts">
          {detail.charts.map((chart) => (
            <MetricPanel chart={chart} />
          ))}
        </div>
      </section>

      <div class="columns">
        <section aria-labelledby="approvals">
          <h2 id="approvals">Approvals</h2>
          <p>
            {detail.requiresApproval
              ? "This change needs an approval before GA."
              : "No approval is required."}
          </p>
          {detail.approvals.length === 0 ? (
            <p>None yet.</p>
          ) : (
            <ul class="approvals">
              {detail.approvals.map((approval) => (
                <li data-approval={approval.by} data-verified={String(approval.verified)}>
                  <strong>{approval.by}</strong> at {dateTime(approval.at)}
                  {approval.comment ? `: “${approval.comment}”` : ""}{" "}
                  {approval.verified === true ? (
                    <span class="badge badge-good">verified</span>
                  ) : approval.verified === false ? (
                    <span class="badge badge-bad">unverified: {approval.problem ?? "no identity stamp"}</span>
                  ) : (
                    <span class="badge badge-neutral">not yet checked</span>
                  )}
                </li>
              ))}
            </ul>
          )}
          {detail.people.length > 0 ? (
            <>
              <h3>Requests on record</h3>
              <ul>
                {detail.people.map((line) => (
                  <li>{line}</li>
                ))}
              </ul>
            </>
          ) : null}
        </section>

        <section aria-labelledby="change">
          <h2 id="change">Change request</h2>
          <dl class="facts">
            <dt>Id</dt>
            <dd>
              {detail.changeRequest.ticketUrl ? (
                <a href={detail.changeRequest.ticketUrl} rel="noreferrer">
                  {detail.changeRequest.id}
                </a>
              ) : (
                detail.changeRequest.id
              )}
            </dd>
            <dt>Title</dt>
            <dd>{detail.changeRequest.title}</dd>
            <dt>Type, risk</dt>
            <dd>
              {detail.changeRequest.type}, risk {detail.changeRequest.risk}
            </dd>
            <dt>Why</dt>
            <dd>{detail.changeRequest.why}</dd>
            {detail.changeRequest.scope ? (
              <>
                <dt>Scope</dt>
                <dd>{detail.changeRequest.scope}</dd>
              </>
            ) : null}
            <dt>Requested by</dt>
            <dd>{detail.changeRequest.requestedBy}</dd>
            {detail.changeRequest.rollbackPlan ? (
              <>
                <dt>Rollback plan</dt>
                <dd>{detail.changeRequest.rollbackPlan}</dd>
              </>
            ) : null}
            {detail.changeRequest.successCriteria.length > 0 ? (
              <>
                <dt>Success criteria</dt>
                <dd>
                  <ul>
                    {detail.changeRequest.successCriteria.map((line) => (
                      <li>{line}</li>
                    ))}
                  </ul>
                </dd>
              </>
            ) : null}
          </dl>
        </section>
      </div>

      <section aria-labelledby="rollback">
        <h2 id="rollback">Rollback</h2>
        {detail.rollback ? (
          <dl class="facts" data-rollback-trigger={detail.rollback.trigger}>
            <dt>Trigger</dt>
            <dd>
              {detail.rollback.trigger} at {dateTime(detail.rollback.at)}
              {detail.rollback.by ? ` by ${detail.rollback.by}` : ""}
            </dd>
            <dt>Reason</dt>
            <dd>{detail.rollback.reason}</dd>
            {detail.rollback.metric ? (
              <>
                <dt>Metric</dt>
                <dd>
                  {detail.rollback.metric} = {detail.rollback.value ?? "?"} (
                  {detail.rollback.threshold ?? "no threshold"})
                </dd>
              </>
            ) : null}
            <dt>Restored</dt>
            <dd>
              {detail.rollback.restoredVersion ?? "—"}
              {detail.rollback.completedAt
                ? `, completed ${dateTime(detail.rollback.completedAt)}`
                : ", not completed yet"}
              {detail.rollback.verified === undefined
                ? ""
                : detail.rollback.verified
                  ? ", verified"
                  : ", NOT verified"}
            </dd>
            {detail.rollback.verification ? (
              <>
                <dt>Verification</dt>
                <dd>{detail.rollback.verification}</dd>
              </>
            ) : null}
          </dl>
        ) : (
          <p>Not rolled back.</p>
        )}
      </section>

      <section aria-labelledby="conditions">
        <h2 id="conditions">Conditions</h2>
        <DataTable columns={["Type", "Status", "Reason", "Since", "Message"]}>
          {detail.conditions.map((condition) => (
            <tr data-condition={condition.type}>
              <th scope="row">{condition.type}</th>
              <td>{condition.status}</td>
              <td>{condition.reason}</td>
              <td>{age(condition.lastTransitionTime, nowMs)}</td>
              <td class="long">{condition.message}</td>
            </tr>
          ))}
        </DataTable>
      </section>

      <section aria-labelledby="events">
        <h2 id="events">Events</h2>
        {detail.eventsProblem ? <p class="problem">{detail.eventsProblem}</p> : null}
        <DataTable columns={["Type", "Reason", "Count", "Last seen", "Message"]}>
          {detail.events.map((event) => (
            <tr data-event={event.reason}>
              <td>{event.type}</td>
              <td>{event.reason}</td>
              <td>{event.count}</td>
              <td>{clockTime(event.lastSeen)}</td>
              <td class="long">{event.message}</td>
            </tr>
          ))}
        </DataTable>
      </section>

      {detail.actions.length > 0 ? (
        <section aria-labelledby="log">
          <h2 id="log">Actions taken with the CLI or the dashboard</h2>
          <ul>
            {detail.actions.map((action) => (
              <li>
                {dateTime(action.at)}: {action.action} by {action.by}
                {action.detail ? `: ${action.detail}` : ""}
              </li>
            ))}
          </ul>
        </section>
      ) : null}
    </>
  );
}

function Counter(props: { label: string; value: number; limit?: number; kind: string }) {
  const over = props.limit !== undefined && props.value > props.limit;
  return (
    <li class={`counter counter-${props.kind}${over ? " over" : ""}`} data-counter={props.kind}>
      <span class="counter-label">{props.label}</span> <strong>{props.value}</strong>
      {props.limit === undefined ? "" : <span class="limit"> / limit {props.limit}</span>}
    </li>
  );
}

function MetricPanel({ chart }: { chart: Chart }) {
  return (
    <article class="metric" aria-labelledby={`metric-${chart.metric}`}>
      <h3 id={`metric-${chart.metric}`}>
        {chart.metric} <span class="threshold">threshold {chart.thresholdText ?? "none"}</span>
      </h3>
      <MetricChart chart={chart} />
      <ul class="counters" aria-label="This stage's measurements">
        <Counter label="pass" value={chart.counters.pass} kind="pass" />
        <Counter label="fail" value={chart.counters.fail} limit={chart.limits?.failure} kind="fail" />
        <Counter
          label="no data"
          value={chart.counters.inconclusive}
          limit={chart.limits?.inconclusive}
          kind="inconclusive"
        />
        <Counter label="errors" value={chart.counters.error} kind="error" />
        <Counter
          label="errors in a row"
          value={chart.counters.consecutiveErrors}
          limit={chart.limits?.consecutiveErrors}
          kind="consecutive"
        />
      </ul>
      <details>
        <summary>Query as sent</summary>
        <pre class="query">{chart.query ?? "not sent yet"}</pre>
      </details>
    </article>
  );
}

import type { GroupedQuery, GroupLabel } from "./builtin-queries.ts";
import { MetricsQueryError, type MetricsProvider, type QueryResult, type Series } from "./provider.ts";
import { escapePromqlString, escapeRegex, type TemplateVariables } from "./template.ts";
import { timerDelay } from "../kube/timer-delay.ts";

// Analysis that costs per template, not per Release: measurements of the same built-in
// query and window asked within a short wait are answered by one grouped query
// (`sum by (namespace, service, version) (…)` for the http-* templates), and each Release
// gets the series of its own label values — the answer its own query would have given,
// with its labels as that query leaves them. A Release whose group is missing from the
// answer gets an empty vector (no data), never a zero.

/** Longest a measurement waits for others to share its query, by default. */
export const DEFAULT_BATCH_WAIT_MS = 1_000;

export interface SharedMeasurement {
  grouped: GroupedQuery;
  /** The built-in template's name: measurements of one template and window share a query. */
  template: string;
  /** The Release's value of each group label, in the order of grouped.labels. */
  values: string[];
  interval: string;
}

/**
 * Whether a metric of a Release can be measured together with others: a built-in
 * template with a grouped form, and every group label and the window known and valid.
 * Anything else (a custom query, a missing variable) runs one by one as before.
 */
export function sharedMeasurement(
  template: string | undefined,
  grouped: GroupedQuery | undefined,
  variables: TemplateVariables,
): SharedMeasurement | undefined {
  if (template === undefined || grouped === undefined) return undefined;
  const interval = variables.interval;
  if (interval === undefined) return undefined;
  const values: string[] = [];
  for (const { variable } of grouped.labels) {
    const value = variables[variable];
    // An empty value would match series without the label; the template refuses it, so do we.
    if (value === undefined || value === "") return undefined;
    values.push(value);
  }
  return { grouped, template, values, interval };
}

export interface BatchedQueryOptions {
  /** The longest this measurement waits for others before the query is sent. */
  maxWaitMs?: number;
  signal?: AbortSignal;
  /** Evaluation time; default now. Only measurements of the same time share a query. */
  time?: Date;
}

interface Member {
  values: string[];
  resolve(result: QueryResult): void;
  reject(error: unknown): void;
  cancelled: boolean;
}

interface Batch {
  grouped: GroupedQuery;
  part: "value" | "buckets";
  interval: string;
  time?: Date;
  members: Member[];
  deadline: number;
  timer: NodeJS.Timeout;
}

export class QueryBatcher {
  readonly #provider: MetricsProvider;
  readonly #batches = new Map<string, Batch>();

  constructor(provider: MetricsProvider) {
    this.#provider = provider;
  }

  /** The metric's own value, from the grouped query its template and window share. */
  value(shared: SharedMeasurement, options: BatchedQueryOptions = {}): Promise<QueryResult> {
    return this.#ask(shared, "value", options);
  }

  /** The histogram's buckets by `le`, as the template's own HistogramCheck.bucketsQuery gives them. */
  buckets(shared: SharedMeasurement, options: BatchedQueryOptions = {}): Promise<QueryResult> {
    if (shared.grouped.bucketsQuery === undefined)
      return Promise.reject(new Error(`${shared.template} has no histogram buckets`));
    return this.#ask(shared, "buckets", options);
  }

  /** Grouped queries waiting to be sent, for tests and logs. */
  pending(): number {
    return this.#batches.size;
  }

  #ask(shared: SharedMeasurement, part: Batch["part"], options: BatchedQueryOptions): Promise<QueryResult> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(cancelled("the query was cancelled before it was sent"));
    const key = JSON.stringify([shared.template, part, shared.interval, options.time?.getTime() ?? null]);
    const deadline = Date.now() + (options.maxWaitMs ?? DEFAULT_BATCH_WAIT_MS);
    return new Promise<QueryResult>((resolve, reject) => {
      const member: Member = { values: shared.values, resolve, reject, cancelled: false };
      signal?.addEventListener(
        "abort",
        () => {
          member.cancelled = true;
          reject(cancelled("the query was cancelled"));
        },
        { once: true },
      );
      let batch = this.#batches.get(key);
      if (!batch) {
        batch = {
          grouped: shared.grouped,
          part,
          interval: shared.interval,
          ...(options.time ? { time: options.time } : {}),
          members: [],
          deadline,
          timer: this.#schedule(key, deadline),
        };
        this.#batches.set(key, batch);
      } else if (deadline < batch.deadline) {
        // This one may not wait as long: the whole batch goes at its deadline.
        clearTimeout(batch.timer);
        batch.deadline = deadline;
        batch.timer = this.#schedule(key, deadline);
      }
      batch.members.push(member);
    });
  }

  #schedule(key: string, deadline: number): NodeJS.Timeout {
    return setTimeout(() => void this.#send(key), timerDelay(Math.max(0, deadline - Date.now())));
  }

  async #send(key: string): Promise<void> {
    const batch = this.#batches.get(key);
    if (!batch) return;
    this.#batches.delete(key);
    const members = batch.members.filter((member) => !member.cancelled);
    if (members.length === 0) return;
    const promql = groupedPromql(batch, members);
    let answer: QueryResult;
    try {
      // Not cancelled with any one member: the others still wait for it.
      answer = await this.#provider.query(promql, batch.time ? { time: batch.time } : {});
    } catch (error) {
      for (const member of members) member.reject(error);
      return;
    }
    if (answer.data.resultType !== "vector") {
      const failure = new MetricsQueryError({
        kind: "invalid-response",
        message: `a grouped query answered a ${answer.data.resultType}, not a vector`,
        query: promql,
      });
      for (const member of members) member.reject(failure);
      return;
    }
    const answers = splitByGroup(answer.data.result, batch.grouped.labels);
    for (const member of members) {
      const result = answers.get(JSON.stringify(member.values)) ?? [];
      member.resolve({ data: { resultType: "vector", result }, warnings: answer.warnings });
    }
  }
}

/**
 * A grouped answer's series by group (the JSON of the group labels' values, in order),
 * each without the group labels: the Release's own query has none (sum(…) drops them,
 * sum by (le) keeps only le). A group absent from the answer has no entry: no data.
 */
export function splitByGroup(
  series: readonly Series[],
  labels: readonly GroupLabel[],
): Map<string, Series[]> {
  const names = labels.map((one) => one.label);
  const byGroup = new Map<string, Series[]>();
  for (const one of series) {
    const group = JSON.stringify(names.map((label) => one.metric[label] ?? ""));
    const own: Record<string, string> = {};
    for (const [name, value] of Object.entries(one.metric)) if (!names.includes(name)) own[name] = value;
    const list = byGroup.get(group) ?? [];
    list.push({ metric: own, value: one.value });
    byGroup.set(group, list);
  }
  return byGroup;
}

/** Matchers selecting every Release's series: one anchored regex union per label, each value literal. */
export function groupMatchers(
  labels: readonly GroupLabel[],
  valueSets: readonly (readonly string[])[],
): string {
  return labels
    .map(({ label }, index) => {
      const values = [...new Set(valueSets.map((values) => values[index] as string))].sort();
      return `${label}=~"${escapePromqlString(values.map(escapeRegex).join("|"))}"`;
    })
    .join(", ");
}

/** The grouped query for the members' label values. */
function groupedPromql(batch: Batch, members: readonly Member[]): string {
  const joined = groupMatchers(
    batch.grouped.labels,
    members.map((member) => member.values),
  );
  if (batch.part === "buckets")
    return (batch.grouped.bucketsQuery as NonNullable<GroupedQuery["bucketsQuery"]>)(joined, batch.interval);
  return batch.grouped.query(joined, batch.interval);
}

function cancelled(message: string): MetricsQueryError {
  return new MetricsQueryError({ kind: "cancelled", message, query: "" });
}

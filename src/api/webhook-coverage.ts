// Whether the admission webhook really guards writes to a Release: only there do identity
// stamps prove anything. The webhook's port answers whoever reaches it, so anyone can get
// validly signed stamps for a made-up request; where the API server calls the webhook on
// every write, such stamps cannot be written (the webhook refuses any client-written stamp
// annotation), but where it does not (a narrower namespaceSelector, the configuration edited
// or deleted, failurePolicy Ignore) they could be. Pure: the configuration and the labels
// are observations the controller reads.

export const RELEASE_GROUP = "glidepath.dev";
export const RELEASE_RESOURCE = "releases";

/** A label selector as Kubernetes writes it (metav1.LabelSelector). */
export interface LabelSelector {
  matchLabels?: Record<string, string> | undefined;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] | undefined }> | undefined;
}

/** The fields of one MutatingWebhook entry that decide whether it sees a request. */
export interface WebhookEntry {
  name: string;
  failurePolicy?: string | undefined;
  rules?:
    | Array<{
        apiGroups?: string[] | undefined;
        apiVersions?: string[] | undefined;
        operations?: string[] | undefined;
        resources?: string[] | undefined;
        scope?: string | undefined;
      }>
    | undefined;
  namespaceSelector?: LabelSelector | undefined;
  objectSelector?: LabelSelector | undefined;
  /** CEL conditions (1.28+): the controller cannot evaluate them, so an entry with any covers nothing. */
  matchConditions?: unknown[] | undefined;
}

export interface CoverageInput {
  /** The configuration's name (for messages). */
  configurationName: string;
  /** Its webhooks; undefined when the configuration does not exist. */
  webhooks: WebhookEntry[] | undefined;
  namespace: string;
  /** The Namespace's labels; undefined when it could not be read. */
  namespaceLabels: Record<string, string> | undefined;
  /** The Release's API version (e.g. v1alpha1). */
  apiVersion: string;
}

export type Coverage = { covered: true } | { covered: false; problem: string };

/** Whether a label set satisfies a selector; absent or empty selects everything. An unknown operator selects nothing. */
export function selectorMatches(
  selector: LabelSelector | undefined,
  labels: Record<string, string>,
): boolean {
  if (!selector) return true;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {}))
    if (!Object.hasOwn(labels, key) || labels[key] !== value) return false;
  for (const expression of selector.matchExpressions ?? []) {
    const present = Object.hasOwn(labels, expression.key);
    const values = expression.values ?? [];
    switch (expression.operator) {
      case "In":
        if (!present || !values.includes(labels[expression.key]!)) return false;
        break;
      case "NotIn":
        if (present && values.includes(labels[expression.key]!)) return false;
        break;
      case "Exists":
        if (!present) return false;
        break;
      case "DoesNotExist":
        if (present) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** Whether a selector selects every label set (absent, or nothing in it). */
export function selectsEverything(selector: LabelSelector | undefined): boolean {
  return (
    !selector ||
    (Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0)
  );
}

const covers = (list: string[] | undefined, value: string): boolean =>
  (list ?? []).some((item) => item === "*" || item === value);

/** Whether one of the entry's rules sends both CREATE and UPDATE of this Release (not a subresource) to it. */
export function rulesCoverReleaseWrites(entry: WebhookEntry, apiVersion: string): boolean {
  return ["CREATE", "UPDATE"].every((operation) =>
    (entry.rules ?? []).some(
      (rule) =>
        covers(rule.apiGroups, RELEASE_GROUP) &&
        covers(rule.apiVersions, apiVersion) &&
        covers(rule.resources, RELEASE_RESOURCE) &&
        covers(rule.operations, operation) &&
        (rule.scope === undefined || rule.scope === "*" || rule.scope === "Namespaced"),
    ),
  );
}

function describeSelector(selector: LabelSelector | undefined): string {
  return JSON.stringify(selector ?? {});
}

/** Why one entry does not guard this namespace's Releases, or undefined when it does. */
function entryGap(
  entry: WebhookEntry,
  input: CoverageInput & { namespaceLabels: Record<string, string> },
): string | undefined {
  const name = `the admission webhook ${input.configurationName} (${entry.name})`;
  if (!rulesCoverReleaseWrites(entry, input.apiVersion))
    return `${name} has no rule for CREATE and UPDATE of ${RELEASE_RESOURCE}.${RELEASE_GROUP}/${input.apiVersion}`;
  if ((entry.failurePolicy ?? "Fail") !== "Fail")
    return `${name} has failurePolicy ${entry.failurePolicy}: while it is down, writes pass unchecked; set failurePolicy: Fail`;
  if ((entry.matchConditions ?? []).length > 0)
    return `${name} has matchConditions, which may let writes pass unchecked; remove them`;
  // objectSelector: the API server calls the webhook when the old or the new object matches,
  // so whoever may relabel a Release could write in two steps past the webhook. Only a
  // selector that selects every Release guards every write.
  if (!selectsEverything(entry.objectSelector))
    return `${name} has an objectSelector (${describeSelector(entry.objectSelector)}): a Release relabelled past it escapes the webhook; remove the objectSelector`;
  if (!selectorMatches(entry.namespaceSelector, input.namespaceLabels))
    return `${name} does not cover namespace ${input.namespace} (namespaceSelector ${describeSelector(entry.namespaceSelector)}); label the namespace to match it, or widen the selector`;
  return undefined;
}

/**
 * Whether the webhook configuration guards every CREATE and UPDATE of Releases in this
 * namespace: it exists, and one of its entries matches those writes with failurePolicy
 * Fail, no objectSelector and a namespaceSelector that selects the namespace.
 */
export function webhookCoverage(input: CoverageInput): Coverage {
  if (input.webhooks === undefined)
    return {
      covered: false,
      problem: `the admission webhook configuration ${input.configurationName} does not exist, so writes to Releases are not checked; install it (admission.yaml)`,
    };
  if (input.namespaceLabels === undefined)
    return {
      covered: false,
      problem: `namespace ${input.namespace} could not be read, so whether the admission webhook ${input.configurationName} covers it is unknown`,
    };
  const labels = input.namespaceLabels;
  const gaps: string[] = [];
  for (const entry of input.webhooks) {
    const gap = entryGap(entry, { ...input, namespaceLabels: labels });
    if (gap === undefined) return { covered: true };
    gaps.push(gap);
  }
  if (gaps.length === 0)
    return {
      covered: false,
      problem: `the admission webhook configuration ${input.configurationName} has no webhooks, so writes to Releases are not checked`,
    };
  // The entry that sees Release writes says most; otherwise the first.
  const relevant = input.webhooks.findIndex((entry) => rulesCoverReleaseWrites(entry, input.apiVersion));
  return { covered: false, problem: gaps[relevant >= 0 ? relevant : 0]! };
}

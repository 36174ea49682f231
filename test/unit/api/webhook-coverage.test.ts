import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  selectorMatches,
  webhookCoverage,
  withoutCoverage,
  type CoverageInput,
  type LabelSelector,
  type WebhookEntry,
} from "../../../src/api/index.ts";

// Stamps count only where the admission webhook guards every write to a Release (issue 12,
// the webhook's port answers anyone): the configuration exists, one entry sees CREATE and
// UPDATE of releases.glidepath.dev with failurePolicy Fail, and its selectors take the
// namespace and every Release.

const entry: WebhookEntry = {
  name: "releases.glidepath.dev",
  failurePolicy: "Fail",
  rules: [
    {
      apiGroups: ["glidepath.dev"],
      apiVersions: ["v1alpha1"],
      operations: ["CREATE", "UPDATE"],
      resources: ["releases"],
      scope: "Namespaced",
    },
  ],
  namespaceSelector: { matchLabels: { team: "shop" } },
};

const input = (
  webhooks: WebhookEntry[] | undefined,
  labels: Record<string, string> | undefined = { team: "shop" },
): CoverageInput => ({
  configurationName: "glidepath-controller",
  webhooks,
  namespace: "shop",
  namespaceLabels: labels,
  apiVersion: "v1alpha1",
});

describe("webhookCoverage", () => {
  it("covers a namespace the entry selects, with failurePolicy Fail", () => {
    expect(webhookCoverage(input([entry]))).toEqual({ covered: true });
    expect(webhookCoverage(input([{ ...entry, namespaceSelector: undefined }], {}))).toEqual({
      covered: true,
    });
    // failurePolicy defaults to Fail in admissionregistration.k8s.io/v1.
    expect(webhookCoverage(input([{ ...entry, failurePolicy: undefined }]))).toEqual({ covered: true });
  });

  it("does not cover a namespace outside the namespaceSelector, and says which selector", () => {
    expect(webhookCoverage(input([entry], { team: "pay" }))).toEqual({
      covered: false,
      problem:
        'the admission webhook glidepath-controller (releases.glidepath.dev) does not cover namespace shop (namespaceSelector {"matchLabels":{"team":"shop"}}); label the namespace to match it, or widen the selector',
    });
  });

  it("does not cover anything when the configuration is gone or has no webhooks", () => {
    expect(webhookCoverage(input(undefined))).toMatchObject({
      covered: false,
      problem: expect.stringMatching(/configuration glidepath-controller does not exist/),
    });
    expect(webhookCoverage(input([]))).toMatchObject({
      covered: false,
      problem: expect.stringMatching(/has no webhooks/),
    });
    expect(webhookCoverage({ ...input([entry]), namespaceLabels: undefined })).toMatchObject({
      covered: false,
      problem: expect.stringMatching(/namespace shop could not be read/),
    });
  });

  it("does not cover with failurePolicy Ignore: writes pass unchecked while the webhook is down", () => {
    expect(webhookCoverage(input([{ ...entry, failurePolicy: "Ignore" }]))).toMatchObject({
      covered: false,
      problem: expect.stringMatching(
        /has failurePolicy Ignore: while it is down, writes pass unchecked; set failurePolicy: Fail/,
      ),
    });
  });

  it("needs rules for both CREATE and UPDATE of releases.glidepath.dev in the Release's version", () => {
    const rule = entry.rules![0]!;
    const withRule = (changes: Partial<typeof rule>) =>
      webhookCoverage(input([{ ...entry, rules: [{ ...rule, ...changes }] }]));
    expect(withRule({ operations: ["CREATE"] })).toMatchObject({
      covered: false,
      problem: expect.stringMatching(/no rule for CREATE and UPDATE/),
    });
    expect(withRule({ resources: ["releases/status"] })).toMatchObject({ covered: false });
    expect(withRule({ apiGroups: ["apps"] })).toMatchObject({ covered: false });
    expect(withRule({ apiVersions: ["v1"] })).toMatchObject({ covered: false });
    expect(withRule({ scope: "Cluster" })).toMatchObject({ covered: false });
    expect(
      withRule({ operations: ["*"], resources: ["*"], apiGroups: ["*"], apiVersions: ["*"], scope: "*" }),
    ).toEqual({ covered: true });
    // CREATE and UPDATE may come from two rules.
    expect(
      webhookCoverage(
        input([
          {
            ...entry,
            rules: [
              { ...rule, operations: ["CREATE"] },
              { ...rule, operations: ["UPDATE"] },
            ],
          },
        ]),
      ),
    ).toEqual({ covered: true });
  });

  it("does not trust an objectSelector (a relabelled Release escapes it) nor matchConditions", () => {
    expect(
      webhookCoverage(input([{ ...entry, objectSelector: { matchLabels: { checked: "yes" } } }])),
    ).toMatchObject({
      covered: false,
      problem: expect.stringMatching(/has an objectSelector .*remove the objectSelector/),
    });
    expect(webhookCoverage(input([{ ...entry, objectSelector: {} }]))).toEqual({ covered: true });
    expect(
      webhookCoverage(input([{ ...entry, matchConditions: [{ name: "x", expression: "true" }] }])),
    ).toMatchObject({
      covered: false,
    });
  });

  it("is covered when any one entry covers, and otherwise names the gap of the entry that sees Releases", () => {
    const other: WebhookEntry = { ...entry, name: "other.example.com", rules: [] };
    expect(webhookCoverage(input([other, entry]))).toEqual({ covered: true });
    expect(webhookCoverage(input([other, { ...entry, failurePolicy: "Ignore" }]))).toMatchObject({
      problem: expect.stringMatching(/\(releases.glidepath.dev\) has failurePolicy Ignore/),
    });
  });
});

describe("selectorMatches (metav1.LabelSelector)", () => {
  const labels = { team: "shop", tier: "prod" };
  it("reads matchLabels and each operator as Kubernetes does", () => {
    const cases: Array<[LabelSelector | undefined, boolean]> = [
      [undefined, true],
      [{}, true],
      [{ matchLabels: { team: "shop" } }, true],
      [{ matchLabels: { team: "pay" } }, false],
      [{ matchLabels: { owner: "" } }, false],
      [{ matchExpressions: [{ key: "tier", operator: "In", values: ["prod", "stage"] }] }, true],
      [{ matchExpressions: [{ key: "tier", operator: "In", values: ["stage"] }] }, false],
      [{ matchExpressions: [{ key: "absent", operator: "In", values: [""] }] }, false],
      [{ matchExpressions: [{ key: "tier", operator: "NotIn", values: ["stage"] }] }, true],
      [{ matchExpressions: [{ key: "tier", operator: "NotIn", values: ["prod"] }] }, false],
      [{ matchExpressions: [{ key: "absent", operator: "NotIn", values: ["prod"] }] }, true],
      [{ matchExpressions: [{ key: "team", operator: "Exists" }] }, true],
      [{ matchExpressions: [{ key: "absent", operator: "Exists" }] }, false],
      [{ matchExpressions: [{ key: "absent", operator: "DoesNotExist" }] }, true],
      [{ matchExpressions: [{ key: "team", operator: "DoesNotExist" }] }, false],
      [{ matchExpressions: [{ key: "team", operator: "Gt", values: ["1"] }] }, false],
      [
        {
          matchLabels: { team: "shop" },
          matchExpressions: [{ key: "tier", operator: "NotIn", values: ["prod"] }],
        },
        false,
      ],
    ];
    for (const [selector, expected] of cases)
      expect([selector, selectorMatches(selector, labels)]).toEqual([selector, expected]);
  });

  it("never matches labels inherited from Object.prototype", () => {
    expect(selectorMatches({ matchExpressions: [{ key: "constructor", operator: "Exists" }] }, {})).toBe(
      false,
    );
    expect(selectorMatches({ matchExpressions: [{ key: "toString", operator: "DoesNotExist" }] }, {})).toBe(
      true,
    );
  });

  const key = fc.constantFrom("a", "b", "c");
  const value = fc.constantFrom("x", "y", "z");
  const labelSet = fc.dictionary(key, value);
  const expression = fc.record({
    key,
    operator: fc.constantFrom("In", "NotIn", "Exists", "DoesNotExist"),
    values: fc.array(value, { maxLength: 3 }),
  });

  it("is a conjunction: a selector matches exactly when each of its requirements does", () => {
    fc.assert(
      fc.property(
        fc.dictionary(key, value),
        fc.array(expression, { maxLength: 4 }),
        labelSet,
        (matchLabels, expressions, labels) => {
          const whole = selectorMatches({ matchLabels, matchExpressions: expressions }, labels);
          const parts =
            Object.entries(matchLabels).every(([k, v]) =>
              selectorMatches({ matchLabels: { [k]: v } }, labels),
            ) && expressions.every((e) => selectorMatches({ matchExpressions: [e] }, labels));
          expect(whole).toBe(parts);
        },
      ),
    );
  });

  it("In and NotIn are complements on a present key; Exists and DoesNotExist always", () => {
    fc.assert(
      fc.property(key, fc.array(value, { maxLength: 3 }), labelSet, (k, values, labels) => {
        const inSet = selectorMatches({ matchExpressions: [{ key: k, operator: "In", values }] }, labels);
        const notIn = selectorMatches({ matchExpressions: [{ key: k, operator: "NotIn", values }] }, labels);
        const exists = selectorMatches({ matchExpressions: [{ key: k, operator: "Exists" }] }, labels);
        const absent = selectorMatches({ matchExpressions: [{ key: k, operator: "DoesNotExist" }] }, labels);
        expect(exists).toBe(!absent);
        if (exists) expect(inSet).toBe(!notIn);
        else expect([inSet, notIn]).toEqual([false, true]);
      }),
    );
  });

  it("a namespace covered stays covered when it gains labels the selector does not mention", () => {
    fc.assert(
      fc.property(fc.dictionary(key, value), labelSet, value, (matchLabels, labels, extra) => {
        fc.pre(selectorMatches({ matchLabels }, labels));
        expect(selectorMatches({ matchLabels }, { ...labels, unrelated: extra })).toBe(true);
      }),
    );
  });
});

describe("withoutCoverage", () => {
  it("leaves no identity verified where the webhook does not cover, and keeps each one's own problem", () => {
    const problem =
      "the admission webhook glidepath-controller (releases.glidepath.dev) has failurePolicy Ignore";
    const uncovered = withoutCoverage(
      {
        webhook: true,
        creator: { verified: true, user: "alice", groups: [] },
        approvals: [
          { verified: true, user: "carol", groups: ["release-managers"] },
          { verified: false, problem: "not stamped by the admission webhook" },
        ],
        actions: [{ verified: true, user: "bob", action: "pause", at: "2026-12-06T10:00:00Z" }],
      },
      problem,
    );
    expect(uncovered.uncovered).toBe(problem);
    expect(uncovered.creator).toEqual({ verified: false, user: "alice", groups: [], problem });
    expect(uncovered.approvals).toEqual([
      { verified: false, user: "carol", groups: ["release-managers"], problem },
      { verified: false, problem: "not stamped by the admission webhook" },
    ]);
    expect(uncovered.actions).toEqual([expect.objectContaining({ verified: false, user: "bob", problem })]);
  });
});

import { z } from "zod";
import { canonicalJson } from "./canonical-json.ts";

// Routing stages (docs/routing-stages.md): a stage that sends only matching requests to
// the canary (`match`), or mirrors a share of requests to it without serving its answers
// (`mirror`), before the weighted stages. Shared by the Release schema, the engine (which
// route shape a stage wants) and the routers (how they build it).

/** CEL rules travel in the zod metadata, as in release.ts. */
function cel(...rules: { rule: string; message: string }[]) {
  return { "x-kubernetes-validations": rules };
}

/** An HTTP header name (RFC 9110 token), as Gateway API's HTTPHeaderName allows. */
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;
/** Cookie names Glidepath accepts: a plain token, so it needs no escaping in a header pattern. */
const COOKIE_NAME = /^[A-Za-z0-9_-]+$/;

export const headerMatchSchema = z
  .object({
    name: z
      .string()
      .min(1)
      .max(256)
      .regex(HEADER_NAME, { message: "must be an HTTP header name (letters, digits and !#$%&'*+-.^_`|~)" })
      .describe("The request header, e.g. x-internal-user (case-insensitive)."),
    value: z.string().min(1).max(4096).optional().describe("The header's exact value."),
    pattern: z
      .string()
      .min(1)
      .max(1024)
      .optional()
      .describe("A regular expression the header's value must match (RE2 / PCRE, as the router's)."),
  })
  .superRefine((header, ctx) => {
    if ((header.value === undefined) === (header.pattern === undefined)) {
      ctx.addIssue({ code: "custom", path: ["value"], message: "set exactly one of `value` and `pattern`" });
    }
    if (header.pattern !== undefined) {
      try {
        new RegExp(header.pattern);
      } catch (error) {
        ctx.addIssue({
          code: "custom",
          path: ["pattern"],
          message: `not a regular expression: ${(error as Error).message}`,
        });
      }
    }
  })
  .meta(
    cel({ rule: "has(self.value) != has(self.pattern)", message: "set exactly one of value and pattern" }),
  )
  .describe("A request header that sends the request to the canary.");

export type HeaderMatch = z.infer<typeof headerMatchSchema>;

export const stageMatchSchema = z
  .object({
    headers: z
      .array(headerMatchSchema)
      .min(1)
      .max(8)
      .optional()
      .describe("Requests that carry all of these headers go to the canary (NGINX: one header)."),
    cookie: z
      .object({
        name: z
          .string()
          .min(1)
          .max(64)
          .regex(COOKIE_NAME, { message: "must be letters, digits, '_' or '-'" })
          .describe("Requests with the cookie <name>=always go to the canary (NGINX's canary-by-cookie)."),
      })
      .optional(),
  })
  .superRefine((match, ctx) => {
    if (match.headers === undefined && match.cookie === undefined) {
      ctx.addIssue({ code: "custom", path: [], message: "a match needs `headers`, a `cookie` or both" });
    }
  })
  .meta(
    cel({
      rule: "has(self.headers) || has(self.cookie)",
      message: "a match needs headers, a cookie or both",
    }),
  )
  .describe(
    "Only matching requests go to the canary during this stage (the headers, or the cookie); the rest to stable.",
  );

export type StageMatch = z.infer<typeof stageMatchSchema>;

export const stageMirrorSchema = z
  .object({
    percent: z
      .int()
      .min(1)
      .max(100)
      .default(100)
      .describe("Percent of requests copied to the canary (NGINX mirrors all of them: 100 only)."),
  })
  .describe("A copy of requests goes to the canary, whose answers are thrown away; stable serves them all.");

export type StageMirror = z.infer<typeof stageMirrorSchema>;

/** The route shape a stage asks of the router beside its weight: at most one of match and mirror. */
export interface StageRouting {
  match?: StageMatch;
  mirror?: StageMirror;
}

/** The stage's match or mirror, or undefined for a weighted stage. */
export function stageRoutingOf(stage: { match?: StageMatch | undefined; mirror?: StageMirror | undefined }) {
  if (stage.match) return { match: stage.match } satisfies StageRouting;
  if (stage.mirror) return { mirror: stage.mirror } satisfies StageRouting;
  return undefined;
}

/** Whether two routings are the same (undefined: none). */
export function sameRouting(held: StageRouting | undefined, wanted: StageRouting | undefined): boolean {
  return canonicalJson(held ?? null) === canonicalJson(wanted ?? null);
}

/** "header x-internal=true or cookie canary=always" / "mirror 20%": for messages, status and the record. */
export function describeRouting(routing: StageRouting | undefined): string | undefined {
  if (routing?.match) {
    const parts: string[] = [];
    const headers = routing.match.headers ?? [];
    if (headers.length > 0) {
      parts.push(
        headers
          .map((header) =>
            header.value !== undefined
              ? `${header.name}: ${header.value}`
              : `${header.name} ~ /${header.pattern}/`,
          )
          .join(" and "),
      );
    }
    if (routing.match.cookie) parts.push(`cookie ${routing.match.cookie.name}=always`);
    return `only ${parts.join(" or ")}`;
  }
  if (routing?.mirror) return `mirror ${routing.mirror.percent}%`;
  return undefined;
}

/** Why the replica split cannot run a match or mirror stage (Release validation, its CEL twin, the router). */
export const ROUTING_STAGE_ROUTER_MESSAGE =
  "a match or mirror stage needs the Gateway API or NGINX router: the replica split sends requests to pods " +
  "through the stable Service, which cannot pick requests by header or cookie, nor copy them";

/** Stages as the router may run them: what each router cannot do, with the path to the stage's field. */
export function routingStageProblems(
  stages: readonly { match?: StageMatch | undefined; mirror?: StageMirror | undefined }[],
  traffic: { gatewayAPI?: unknown; nginx?: unknown; replicas?: unknown },
): { path: (string | number)[]; message: string }[] {
  const problems: { path: (string | number)[]; message: string }[] = [];
  stages.forEach((stage, index) => {
    if (traffic.replicas !== undefined) {
      if (stage.match) problems.push({ path: [index, "match"], message: ROUTING_STAGE_ROUTER_MESSAGE });
      if (stage.mirror) problems.push({ path: [index, "mirror"], message: ROUTING_STAGE_ROUTER_MESSAGE });
    }
    if (traffic.nginx !== undefined) {
      if ((stage.match?.headers?.length ?? 0) > 1) {
        problems.push({
          path: [index, "match", "headers"],
          message: "NGINX routes a canary by one header only (canary-by-header): name one header",
        });
      }
      if (stage.mirror && stage.mirror.percent !== 100) {
        problems.push({
          path: [index, "mirror", "percent"],
          message: `NGINX mirrors every request (mirror-target has no percentage): percent must be 100, not ${stage.mirror.percent}`,
        });
      }
    }
  });
  return problems;
}

/** The CEL twins of routingStageProblems, on the Release spec. */
export const ROUTING_STAGE_CEL = [
  {
    rule: "!has(self.traffic.replicas) || !has(self.stages) || self.stages.all(s, !has(s.match) && !has(s.mirror))",
    message:
      "a match or mirror stage needs the Gateway API or NGINX router (spec.traffic.gatewayAPI or nginx)",
  },
  {
    rule:
      "!has(self.traffic.nginx) || !has(self.stages) || " +
      "self.stages.all(s, (!has(s.match) || !has(s.match.headers) || size(s.match.headers) <= 1) && " +
      "(!has(s.mirror) || !has(s.mirror.percent) || s.mirror.percent == 100))",
    message: "NGINX routes a canary by one header only and mirrors every request (mirror percent 100)",
  },
];

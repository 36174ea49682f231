// PromQL templates: {{variable}} placeholders filled with values escaped for the place
// they stand in. The template is scanned like PromQL is lexed (strings, escapes,
// comments), so every placeholder's context is known:
//
//   inside "…" or '…' after = or !=     the value is escaped for a PromQL string
//   inside "…" or '…' after =~ or !~    regex-quoted, then escaped for the string
//   inside `…` (raw string)             regex-quoted after =~/!~; a value with ` is refused
//   outside any string                  only durations ({{interval}}), checked to a strict form
//   inside a # comment                  left as written (Prometheus ignores it)
//
// So a value such as `a"} or vector(1) #` stays one label value and cannot change the query.

export const templateVariables = {
  namespace: { kind: "string", description: "the Release's namespace" },
  service: { kind: "string", description: "the stable Service (spec.target.service)" },
  target: { kind: "string", description: "the stable Deployment (spec.target.deployment)" },
  canary: { kind: "string", description: "the canary Deployment, <target>-canary" },
  canaryService: { kind: "string", description: "the canary's Service, <service>-canary" },
  analysedService: {
    kind: "string",
    description:
      "the Service that carries the new version now: the canary's Service, or the stable one after promotion",
  },
  version: { kind: "string", description: "the new version (spec.version), the pods' `version` label" },
  stableVersion: {
    kind: "string",
    description: "the version being replaced (status.previous.version), when known",
  },
  route: {
    kind: "string",
    description: "the HTTPRoute (spec.traffic.gatewayAPI.httpRoute), when there is one",
  },
  ingress: {
    kind: "string",
    description: "the stable Ingress (spec.traffic.nginx.ingress), when there is one",
  },
  interval: { kind: "duration", description: "the range of rate() windows, e.g. 1m" },
} as const satisfies Record<string, { kind: "string" | "duration"; description: string }>;

export type TemplateVariableName = keyof typeof templateVariables;

/** Values for a template; a variable without a value is an error only if the template uses it. */
export type TemplateVariables = Partial<Record<TemplateVariableName, string>>;

export class TemplateError extends Error {
  /** The variable at fault, when one is. */
  readonly variable?: string;
  /** Character offset in the template. */
  readonly offset?: number;

  constructor(message: string, details: { variable?: string; offset?: number } = {}) {
    super(message);
    this.name = "TemplateError";
    if (details.variable !== undefined) this.variable = details.variable;
    if (details.offset !== undefined) this.offset = details.offset;
  }
}

type PlaceholderContext =
  | { kind: "code" }
  | { kind: "string"; quote: '"' | "'"; regex: boolean }
  | { kind: "raw-string"; regex: boolean };

type Segment = { text: string } | { variable: string; offset: number; context: PlaceholderContext };

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/y;

/** Fills a template's placeholders; throws TemplateError naming the variable or place at fault. */
export function renderQuery(template: string, variables: TemplateVariables): string {
  return scanTemplate(template)
    .map((segment) => ("text" in segment ? segment.text : substitute(segment, variables)))
    .join("");
}

/**
 * Every problem a template has before any value is known: unknown variables, variables
 * outside a string, unterminated strings. For validating a Release before it runs.
 */
export function checkQueryTemplate(template: string): string[] {
  let segments: Segment[];
  try {
    segments = scanTemplate(template);
  } catch (error) {
    return [(error as Error).message];
  }
  const problems: string[] = [];
  for (const segment of segments) {
    if ("text" in segment) continue;
    const problem = placementProblem(segment);
    if (problem !== undefined) problems.push(problem);
  }
  return problems;
}

/** The variables a template uses, in order of first use. */
export function variablesUsed(template: string): string[] {
  const names = scanTemplate(template).flatMap((segment) =>
    "variable" in segment ? [segment.variable] : [],
  );
  return [...new Set(names)];
}

/** A value escaped for the inside of a PromQL "…" (or '…') string. */
export function escapePromqlString(value: string, quote: '"' | "'" = '"'): string {
  let escaped = "";
  for (const char of value) {
    if (char === "\\") escaped += "\\\\";
    else if (char === quote) escaped += `\\${quote}`;
    else if (char === "\n") escaped += "\\n";
    else if (char === "\r") escaped += "\\r";
    else if (char === "\t") escaped += "\\t";
    else if (isControl(char))
      escaped += `\\x${(char.codePointAt(0) as number).toString(16).padStart(2, "0")}`;
    else escaped += char;
  }
  return escaped;
}

/** A value that a RE2 regex (as in =~ matchers) matches literally. */
export function escapeRegex(value: string): string {
  return value.replace(/[\\.+*?()|[\]{}^$]/g, "\\$&");
}

// Units as Prometheus accepts them, largest first and each at most once, as it requires.
const PROMQL_DURATION =
  /^(?:(\d{1,9})y)?(?:(\d{1,9})w)?(?:(\d{1,9})d)?(?:(\d{1,9})h)?(?:(\d{1,9})m)?(?:(\d{1,9})s)?(?:(\d{1,9})ms)?$/;

/** True for a PromQL duration such as "30s", "5m", "1h30m" that is longer than zero. */
export function isPromqlDuration(value: string): boolean {
  const match = PROMQL_DURATION.exec(value);
  return (
    match !== null && value !== "" && match.slice(1).some((part) => part !== undefined && Number(part) > 0)
  );
}

function substitute(segment: Extract<Segment, { variable: string }>, variables: TemplateVariables): string {
  const problem = placementProblem(segment);
  if (problem !== undefined) throw new TemplateError(problem, segment);
  const name = segment.variable as TemplateVariableName;
  const definition = templateVariables[name];
  const value = variables[name];
  if (value === undefined) {
    throw new TemplateError(
      `{{${name}}} has no value for this release (${definition.description}); remove it from the query or provide it`,
      segment,
    );
  }
  if (value === "" && definition.kind === "string") {
    // version="" would match every series without the label: never what was meant.
    throw new TemplateError(
      `{{${name}}} is empty; an empty label value would match series without the label`,
      segment,
    );
  }
  if (definition.kind === "duration" && !isPromqlDuration(value)) {
    throw new TemplateError(
      `{{${name}}} must be a duration such as 30s, 5m or 1h30m (units y w d h m s ms, largest first), not ${JSON.stringify(value)}`,
      segment,
    );
  }
  const { context } = segment;
  switch (context.kind) {
    case "code":
      return value;
    case "string":
      return escapePromqlString(context.regex ? escapeRegex(value) : value, context.quote);
    case "raw-string":
      if (value.includes("`")) {
        throw new TemplateError(
          `{{${name}}} is inside a \`raw string\` and its value contains a backtick, which a raw string cannot hold; use "…" instead`,
          segment,
        );
      }
      return context.regex ? escapeRegex(value) : value;
  }
}

function placementProblem(segment: Extract<Segment, { variable: string }>): string | undefined {
  const name = segment.variable;
  if (!Object.hasOwn(templateVariables, name)) {
    return `unknown variable {{${name}}} at offset ${segment.offset}; known variables: ${Object.keys(
      templateVariables,
    )
      .map((known) => `{{${known}}}`)
      .join(", ")}`;
  }
  const definition = templateVariables[name as TemplateVariableName];
  if (segment.context.kind === "code" && definition.kind !== "duration") {
    return `{{${name}}} at offset ${segment.offset} is outside a quoted string; put it inside double quotes, e.g. label="{{${name}}}"`;
  }
  return undefined;
}

/** Splits a template into literal text and placeholders, each with its PromQL context. */
function scanTemplate(template: string): Segment[] {
  const segments: Segment[] = [];
  let text = "";
  let index = 0;
  const flushText = (): void => {
    if (text !== "") segments.push({ text });
    text = "";
  };
  const placeholderAt = (context: PlaceholderContext): boolean => {
    if (!template.startsWith("{{", index)) return false;
    PLACEHOLDER.lastIndex = index;
    const match = PLACEHOLDER.exec(template);
    if (!match) {
      throw new TemplateError(
        `malformed placeholder at offset ${index}: ${JSON.stringify(template.slice(index, index + 24))}; write {{name}}`,
        { offset: index },
      );
    }
    flushText();
    segments.push({ variable: match[1] as string, offset: index, context });
    index += match[0].length;
    return true;
  };

  while (index < template.length) {
    const char = template[index] as string;
    if (char === "#") {
      // A comment runs to the end of the line and is copied as it is.
      const end = template.indexOf("\n", index);
      const stop = end === -1 ? template.length : end;
      text += template.slice(index, stop);
      index = stop;
    } else if (char === '"' || char === "'" || char === "`") {
      const regex = /[=!]~\s*$/.test(template.slice(0, index));
      const start = index;
      text += char;
      index++;
      let closed = false;
      while (index < template.length) {
        const inner = template[index] as string;
        if (char !== "`" && inner === "\\") {
          text += template.slice(index, index + 2);
          index += 2;
          continue;
        }
        if (inner === char) {
          text += inner;
          index++;
          closed = true;
          break;
        }
        if (char !== "`" && inner === "\n") break;
        const context: PlaceholderContext =
          char === "`" ? { kind: "raw-string", regex } : { kind: "string", quote: char, regex };
        if (placeholderAt(context)) continue;
        text += inner;
        index++;
      }
      if (!closed)
        throw new TemplateError(`unterminated string starting at offset ${start}`, { offset: start });
    } else if (placeholderAt({ kind: "code" })) {
      continue;
    } else {
      text += char;
      index++;
    }
  }
  flushText();
  return segments;
}

function isControl(char: string): boolean {
  const code = char.codePointAt(0) as number;
  return code < 0x20 || code === 0x7f;
}

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  builtinQueries,
  checkQueryTemplate,
  renderQuery,
  TemplateError,
  templateVariables,
  variablesUsed,
  type TemplateVariables,
} from "../../../src/analysis/index.ts";
import { escapePromqlString, escapeRegex, isPromqlDuration } from "../../../src/analysis/template.ts";

const INJECTION = 'a"} or vector(1) #';

const variables: TemplateVariables = {
  namespace: "shop",
  service: "checkout",
  target: "checkout",
  canary: "checkout-canary",
  canaryService: "checkout-canary",
  analysedService: "checkout-canary",
  version: "2.4.0",
  interval: "1m",
};

// A reader for PromQL as its lexer sees it: string literals (with Go escapes), comments
// and code. Used to prove that a rendered query has the template's shape.
interface Lexed {
  /** The query with every string literal replaced by "S" and comments dropped. */
  shape: string;
  /** The decoded contents of every string literal, in order. */
  strings: string[];
}

function lexPromql(query: string): Lexed {
  let shape = "";
  const strings: string[] = [];
  let index = 0;
  while (index < query.length) {
    const char = query[index]!;
    if (char === "#") {
      const end = query.indexOf("\n", index);
      index = end === -1 ? query.length : end;
    } else if (char === '"' || char === "'" || char === "`") {
      let decoded = "";
      index++;
      for (;;) {
        if (index >= query.length) throw new Error(`unterminated string in ${query}`);
        const inner = query[index]!;
        if (inner === char) break;
        if (char !== "`" && inner === "\n") throw new Error(`newline in a string in ${query}`);
        if (char !== "`" && inner === "\\") {
          const next = query[index + 1]!;
          const simple: Record<string, string> = {
            n: "\n",
            r: "\r",
            t: "\t",
            "\\": "\\",
            '"': '"',
            "'": "'",
          };
          if (next in simple) {
            decoded += simple[next];
            index += 2;
          } else if (next === "x") {
            decoded += String.fromCharCode(parseInt(query.slice(index + 2, index + 4), 16));
            index += 4;
          } else {
            throw new Error(`unknown escape \\${next} in ${query}`);
          }
          continue;
        }
        decoded += inner;
        index++;
      }
      index++;
      shape += "S";
      strings.push(decoded);
    } else {
      shape += char;
      index++;
    }
  }
  return { shape, strings };
}

describe("escaping a value into a PromQL template", () => {
  it("keeps the injection string inside its label value", () => {
    const template = 'sum(rate(http_requests_total{service="{{service}}"}[{{interval}}]))';
    const query = renderQuery(template, { ...variables, service: INJECTION });
    expect(query).toBe('sum(rate(http_requests_total{service="a\\"} or vector(1) #"}[1m]))');
    expect(lexPromql(query)).toEqual({
      shape: "sum(rate(http_requests_total{service=S}[1m]))",
      strings: [INJECTION],
    });
  });

  it("escapes backslash, both quotes, newline and control characters", () => {
    expect(escapePromqlString("back\\slash \"double\" 'single'\nnew\rline\ttab\u0000nul\u007f")).toBe(
      "back\\\\slash \\\"double\\\" 'single'\\nnew\\rline\\ttab\\x00nul\\x7f",
    );
    expect(escapePromqlString("it's", "'")).toBe("it\\'s");
  });

  it("quotes regex metacharacters after =~ and !~, so the value matches literally", () => {
    const template = 'x{a=~"{{service}}", b!~ "{{version}}-.*", c="{{version}}"}';
    const query = renderQuery(template, { ...variables, service: "a.b|c", version: "2.4.0" });
    expect(query).toBe('x{a=~"a\\\\.b\\\\|c", b!~ "2\\\\.4\\\\.0-.*", c="2.4.0"}');
    expect(escapeRegex("a.b*c+d?(e)[f]{g}^h$i|j\\k")).toBe(
      "a\\.b\\*c\\+d\\?\\(e\\)\\[f\\]\\{g\\}\\^h\\$i\\|j\\\\k",
    );
  });

  it("handles single-quoted and raw strings by their own rules", () => {
    expect(renderQuery("x{a='{{service}}'}", { ...variables, service: "o'brien" })).toBe("x{a='o\\'brien'}");
    expect(renderQuery("x{a=~`{{version}}`}", variables)).toBe("x{a=~`2\\.4\\.0`}");
    expect(() => renderQuery("x{a=`{{service}}`}", { ...variables, service: "a`b" })).toThrow(/backtick/);
  });

  it("leaves comments and text around placeholders as written, and allows spaces in braces", () => {
    const template =
      '# error ratio of {{service}}\nx{ns="{{ namespace }}", a="pre-{{service}}-post", b="\\"{{version}}"}';
    expect(renderQuery(template, variables)).toBe(
      '# error ratio of {{service}}\nx{ns="shop", a="pre-checkout-post", b="\\"2.4.0"}',
    );
  });

  it("cannot change the query's structure, whatever the value (property)", () => {
    const template =
      'sum(rate(m{ns="{{namespace}}", s=~"{{service}}|{{canary}}", v=\'{{version}}\'}[{{interval}}])) # {{service}}';
    const templateShape = lexPromql(
      template.replaceAll("{{interval}}", "1m").replace(/\{\{\w+\}\}/g, ""),
    ).shape;
    const value = fc.oneof(
      fc.string({ unit: "binary", minLength: 1 }),
      fc.constantFrom(INJECTION, "\\", '"', "'", "\n", "`", "#", "}", "{{service}}", '\\"} or vector(1) #'),
    );
    fc.assert(
      fc.property(value, value, value, value, (namespace, service, canary, version) => {
        const query = renderQuery(template, { ...variables, namespace, service, canary, version });
        const lexed = lexPromql(query);
        expect(lexed.shape).toBe(templateShape);
        expect(lexed.strings[0]).toBe(namespace);
        expect(lexed.strings[2]).toBe(version);
        // The regex matches exactly the two values, and nothing that merely resembles them.
        const regex = new RegExp(`^(?:${lexed.strings[1]})$`, "s");
        expect(regex.test(service)).toBe(true);
        expect(regex.test(canary)).toBe(true);
        if (service !== canary && !service.includes("\n")) {
          expect(regex.test(`${service}x`)).toBe(false);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe("durations outside strings", () => {
  it.each(["30s", "1m", "1h30m", "90s", "1d", "250ms", "1w2d", "5m0s"])("accepts %s", (interval) => {
    expect(isPromqlDuration(interval)).toBe(true);
    expect(renderQuery("rate(x[{{interval}}])", { interval })).toBe(`rate(x[${interval}])`);
  });

  it.each([
    "",
    "0s",
    "0m0s",
    "1m1h",
    "30",
    "1.5m",
    "-1m",
    " 1m",
    "1m ",
    "5m])) or vector(1) #",
    "1M",
    "10000000000s",
  ])("refuses %j", (interval) => {
    expect(isPromqlDuration(interval)).toBe(false);
    expect(() => renderQuery("rate(x[{{interval}}])", { interval })).toThrow(
      /\{\{interval\}\} must be a duration/,
    );
  });
});

describe("template errors", () => {
  const attempt = (template: string, values: TemplateVariables = variables): TemplateError => {
    try {
      renderQuery(template, values);
    } catch (error) {
      if (error instanceof TemplateError) return error;
      throw error;
    }
    throw new Error(`rendered without an error: ${template}`);
  };

  it("names an unknown variable and lists the known ones", () => {
    const error = attempt('x{a="{{servce}}"}');
    expect(error.variable).toBe("servce");
    expect(error.offset).toBe(5);
    expect(error.message).toMatch(
      /^unknown variable \{\{servce\}\} at offset 5; known variables: \{\{namespace\}\}/,
    );
  });

  it("refuses a string variable outside a quoted string", () => {
    const error = attempt("x{a={{service}}}");
    expect(error.variable).toBe("service");
    expect(error.message).toMatch(/outside a quoted string; put it inside double quotes/);
  });

  it("names a variable this release has no value for", () => {
    const error = attempt('x{v="{{stableVersion}}"}');
    expect(error.variable).toBe("stableVersion");
    expect(error.message).toMatch(/\{\{stableVersion\}\} has no value for this release/);
  });

  it("refuses an empty value, which would match series without the label", () => {
    expect(attempt('x{v="{{version}}"}', { ...variables, version: "" }).message).toMatch(
      /\{\{version\}\} is empty/,
    );
  });

  it("reports unterminated strings and malformed placeholders", () => {
    expect(attempt('x{a="{{service}}}').message).toMatch(/unterminated string starting at offset 4/);
    expect(attempt('x{a="b\n"}').message).toMatch(/unterminated string/);
    expect(attempt('x{a="{{ service"}').message).toMatch(/malformed placeholder at offset 5/);
    expect(attempt("x{a='{{service-name}}'}").message).toMatch(/malformed placeholder/);
  });

  it("lists every problem of a template at once without values", () => {
    expect(checkQueryTemplate('x{a="{{nope}}"} + y{b={{service}}}[{{interval}}]')).toEqual([
      expect.stringMatching(/^unknown variable \{\{nope\}\}/),
      expect.stringMatching(/^\{\{service\}\} at offset \d+ is outside a quoted string/),
    ]);
    expect(checkQueryTemplate('x{a="{{service}}}')).toEqual([expect.stringMatching(/unterminated string/)]);
    expect(variablesUsed('x{a="{{service}}", b="{{version}}", c="{{service}}"}[{{interval}}]')).toEqual([
      "service",
      "version",
      "interval",
    ]);
  });
});

describe("the built-in queries", () => {
  it.each(Object.entries(builtinQueries))("%s is a well-formed template", (_name, builtin) => {
    expect(checkQueryTemplate(builtin.query)).toEqual([]);
    for (const name of variablesUsed(builtin.query)) expect(Object.keys(templateVariables)).toContain(name);
    const query = renderQuery(builtin.query, {
      ...variables,
      service: INJECTION,
      analysedService: INJECTION,
    });
    expect(lexPromql(query).strings).not.toHaveLength(0);
  });

  it("guard error ratios against zero traffic: errors default to 0, requests never do", () => {
    for (const name of [
      "http-error-ratio",
      "gateway-error-ratio",
      "istio-error-ratio",
      "nginx-error-ratio",
    ] as const) {
      const [numerator, denominator] = builtinQueries[name].query.split("\n/\n");
      expect(numerator).toMatch(/or vector\(0\)/);
      expect(denominator).not.toMatch(/or vector/);
    }
  });
});

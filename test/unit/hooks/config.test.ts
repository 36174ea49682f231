import { describe, expect, it } from "vitest";
import { ControllerConfigError, parseControllerConfig } from "../../../src/api/index.ts";

describe("the hooks section of the controller configuration", () => {
  it("is off unless a token source is named", () => {
    expect(parseControllerConfig({}).hooks).toEqual({});
  });

  it("names the token's file or environment variable, with defaults for the rest", () => {
    expect(
      parseControllerConfig({ hooks: { alertmanager: { token: { file: "/etc/glidepath/hooks/token" } } } })
        .hooks,
    ).toEqual({
      alertmanager: { token: { file: "/etc/glidepath/hooks/token" }, maxBodyBytes: 1048576, retention: "1h" },
    });
    expect(
      parseControllerConfig({ hooks: { alertmanager: { token: { env: "GLIDEPATH_HOOK_TOKEN" } } } }).hooks
        .alertmanager?.token,
    ).toEqual({ env: "GLIDEPATH_HOOK_TOKEN" });
  });

  it("refuses a token written into the configuration itself, or an unknown key", () => {
    const inline = () => parseControllerConfig({ hooks: { alertmanager: { token: "s3cr3t" } } });
    expect(inline).toThrow(ControllerConfigError);
    expect(inline).not.toThrow(/s3cr3t/);
    expect(() => parseControllerConfig({ hooks: { tokenFile: "/x" } })).toThrow(/tokenFile/);
    expect(() =>
      parseControllerConfig({ hooks: { alertmanager: { token: { env: "not a name" } } } }),
    ).toThrow(/environment variable name/);
  });
});

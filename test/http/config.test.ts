import { describe, expect, it } from "vitest";
import { ConfigError, DEFAULT_BUILDER_IMAGE, loadConfig, loadHookOptions } from "../../src/server/config.js";

const noFiles = (p: string): string => {
  throw new Error(`ENOENT ${p}`);
};

describe("loadConfig", () => {
  it("defaults to port 8080, info logs and no auth", () => {
    const c = loadConfig({}, noFiles);
    expect(c).toMatchObject({
      port: 8080,
      logLevel: "info",
      authToken: undefined,
      hooksOptions: { builderImage: DEFAULT_BUILDER_IMAGE },
    });
  });

  it("passes the builder image through to the hooks and treats empty values as unset", () => {
    const c = loadConfig({ PORT: "", BIB_BUILDER_IMAGE: "ghcr.io/x/builder:1" }, noFiles);
    expect(c.port).toBe(8080);
    expect(c.hooksOptions).toEqual({ builderImage: "ghcr.io/x/builder:1" });
  });

  it("gives `bib render` the hooks' options as the service reads them, ignoring the service's own variables", () => {
    const env = { BIB_BUILDER_IMAGE: "ghcr.io/x/builder:1", LOG_LEVEL: "debug" };
    expect(loadHookOptions(env)).toEqual(loadConfig(env, noFiles).hooksOptions);
    expect(loadHookOptions({ BIB_BUILDER_IMAGE: "", PORT: "http" })).toEqual({
      builderImage: DEFAULT_BUILDER_IMAGE,
    });
  });

  it("names the variable in errors", () => {
    expect(() => loadConfig({ PORT: "http" }, noFiles)).toThrow(/PORT: /);
    expect(() => loadConfig({ PORT: "70000" }, noFiles)).toThrow(/PORT: /);
    expect(() => loadConfig({ LOG_LEVEL: "loud" }, noFiles)).toThrow(/LOG_LEVEL: /);
    expect(() => loadConfig({ BIB_AUTH_TOKEN_FILE: "/nope" }, noFiles)).toThrow(ConfigError);
    expect(() => loadConfig({ BIB_AUTH_TOKEN_FILE: "/nope" }, noFiles)).toThrow(
      /BIB_AUTH_TOKEN_FILE: cannot read \/nope/,
    );
  });

  it("reads the token from a file, without the trailing newline, and prefers it over the env", () => {
    const c = loadConfig({ BIB_AUTH_TOKEN_FILE: "/t", BIB_AUTH_TOKEN: "env" }, () => "abc\n");
    expect(c.authToken).toBe("abc");
    expect(loadConfig({ BIB_AUTH_TOKEN: "env" }, noFiles).authToken).toBe("env");
    expect(() => loadConfig({ BIB_AUTH_TOKEN_FILE: "/t" }, () => "\n")).toThrow(
      /BIB_AUTH_TOKEN_FILE: .* empty/,
    );
  });
});

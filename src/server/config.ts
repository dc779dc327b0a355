// The hook service's configuration, parsed from the environment once at start-up and passed down.
// Nothing else in the service reads `process.env`.
import { readFileSync } from "node:fs";
import { z } from "zod";
import type { HookOptions } from "../hooks/index.js";

export const DEFAULT_PORT = 8080;
/** The release's own builder image; BIB_BUILDER_IMAGE overrides it (e.g. a mirror or a digest). */
export const DEFAULT_BUILDER_IMAGE = "ghcr.io/bib-dev/bib-builder:0.1.0";

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** What the hook functions are configured with; `bib render` reads exactly these. */
const hookEnvSchema = z.object({
  /** Default builder image for build and cleanup Jobs when the spec names none. */
  BIB_BUILDER_IMAGE: z.string().min(1).default(DEFAULT_BUILDER_IMAGE),
});

const envSchema = hookEnvSchema.extend({
  PORT: z.coerce.number().int().min(1).max(65535).default(DEFAULT_PORT),
  /**
   * When set, /metrics is served on this port only and the hook port serves the hooks and probes,
   * so that a NetworkPolicy can admit the metrics scraper to the metrics alone.
   */
  BIB_METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  LOG_LEVEL: z.enum(LOG_LEVELS).default("info"),
  /** File holding the bearer token Metacontroller sends (`webhook.authorization`); unset: no auth. */
  BIB_AUTH_TOKEN_FILE: z.string().min(1).optional(),
  /** Same token given directly (for local runs); the file wins when both are set. */
  BIB_AUTH_TOKEN: z.string().min(1).optional(),
  /** How long SIGTERM waits for in-flight requests before exiting anyway. */
  BIB_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).max(120_000).default(20_000),
  /**
   * How long SIGTERM keeps serving (readiness already false) before closing the listener, so that
   * the endpoint removal reaches every kube-proxy and Metacontroller stops sending requests here.
   */
  BIB_SHUTDOWN_DELAY_MS: z.coerce.number().int().min(0).max(60_000).default(0),
  /** Listen address; all interfaces by default (the Pod IP). */
  BIB_LISTEN_HOST: z.string().min(1).default("0.0.0.0"),
});

export interface ServerConfig {
  port: number;
  /** Port of the separate metrics listener; undefined: /metrics on the hook port. */
  metricsPort: number | undefined;
  logLevel: (typeof LOG_LEVELS)[number];
  /** The expected bearer token, or undefined when the service does not check one. */
  authToken: string | undefined;
  shutdownTimeoutMs: number;
  shutdownDelayMs: number;
  host: string;
  /** Passed through to the hook functions unchanged. */
  hooksOptions: HookOptions;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

export type Env = Record<string, string | undefined>;
export type ReadFile = (path: string) => string;

/** Every error names the variable (e.g. `PORT: ...`). */
function parseEnv<S extends z.ZodType>(schema: S, env: Env): z.output<S> {
  // Empty strings mean "unset", as Kubernetes renders an env var with an empty value.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`invalid configuration: ${lines.join("; ")}`);
  }
  return parsed.data;
}

function hookOptions(e: z.output<typeof hookEnvSchema>): HookOptions {
  return { builderImage: e.BIB_BUILDER_IMAGE };
}

/** The hook functions' options alone, for `bib render`: the service's variables do not concern it. */
export function loadHookOptions(env: Env): HookOptions {
  return hookOptions(parseEnv(hookEnvSchema, env));
}

/** Parses the environment; every error names the variable (e.g. `PORT: ...`). */
export function loadConfig(env: Env, readFile: ReadFile = (p) => readFileSync(p, "utf8")): ServerConfig {
  const e = parseEnv(envSchema, env);
  return {
    port: e.PORT,
    metricsPort: e.BIB_METRICS_PORT,
    logLevel: e.LOG_LEVEL,
    authToken: readToken(e.BIB_AUTH_TOKEN_FILE, e.BIB_AUTH_TOKEN, readFile),
    shutdownTimeoutMs: e.BIB_SHUTDOWN_TIMEOUT_MS,
    shutdownDelayMs: e.BIB_SHUTDOWN_DELAY_MS,
    host: e.BIB_LISTEN_HOST,
    hooksOptions: hookOptions(e),
  };
}

function readToken(file: string | undefined, inline: string | undefined, readFile: ReadFile) {
  if (file === undefined) return inline;
  let text: string;
  try {
    text = readFile(file);
  } catch (cause) {
    throw new ConfigError(`BIB_AUTH_TOKEN_FILE: cannot read ${file}`, { cause });
  }
  // A Secret mounted as a file often ends with a newline that is not part of the token.
  const token = text.trim();
  if (!token) throw new ConfigError(`BIB_AUTH_TOKEN_FILE: ${file} is empty`);
  return token;
}

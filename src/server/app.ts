// The hook service as an Express app, built by a function and never listening itself, so that HTTP
// tests need no port. Each hook route parses Metacontroller's envelope once (400 naming the zod
// issue paths), calls the pure hook function with the parsed value, and answers 200 with the whole
// response or 500 with a short message: Metacontroller treats a 200 as the complete desired state
// and deletes every observed child missing from it, so a partial 200 would be destructive, while any
// non-200 only makes it retry with backoff (Metacontroller docs, "Sync Hook Response").
import { randomUUID } from "node:crypto";
import express, { type NextFunction, type Request, type Response } from "express";
import type { Logger } from "pino";
import type { z } from "zod";
import { formatPath } from "../api/validate.js";
import type { Hooks } from "../hooks/index.js";
import { customizeRequestSchema, syncRequestSchema } from "../hooks/types.js";
import { reusable, type AnswerCache } from "./answer-cache.js";
import { bearerChecker } from "./auth.js";
import { bodyError } from "./body-errors.js";
import { oncePerInterval } from "./log-limiter.js";
import type { Metrics, Outcome } from "./metrics.js";
import { loggableRequest, requestNestingIssue } from "./request-depth.js";

export interface AppOptions {
  hooks: Hooks;
  logger: Logger;
  metrics: Metrics;
  /** Expected bearer token; when set, every hook route answers 401 without it. */
  auth?: { token: string } | undefined;
  /** Readiness: false while shutting down, so the Service stops routing to this replica. */
  isReady?: () => boolean;
  clock?: () => Date;
  /** Reuses answers to byte-identical requests (see answer-cache.ts); off when absent. */
  answerCache?: AnswerCache | undefined;
  /** Serve GET /metrics here too (default); off when a separate listener serves it (createMetricsApp). */
  metricsRoute?: boolean;
}

/**
 * Express's default JSON limit (100 kB) answers 413, which Metacontroller retries forever. A sync
 * request carries the parent, every child and related object (each at most ~1.5 MiB in etcd).
 */
export const BODY_LIMIT = "32mb";

type HookName = "customize" | "sync" | "finalize";

/** At most one warn line per this interval for unauthorized requests; the metric counts them all. */
export const UNAUTHORIZED_LOG_INTERVAL_MS = 60_000;

export function createApp(opts: AppOptions) {
  const { hooks, logger, metrics } = opts;
  const clock = opts.clock ?? (() => new Date());
  const isReady = opts.isReady ?? (() => true);
  const authorized = opts.auth ? bearerChecker(opts.auth.token) : undefined;
  const unauthorizedLog = oncePerInterval(UNAUTHORIZED_LOG_INTERVAL_MS);

  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);

  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  app.get("/readyz", (_req, res) => {
    if (isReady()) res.json({ status: "ready" });
    else res.status(503).json({ status: "shutting down" });
  });
  if (opts.metricsRoute !== false) app.get("/metrics", metricsHandler(metrics));

  const route = <S extends z.ZodType>(name: HookName, schema: S, call: (body: z.output<S>) => unknown) => {
    app.post(
      `/${name}`,
      (req, res, next) => {
        if (!authorized || authorized(req.get("authorization"))) return next();
        metrics.requests.inc({ hook: name, outcome: "unauthorized" });
        unauthorizedLog((suppressed) =>
          requestLogger(logger, req, name).warn(
            { status: 401, suppressed },
            "unauthorized hook request (further ones this minute are only counted in bib_hook_requests_total)",
          ),
        );
        res.status(401).set("WWW-Authenticate", "Bearer").json({ error: "unauthorized" });
      },
      express.json({
        limit: BODY_LIMIT,
        strict: true,
        type: () => true,
        // Keeps a reference to the bytes (no copy) for the answer cache's key.
        verify: (req, _res, buf) => {
          (req as Request & { rawBody?: Buffer }).rawBody = buf;
        },
      }),
      (req, res) => handle(name, schema, call, req, res),
    );
  };

  const handle = <S extends z.ZodType>(
    name: HookName,
    schema: S,
    call: (body: z.output<S>) => unknown,
    req: Request,
    res: Response,
  ) => {
    const started = process.hrtime.bigint();
    const log = requestLogger(logger, req, name, req.body);
    const finish = (status: number, outcome: Outcome, body: string) => {
      metrics.requests.inc({ hook: name, outcome });
      metrics.duration.observe({ hook: name }, Number(process.hrtime.bigint() - started) / 1e9);
      res.status(status).type("application/json").send(body);
    };

    const raw = (req as Request & { rawBody?: Buffer }).rawBody;
    const key = opts.answerCache && raw ? opts.answerCache.key(name, raw) : undefined;
    const cached = key ? opts.answerCache!.get(key) : undefined;
    if (cached !== undefined) {
      log.info({ status: 200, cached: true }, "hook answered");
      return finish(200, "ok", cached);
    }

    const tooDeep = requestNestingIssue(req.body);
    if (tooDeep) {
      log.warn({ status: 400, issues: [tooDeep] }, "bad hook request");
      return finish(400, "bad_request", JSON.stringify({ error: "invalid request", issues: [tooDeep] }));
    }
    const parsed = schema.safeParse(req.body);
    if (!parsed.success) {
      const issues = parsed.error.issues.map(
        (i) => `${formatPath("", i.path) || "(body)"}: ${issueMessage(i)}`,
      );
      log.warn({ status: 400, issues }, "bad hook request");
      return finish(400, "bad_request", JSON.stringify({ error: "invalid request", issues }));
    }

    let body: string;
    let response: Record<string, unknown>;
    try {
      response = pickResponse(name, call(parsed.data));
      // Serialise before answering: a failure here must become a 500, never a partial 200.
      body = JSON.stringify(response);
    } catch (err) {
      log.error({ err, status: 500 }, "hook failed");
      return finish(500, "error", JSON.stringify({ error: `internal error in ${name} hook` }));
    }
    const buildId = (response.status as { buildId?: unknown } | undefined)?.buildId;
    const done = typeof buildId === "string" ? log.child({ buildId }) : log;
    if (done.isLevelEnabled("debug"))
      done.debug({ request: loggableRequest(req.body), response }, "hook exchange");
    done.info(
      { status: 200, children: (response.children as unknown[] | undefined)?.length },
      "hook answered",
    );
    if (key && reusable(response)) opts.answerCache!.set(key, body);
    finish(200, "ok", body);
  };

  route("customize", customizeRequestSchema, (body) => hooks.customize(body));
  route("sync", syncRequestSchema, (body) => hooks.sync(body, clock()));
  route("finalize", syncRequestSchema, (body) => hooks.finalize(body, clock()));

  app.use((_req, res) => {
    res.status(404).json({ error: "not found" });
  });

  // Body-parser errors (the client's: a 4xx and a warn line without a stack) and anything else
  // thrown outside the hook call (a bug: a 500 and an error line with the stack).
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const hook = hookOf(req.path);
    const log = requestLogger(logger, req, hook ?? req.path);
    const refused = bodyError(err, BODY_LIMIT);
    if (refused) {
      if (hook) metrics.requests.inc({ hook, outcome: "bad_request" });
      log.warn(
        { status: refused.status, reason: refused.reason },
        `request body refused: ${refused.message}`,
      );
      res.status(refused.status).json({ error: refused.message });
      return;
    }
    if (hook) metrics.requests.inc({ hook, outcome: "error" });
    log.error({ err, status: 500 }, "request failed");
    res.status(500).json({ error: "internal error" });
  });

  return app;
}

/** The metrics listener's app: GET /metrics and nothing else, so its port can be opened to a scraper. */
export function createMetricsApp(metrics: Metrics) {
  const app = express();
  app.disable("x-powered-by");
  app.get("/metrics", metricsHandler(metrics));
  app.use((_req, res) => {
    res.status(404).json({ error: "not found" });
  });
  return app;
}

function metricsHandler(metrics: Metrics) {
  return async (_req: Request, res: Response, next: NextFunction) => {
    try {
      res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    } catch (err) {
      next(err);
    }
  };
}

function hookOf(path: string): HookName | undefined {
  const name = path.replace(/^\//, "");
  return name === "customize" || name === "sync" || name === "finalize" ? name : undefined;
}

/** A child logger carrying a request id and, once parsed, the parent's namespace and name. */
function requestLogger(logger: Logger, req: Request, hook: string, body?: unknown): Logger {
  const header = req.get("x-request-id");
  const requestId = header && header.length <= 128 ? header : randomUUID();
  const meta = (body as { parent?: { metadata?: { name?: unknown; namespace?: unknown } } } | undefined)
    ?.parent?.metadata;
  return logger.child({
    requestId,
    hook,
    ...(typeof meta?.namespace === "string" ? { namespace: meta.namespace } : {}),
    ...(typeof meta?.name === "string" ? { name: meta.name } : {}),
  });
}

/**
 * Only the fields Metacontroller's response types declare: v2 hooks decode strictly and reject any
 * unknown top-level field (Metacontroller docs, "Hook versions").
 */
function pickResponse(hook: HookName, value: unknown): Record<string, unknown> {
  if (typeof value !== "object" || value === null) throw new Error(`${hook} returned no object`);
  const v = value as Record<string, unknown>;
  const keys =
    hook === "customize" ? ["relatedResources"] : ["status", "children", "resyncAfterSeconds", "finalized"];
  return Object.fromEntries(keys.filter((k) => v[k] !== undefined).map((k) => [k, v[k]]));
}

function issueMessage(issue: z.core.$ZodIssue): string {
  // "required" reads better than zod's "expected string, received undefined" for a missing field.
  if (issue.code === "invalid_type" && /received undefined/.test(issue.message)) return "required";
  return issue.message;
}

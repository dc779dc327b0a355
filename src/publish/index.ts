// Runs the publishers a plan configures and merges what they report into one BuildResult.
import type { BuildResult } from "../api/schema.js";
import { awsPublisher, type AwsPublisherOptions } from "./aws/publisher.js";
import { ociPublisher } from "./oci.js";
import { s3Publisher, type S3PublisherOptions } from "./s3.js";
import type { PublishContext, Publisher } from "./types.js";
import { volumePublisher, type LocationStyle } from "./volume.js";

export interface PublishAllOptions {
  /**
   * `pvc` in the build Pod (default): publish.volume entries read `pvc://<claim>/<path><file>`.
   * `file` on one machine (`bib build`, `bib publish`): volumeRoot is the output directory,
   * publish.volume copies into `<output>/<path>`, and when publish.volume is not set the artifacts
   * are reported where they already are, as `file://` locations.
   */
  location?: LocationStyle;
  /** Environment for endpoint overrides (AWS_ENDPOINT_URL*, AWS_REGION); default process.env. */
  env?: NodeJS.ProcessEnv;
  aws?: Omit<AwsPublisherOptions, "env">;
  s3?: Omit<S3PublisherOptions, "env">;
}

/** The publishers for a plan, in the order they run: cheapest first, the AMI last. */
export function publishersFor(ctx: PublishContext, options: PublishAllOptions = {}): Publisher[] {
  const env = options.env ?? process.env;
  const { volume, s3, oci, aws } = ctx.plan.publish;
  const list: Publisher[] = [];
  if (volume) list.push(volumePublisher(options.location ?? "pvc"));
  if (s3) list.push(s3Publisher({ ...options.s3, env }));
  if (oci) list.push(ociPublisher());
  if (aws) list.push(awsPublisher({ ...options.aws, env }));
  return list;
}

export function mergeResults(results: BuildResult[]): BuildResult {
  return { artifacts: results.flatMap((r) => r.artifacts), images: results.flatMap((r) => r.images) };
}

/** Publishes to every configured target, one after the other; the first failure stops the rest. */
export async function publishAll(ctx: PublishContext, options: PublishAllOptions = {}): Promise<BuildResult> {
  const results: BuildResult[] = [];
  if (options.location === "file" && !ctx.plan.publish.volume) {
    results.push({
      artifacts: ctx.artifacts.map((a) => ({
        format: a.format,
        size: a.size,
        sha256: a.sha256,
        location: `file://${a.path}`,
      })),
      images: [],
    });
  }
  for (const publisher of publishersFor(ctx, options)) {
    ctx.signal?.throwIfAborted();
    const started = Date.now();
    ctx.log.info({ target: publisher.target }, "publishing");
    const result = await publisher.publish(ctx);
    ctx.log.info({ target: publisher.target, seconds: (Date.now() - started) / 1000 }, "published");
    results.push(result);
  }
  return mergeResults(results);
}

export type { PublishContext, Publisher } from "./types.js";

// AWS-style credentials for the s3 and aws publishers: from the files the build's Secret projects
// into the secrets directory, or, without a credentialsSecretRef, the SDK's default chain
// (environment, IRSA web identity, instance profile).
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { AwsCredentialFiles } from "../plan/plan.js";

export interface StaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return (await readFile(file, "utf8")).trim() || undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/**
 * Static credentials from the secrets directory, or undefined to let the SDK use its default chain.
 * The error names the file, never its content.
 */
export async function readAwsCredentials(
  target: string,
  secretsDir: string,
  files: AwsCredentialFiles | undefined,
): Promise<StaticCredentials | undefined> {
  if (!files) return undefined;
  const accessKeyId = await readOptional(path.join(secretsDir, files.accessKeyId));
  const secretAccessKey = await readOptional(path.join(secretsDir, files.secretAccessKey));
  const sessionToken = await readOptional(path.join(secretsDir, files.sessionToken));
  if (!accessKeyId || !secretAccessKey) {
    const missing = !accessKeyId ? files.accessKeyId : files.secretAccessKey;
    throw new Error(`${target}: credentials file ${missing} is missing or empty in the secrets directory`);
  }
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

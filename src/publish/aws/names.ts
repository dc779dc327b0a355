// AMI names from `publish.aws.name`, a Go-template-like string with a few variables. The values
// come from the build, never from the clock here, so a retried build renders the same name.
import type { AMI_NAME_VARS } from "../../api/schema.js";

export interface AmiNameVars {
  name: string;
  namespace: string;
  buildId: string;
  /** Unix seconds of the build's start. */
  timestamp: number;
}

const VAR = /\{\{\s*\.([A-Za-z]+)\s*\}\}/g;

function yyyymmdd(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().slice(0, 10).replaceAll("-", "");
}

/**
 * `{{.Timestamp}}` is Unix seconds, which is what Cluster API Provider AWS's default lookup
 * (`capa-ami-<os>-<k8s version>-*`, newest by creation date) expects after the version.
 */
export function renderAmiName(template: string, vars: AmiNameVars): string {
  const values: Record<(typeof AMI_NAME_VARS)[number], string> = {
    Name: vars.name,
    Namespace: vars.namespace,
    BuildID: vars.buildId,
    Timestamp: String(Math.floor(vars.timestamp)),
    Date: yyyymmdd(vars.timestamp),
  };
  const rendered = template.replace(VAR, (match, variable: string) => {
    if (!(variable in values)) throw new Error(`publish.aws.name: unknown template variable ${match}`);
    return values[variable as keyof typeof values];
  });
  if (rendered.length < 3 || rendered.length > 128) {
    throw new Error(`publish.aws.name: "${rendered}" must be 3 to 128 characters long`);
  }
  if (!/^[a-zA-Z0-9()[\]./\-_'@ ]+$/.test(rendered)) {
    throw new Error(`publish.aws.name: "${rendered}" has characters AMI names do not allow`);
  }
  return rendered;
}

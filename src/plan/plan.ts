// spec -> resolved build plan. One plan, two executors: the build Job (plan in a ConfigMap) and
// `bib build` (plan in a local workspace) run the same stages over it.
import { ANNOTATION_REBUILD } from "../api/constants.js";
import type { ImageBuildSpec } from "../api/schema.js";
import { quantityToBytes } from "../api/quantity.js";
import { validateSpec, type FieldError } from "../api/validate.js";
import { childName, computeBuildId } from "./names.js";
import type {
  AwsCredentialFiles,
  BasePlan,
  BuildPlan,
  PlaybookSource,
  ProvisionerPlan,
  PublishPlan,
  SecretProjection,
} from "./plan-schema.js";

export type * from "./plan-schema.js";

export interface ParentObject {
  metadata: { name: string; namespace?: string | undefined; annotations?: Record<string, string> | null };
  spec?: unknown;
}

export type PlanResult =
  { ok: true; plan: BuildPlan; buildId: string } | { ok: false; errors: FieldError[]; buildId: string };

export function rebuildAnnotation(parent: ParentObject): string | undefined {
  return parent.metadata.annotations?.[ANNOTATION_REBUILD];
}

export function resolvePlan(parent: ParentObject): PlanResult {
  const buildId = computeBuildId(parent.spec, rebuildAnnotation(parent));
  const validation = validateSpec(parent.spec);
  if (!validation.ok) return { ok: false, errors: validation.errors, buildId };
  const identity = { name: parent.metadata.name, namespace: parent.metadata.namespace ?? "default" };
  return { ok: true, buildId, plan: planFromSpec(validation.spec, identity, buildId) };
}

function awsCredentials(target: string): AwsCredentialFiles {
  return {
    accessKeyId: `${target}.AWS_ACCESS_KEY_ID`,
    secretAccessKey: `${target}.AWS_SECRET_ACCESS_KEY`,
    sessionToken: `${target}.AWS_SESSION_TOKEN`,
  };
}

function awsProjections(target: string, secretName: string): SecretProjection[] {
  const files = awsCredentials(target);
  return [
    { name: secretName, key: "AWS_ACCESS_KEY_ID", file: files.accessKeyId, optional: false },
    { name: secretName, key: "AWS_SECRET_ACCESS_KEY", file: files.secretAccessKey, optional: false },
    { name: secretName, key: "AWS_SESSION_TOKEN", file: files.sessionToken, optional: true },
  ];
}

export const OCI_DOCKER_CONFIG_FILE = "oci.dockerconfigjson";

export function planFromSpec(
  spec: ImageBuildSpec,
  imageBuild: { name: string; namespace: string },
  buildId: string,
): BuildPlan {
  const assets: Record<string, string> = {};
  const secrets: SecretProjection[] = [];

  const files = spec.files.map((file, i) => {
    const asset = `file-${i}`;
    assets[asset] = file.content;
    return { path: file.path, mode: (file.mode ?? "0644").padStart(4, "0"), asset };
  });

  const provisioners = spec.provisioners.map((p, i): ProvisionerPlan => {
    if (p.shell) {
      const asset = `provisioner-${i}-script.sh`;
      assets[asset] = p.shell.script;
      return { type: "shell", name: p.name ?? `shell-${i}`, asset };
    }
    const ansible = p.ansible!;
    let playbook: PlaybookSource;
    if (ansible.playbook !== undefined) {
      const asset = `provisioner-${i}-playbook.yml`;
      assets[asset] = ansible.playbook;
      playbook = { source: "asset", asset };
    } else if (ansible.configMapRef) {
      playbook = { source: "configMap", ...ansible.configMapRef };
    } else {
      const git = ansible.git!;
      playbook = { source: "git", url: git.url, path: git.path, ...(git.ref ? { ref: git.ref } : {}) };
    }
    const plan: ProvisionerPlan = {
      type: "ansible",
      name: p.name ?? `ansible-${i}`,
      playbook,
      extraVars: ansible.extraVars ?? {},
    };
    if (ansible.extraVarsSecretRef) {
      plan.extraVarsFile = `provisioner-${i}.extra-vars`;
      secrets.push({ ...ansible.extraVarsSecretRef, file: plan.extraVarsFile, optional: false });
    }
    return plan;
  });

  const publish: PublishPlan = {};
  const { volume, s3, oci, aws } = spec.publish;
  if (volume) publish.volume = { claimName: volume.claimName, path: volume.path };
  if (s3) {
    const { credentialsSecretRef, ...rest } = s3;
    publish.s3 = { ...rest, ...(credentialsSecretRef ? { credentials: awsCredentials("s3") } : {}) };
    if (credentialsSecretRef) secrets.push(...awsProjections("s3", credentialsSecretRef.name));
  }
  if (oci) {
    const { credentialsSecretRef, ...rest } = oci;
    publish.oci = {
      ...rest,
      ...(credentialsSecretRef ? { credentials: { dockerConfigJson: OCI_DOCKER_CONFIG_FILE } } : {}),
    };
    if (credentialsSecretRef) {
      secrets.push({
        name: credentialsSecretRef.name,
        key: ".dockerconfigjson",
        file: OCI_DOCKER_CONFIG_FILE,
        optional: false,
      });
    }
  }
  if (aws) {
    const { credentialsSecretRef, ...rest } = aws;
    publish.aws = { ...rest, ...(credentialsSecretRef ? { credentials: awsCredentials("aws") } : {}) };
    if (credentialsSecretRef) secrets.push(...awsProjections("aws", credentialsSecretRef.name));
  }

  return {
    apiVersion: "bib.dev/v1alpha1",
    kind: "BuildPlan",
    imageBuild,
    buildId,
    buildName: childName(imageBuild.name, buildId),
    base: basePlan(spec.base),
    packages: spec.packages,
    files,
    provisioners,
    kernel: { cmdline: spec.kernel.cmdline },
    disk: {
      sizeBytes: quantityToBytes(spec.disk.size)!,
      filesystem: spec.disk.filesystem,
      bootMode: spec.disk.bootMode,
    },
    formats: spec.formats,
    validate: spec.validate,
    publish,
    builder: spec.builder,
    deletionPolicy: spec.deletionPolicy,
    secrets,
    assets,
  };
}

function basePlan(base: ImageBuildSpec["base"]): BasePlan {
  if (base.image) return { type: "image", image: base.image };
  if (base.tarball) return { type: "tarball", ...base.tarball };
  const d = base.debootstrap!;
  return {
    type: "debootstrap",
    suite: d.suite,
    include: d.include ?? [],
    ...(d.mirror ? { mirror: d.mirror } : {}),
    ...(d.variant ? { variant: d.variant } : {}),
  };
}

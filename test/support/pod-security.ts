// A stand-in for Kubernetes' Pod Security admission: the checks of the Pod Security Standards
// (https://kubernetes.io/docs/concepts/security/pod-security-standards/, policy version "latest")
// over a Pod spec, each violation named as the admission controller names its check. It judges
// every field the Standards read; the levels are cumulative (restricted = baseline + its own).
import type { V1Container, V1PodSpec } from "@kubernetes/client-node";

export type PodSecurityLevel = "privileged" | "baseline" | "restricted";

/** Capabilities baseline lets a container add (the container runtimes' default set). */
const BASELINE_CAPABILITIES = new Set([
  "AUDIT_WRITE",
  "CHOWN",
  "DAC_OVERRIDE",
  "FOWNER",
  "FSETID",
  "KILL",
  "MKNOD",
  "NET_BIND_SERVICE",
  "SETFCAP",
  "SETGID",
  "SETPCAP",
  "SETUID",
  "SYS_CHROOT",
]);
const SAFE_SYSCTLS = new Set([
  "kernel.shm_rmid_forced",
  "net.ipv4.ip_local_port_range",
  "net.ipv4.ip_unprivileged_port_start",
  "net.ipv4.tcp_syncookies",
  "net.ipv4.ping_group_range",
  "net.ipv4.ip_local_reserved_ports",
  "net.ipv4.tcp_keepalive_time",
  "net.ipv4.tcp_fin_timeout",
  "net.ipv4.tcp_keepalive_intvl",
  "net.ipv4.tcp_keepalive_probes",
]);
const SELINUX_TYPES = new Set([
  "",
  "container_t",
  "container_init_t",
  "container_kvm_t",
  "container_engine_t",
]);
const RESTRICTED_VOLUMES = [
  "configMap",
  "csi",
  "downwardAPI",
  "emptyDir",
  "ephemeral",
  "persistentVolumeClaim",
  "projected",
  "secret",
];

export interface Violation {
  level: Exclude<PodSecurityLevel, "privileged">;
  check: string;
  where: string;
}

function containersOf(spec: V1PodSpec): Array<{ where: string; c: V1Container }> {
  return [
    ...(spec.initContainers ?? []).map((c) => ({ where: `initContainers ${c.name}`, c })),
    ...spec.containers.map((c) => ({ where: `containers ${c.name}`, c })),
    ...(spec.ephemeralContainers ?? []).map((c) => ({
      where: `ephemeralContainers ${c.name}`,
      c: c as V1Container,
    })),
  ];
}

function baseline(spec: V1PodSpec, annotations: Record<string, string>): Violation[] {
  const out: Violation[] = [];
  const v = (check: string, where: string) => out.push({ level: "baseline", check, where });
  const pod = spec.securityContext ?? {};
  if (pod.windowsOptions?.hostProcess) v("hostProcess", "pod");
  if (spec.hostNetwork || spec.hostPID || spec.hostIPC) v("hostNamespaces", "pod");
  for (const vol of spec.volumes ?? []) if (vol.hostPath) v("hostPathVolumes", `volume ${vol.name}`);
  const appArmorOk = (type: string | undefined) =>
    type === undefined || type === "RuntimeDefault" || type === "Localhost";
  if (!appArmorOk(pod.appArmorProfile?.type)) v("appArmorProfile", "pod");
  for (const [key, value] of Object.entries(annotations)) {
    if (key.startsWith("container.apparmor.security.beta.kubernetes.io/")) {
      if (value !== "runtime/default" && !value.startsWith("localhost/")) v("appArmorProfile", key);
    }
  }
  const seLinuxOk = (o: { type?: string; user?: string; role?: string } | undefined) =>
    !o || (SELINUX_TYPES.has(o.type ?? "") && !o.user && !o.role);
  if (!seLinuxOk(pod.seLinuxOptions)) v("seLinuxOptions", "pod");
  if (pod.seccompProfile?.type === "Unconfined") v("seccompProfile_baseline", "pod");
  for (const s of pod.sysctls ?? []) if (!SAFE_SYSCTLS.has(s.name)) v("sysctls", `sysctl ${s.name}`);
  for (const { where, c } of containersOf(spec)) {
    const sc = c.securityContext ?? {};
    if (sc.windowsOptions?.hostProcess) v("hostProcess", where);
    if (sc.privileged) v("privileged", where);
    const extra = (sc.capabilities?.add ?? []).filter((cap) => !BASELINE_CAPABILITIES.has(cap));
    if (extra.length > 0) v(`capabilities_baseline (${extra.join(", ")})`, where);
    if ((c.ports ?? []).some((p) => p.hostPort)) v("hostPorts", where);
    if (!appArmorOk(sc.appArmorProfile?.type)) v("appArmorProfile", where);
    if (!seLinuxOk(sc.seLinuxOptions)) v("seLinuxOptions", where);
    if (sc.procMount !== undefined && sc.procMount !== "Default") v("procMount", where);
    if (sc.seccompProfile?.type === "Unconfined") v("seccompProfile_baseline", where);
  }
  return out;
}

function restricted(spec: V1PodSpec): Violation[] {
  const out: Violation[] = [];
  const v = (check: string, where: string) => out.push({ level: "restricted", check, where });
  const pod = spec.securityContext ?? {};
  for (const vol of spec.volumes ?? []) {
    const types = Object.keys(vol).filter((k) => k !== "name");
    if (!types.every((t) => RESTRICTED_VOLUMES.includes(t))) v("restrictedVolumes", `volume ${vol.name}`);
  }
  if (pod.runAsUser === 0) v("runAsUser", "pod");
  const seccompSet = (t: string | undefined) => t === "RuntimeDefault" || t === "Localhost";
  for (const { where, c } of containersOf(spec)) {
    const sc = c.securityContext ?? {};
    if (sc.allowPrivilegeEscalation !== false) v("allowPrivilegeEscalation", where);
    // Also for `hostUsers: false`: only the UserNamespacesPodSecurityStandards feature gate, off by
    // default, relaxes these two for a Pod in its own user namespace.
    if ((sc.runAsNonRoot ?? pod.runAsNonRoot) !== true) v("runAsNonRoot", where);
    if (sc.runAsUser === 0) v("runAsUser", where);
    if (!seccompSet(sc.seccompProfile?.type ?? pod.seccompProfile?.type))
      v("seccompProfile_restricted", where);
    if (!(sc.capabilities?.drop ?? []).includes("ALL")) v("capabilities_restricted (drop ALL)", where);
    const added = (sc.capabilities?.add ?? []).filter((cap) => cap !== "NET_BIND_SERVICE");
    if (added.length > 0) v(`capabilities_restricted (${added.join(", ")})`, where);
  }
  return out;
}

/** Every check the Pod fails, baseline's first. */
export function podSecurityViolations(
  spec: V1PodSpec,
  annotations: Record<string, string> = {},
): Violation[] {
  return [...baseline(spec, annotations), ...restricted(spec)];
}

/** The most restrictive level whose every check the Pod passes. */
export function podSecurityLevel(
  spec: V1PodSpec,
  annotations: Record<string, string> = {},
): PodSecurityLevel {
  const violations = podSecurityViolations(spec, annotations);
  if (violations.some((x) => x.level === "baseline")) return "privileged";
  return violations.length > 0 ? "baseline" : "restricted";
}

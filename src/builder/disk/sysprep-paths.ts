// What sysprep removes and checks, as data: the list is the policy, the step only applies it.

/** Directories whose contents go (the directories stay: packages expect them to exist). */
export const EMPTIED_DIRECTORIES = [
  "/tmp",
  "/var/tmp",
  "/var/cache/apt/archives/partial",
  "/var/lib/apt/lists/partial",
  "/var/cache/debconf/tmp",
];

/** Directories walked recursively: their regular files and links go, the directory tree stays. */
export const LOG_DIRECTORIES = ["/var/log"];

/** Files removed wherever they match; `*` matches within one path component. */
export const REMOVED_GLOBS = [
  "/var/lib/dbus/machine-id",
  "/etc/ssh/ssh_host_*",
  "/var/cache/apt/*.bin",
  "/var/cache/apt/archives/*.deb",
  "/var/lib/apt/lists/*_*",
  "/var/cache/debconf/*-old",
  "/var/lib/dpkg/*-old",
  "/root/.bash_history",
  "/root/.python_history",
  "/root/.lesshst",
  "/root/.viminfo",
  "/root/.wget-hsts",
  "/home/*/.bash_history",
  "/home/*/.python_history",
  "/home/*/.lesshst",
  "/home/*/.viminfo",
  "/etc/machine-id.old",
];

/** Whether one component of a path matches one component of a glob. */
export function componentMatches(pattern: string, name: string): boolean {
  const re = new RegExp(
    `^${pattern
      .split("*")
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join("[^/]*")}$`,
  );
  return re.test(name);
}

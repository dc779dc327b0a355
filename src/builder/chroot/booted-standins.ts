// Stand-ins for the programs a playbook written for a booted machine calls and that, run from a
// chroot, would either fail (no journald, no udev, no systemd-hostnamed) or act on the build host
// (swap, sysctl, module loading, mounts, the host's boot loader). Each is a fixed shell text with
// STAND_IN_MARKER; runtime state (modules "loaded", sysctl values asked for) lives under BIB_RUN,
// on the chroot's own /run tmpfs, so it vanishes when the chroot is closed.
import { STAND_IN_MARKER } from "./stand-in-marker.js";

/** Inside the image: the chroot's /run tmpfs. */
export const BIB_RUN = "/run/bib";
/** Bound over the chroot's /proc/modules: the modules the playbook loaded, as a booted kernel lists them. */
export const PROC_MODULES_VIEW = `${BIB_RUN}/proc-modules`;
/** The sysctl values the playbook set, `key=value` a line. */
export const SYSCTL_STATE = `${BIB_RUN}/sysctl`;

const header = (program: string, why: string) => `#!/bin/sh
# ${STAND_IN_MARKER}: ${program} for a chroot build, removed before the image is packaged.
# ${why}
`;

function shQuote(value: string): string {
  return `'${value.replaceAll("'", `'"'"'`)}'`;
}

/** Runs the real program for what only reads; fails like a missing program when the image has none. */
const forwardToReal = (realPath: string, program: string) => `real=${shQuote(realPath)}
forward() {
  if [ -x "$real" ]; then exec "$real" "$@"; fi
  echo "${program}: not installed in this image" >&2
  exit 127
}
`;

export function journalctlStandIn(realPath: string): string {
  return `${header("journalctl", "No journald runs in a chroot: maintenance verbs succeed and do nothing; reading goes to the real journalctl.")}${forwardToReal(realPath, "journalctl")}for arg in "$@"; do
  case "$arg" in
    --rotate|--flush|--sync|--relinquish-var|--smart-relinquish-var|--vacuum-size=*|--vacuum-time=*|--vacuum-files=*|--vacuum-size|--vacuum-time|--vacuum-files)
      exit 0 ;;
  esac
done
forward "$@"
`;
}

/** swapon/swapoff/fstrim: the build host's swap and discard are not the image's. */
export function hostDeviceStandIn(program: "swapon" | "swapoff" | "fstrim"): string {
  return `${header(program, "It would act on the build host's block devices; a chroot has no swap and nothing to trim.")}exit 0
`;
}

export function udevadmStandIn(realPath: string): string {
  return `${header("udevadm", "No udevd runs in a chroot: trigger, settle and control succeed and do nothing; other verbs go to the real udevadm.")}${forwardToReal(realPath, "udevadm")}case "$1" in
  trigger|settle|control) exit 0 ;;
esac
forward "$@"
`;
}

/** `mount -a` would mount the image's fstab from inside the build; other uses go to the real mount. */
export function mountStandIn(realPath: string): string {
  return `${header("mount", "mount -a (the image's fstab) is for the booted machine; other uses go to the real mount, in the build's own mount namespace.")}${forwardToReal(realPath, "mount")}for arg in "$@"; do
  case "$arg" in
    -a|--all) exit 0 ;;
    --) break ;;
  esac
done
forward "$@"
`;
}

export function grubStandIn(program: "update-grub" | "grub-mkconfig" | "grub-install"): string {
  return `${header(program, "The bootable stage writes the boot configuration, from /etc/default/grub and spec.kernel.cmdline.")}echo "${program}: skipped while the image is built; bib's bootable stage writes the boot loader and reads /etc/default/grub and /etc/default/grub.d/*.cfg" >&2
exit 0
`;
}

/** hostnamectl without systemd-hostnamed: the static name is /etc/hostname, the transient one the build's UTS namespace. */
export function hostnamectlStandIn(): string {
  return `${header("hostnamectl", "No systemd-hostnamed runs in a chroot: the static name is /etc/hostname, as hostnamed would write it.")}verb=""
name=""
for arg in "$@"; do
  case "$arg" in
    -*) ;;
    *) if [ -z "$verb" ]; then verb="$arg"; elif [ -z "$name" ]; then name="$arg"; fi ;;
  esac
done
static() { if [ -s /etc/hostname ]; then head -n 1 /etc/hostname; else echo localhost; fi; }
case "\${verb:-status}" in
  status|hostname)
    if [ "$verb" = hostname ] && [ -n "$name" ]; then printf '%s\\n' "$name" > /etc/hostname; exit 0; fi
    for arg in "$@"; do
      case "$arg" in
        --static|--pretty) static; exit 0 ;;
        --transient) hostname; exit 0 ;;
      esac
    done
    echo " Static hostname: $(static)"
    exit 0 ;;
  set-hostname)
    if [ -z "$name" ]; then echo "hostnamectl: set-hostname needs a name" >&2; exit 1; fi
    transient_only=0
    for arg in "$@"; do
      case "$arg" in
        --transient) transient_only=1 ;;
        --static|--pretty) transient_only=0; break ;;
      esac
    done
    # The transient name is the build's own UTS namespace's; the static one is the image's file.
    if [ "$transient_only" = 1 ]; then exec hostname "$name"; fi
    printf '%s\\n' "$name" > /etc/hostname
    exit 0 ;;
  set-icon-name|set-chassis|set-deployment|set-location|icon-name|chassis|deployment|location)
    exit 0 ;;
  *)
    echo "hostnamectl: unknown command '$verb' during an image build" >&2
    exit 1 ;;
esac
`;
}

export function timedatectlStandIn(): string {
  return `${header("timedatectl", "No systemd-timedated runs in a chroot: set-timezone writes /etc/localtime and /etc/timezone as timedated would; clock settings wait for the booted machine.")}verb=""
arg1=""
for arg in "$@"; do
  case "$arg" in
    -*) ;;
    *) if [ -z "$verb" ]; then verb="$arg"; elif [ -z "$arg1" ]; then arg1="$arg"; fi ;;
  esac
done
zone() { readlink /etc/localtime 2>/dev/null | sed 's|.*/zoneinfo/||'; }
case "\${verb:-status}" in
  set-timezone)
    if [ ! -e "/usr/share/zoneinfo/$arg1" ] || [ -z "$arg1" ]; then
      echo "Failed to set time zone: Invalid or not installed time zone '$arg1'" >&2
      exit 1
    fi
    ln -sf "/usr/share/zoneinfo/$arg1" /etc/localtime
    printf '%s\\n' "$arg1" > /etc/timezone
    exit 0 ;;
  set-ntp|set-local-rtc|set-time) exit 0 ;;
  status) echo "                Time zone: $(zone)"; exit 0 ;;
  show) echo "Timezone=$(zone)"; exit 0 ;;
  list-timezones) cd /usr/share/zoneinfo 2>/dev/null && find . -type f | sed 's|^\\./||' | sort; exit 0 ;;
  *)
    echo "timedatectl: unknown command '$verb' during an image build" >&2
    exit 1 ;;
esac
`;
}

export function localectlStandIn(): string {
  return `${header("localectl", "No systemd-localed runs in a chroot: set-locale writes /etc/default/locale (Debian's file); keymaps wait for the booted machine.")}verb="$1"
case "\${verb:-status}" in
  set-locale)
    shift
    : > /etc/default/locale
    for a in "$@"; do
      case "$a" in
        -*) ;;
        *=*) printf '%s\\n' "$a" >> /etc/default/locale ;;
        *) printf 'LANG=%s\\n' "$a" >> /etc/default/locale ;;
      esac
    done
    exit 0 ;;
  set-keymap|set-x11-keymap) exit 0 ;;
  status) echo "System Locale: $(cat /etc/default/locale 2>/dev/null | tr '\\n' ' ')"; exit 0 ;;
  list-locales) locale -a 2>/dev/null; exit 0 ;;
  *)
    echo "localectl: unknown command '$verb' during an image build" >&2
    exit 1 ;;
esac
`;
}

/**
 * sysctl: writes (-w, key=value, -p, --system) are recorded in SYSCTL_STATE and reported as
 * sysctl reports them, never applied: the build host's kernel is not the image's. Reads answer
 * what the build set, else the value the build host shows (read-only), as a booted default.
 */
export function sysctlStandIn(realPath: string): string {
  return `${header("sysctl", "Writes are recorded and reported, never applied to the build host's kernel; /etc/sysctl.d applies them at boot.")}${forwardToReal(realPath, "sysctl")}state=${shQuote(SYSCTL_STATE)}
mkdir -p "$(dirname "$state")"
touch "$state"
values_only=0
quiet=0
ignore=0
write=0
status=0
names=""
mode=keys
file=""
for arg in "$@"; do
  case "$arg" in
    -n|--values) values_only=1 ;;
    -q|--quiet) quiet=1 ;;
    -e|--ignore) ignore=1 ;;
    -w|--write) write=1 ;;
    -p|--load) mode=load ;;
    -p*) mode=load; file="\${arg#-p}" ;;
    --load=*) mode=load; file="\${arg#--load=}" ;;
    --system) mode=system ;;
    -a|-A|-X|--all) forward "$@" ;;
    -*) ;;
    *) if [ "$mode" = load ] && [ -z "$file" ]; then file="$arg"; else names="$names $arg"; fi ;;
  esac
done
norm() { printf '%s' "$1" | tr / .; }
trim() { printf '%s' "$1" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//'; }
report() {
  [ "$quiet" = 1 ] && return 0
  if [ "$values_only" = 1 ]; then printf '%s\\n' "$2"; else printf '%s = %s\\n' "$1" "$2"; fi
}
set_one() {
  key=$(norm "$1")
  awk -F= -v k="$key" '$1 != k' "$state" > "$state.new"
  mv "$state.new" "$state"
  printf '%s=%s\\n' "$key" "$2" >> "$state"
  report "$key" "$2"
}
read_one() {
  key=$(norm "$1")
  if asked=$(awk -F= -v k="$key" '$1 == k { v = substr($0, length(k) + 2); found = 1 } END { if (found) print v; exit !found }' "$state"); then
    report "$key" "$asked"
    return 0
  fi
  f="/proc/sys/$(printf '%s' "$key" | tr . /)"
  if [ -f "$f" ] && value=$(cat "$f" 2>/dev/null); then report "$key" "$value"; return 0; fi
  [ "$ignore" = 1 ] && return 0
  echo "sysctl: cannot stat $f: No such file or directory" >&2
  status=255
}
load_file() {
  if [ ! -r "$1" ]; then
    echo "sysctl: cannot open \\"$1\\": No such file or directory" >&2
    status=255
    return
  fi
  while IFS= read -r line || [ -n "$line" ]; do
    line=$(trim "$line")
    case "$line" in ''|'#'*|';'*) continue ;; esac
    case "$line" in *=*) ;; *) continue ;; esac
    key=$(trim "\${line%%=*}")
    key=\${key#-}
    set_one "$key" "$(trim "\${line#*=}")"
  done < "$1"
}
case "$mode" in
  load)
    load_file "\${file:-/etc/sysctl.conf}"
    for extra in $names; do load_file "$extra"; done ;;
  system)
    seen=" "
    for dir in /etc/sysctl.d /run/sysctl.d /usr/local/lib/sysctl.d /usr/lib/sysctl.d /lib/sysctl.d; do
      for f in "$dir"/*.conf; do
        [ -f "$f" ] || continue
        base=$(basename "$f")
        case "$seen" in *" $base "*) continue ;; esac
        seen="$seen$base "
        printf '%s\\n' "$base $f"
      done
    done | sort | while read -r _ f; do
      [ "$quiet" = 1 ] || echo "* Applying $f ..."
      load_file "$f"
    done
    if [ -f /etc/sysctl.conf ]; then
      [ "$quiet" = 1 ] || echo "* Applying /etc/sysctl.conf ..."
      load_file /etc/sysctl.conf
    fi ;;
  keys)
    if [ -z "$names" ]; then forward "$@"; fi
    for name in $names; do
      case "$name" in
        *=*) set_one "\${name%%=*}" "\${name#*=}" ;;
        *)
          if [ "$write" = 1 ]; then
            echo "sysctl: \\"$name\\" must be of the form name=value" >&2
            status=255
          else
            read_one "$name"
          fi ;;
      esac
    done ;;
esac
exit $status
`;
}

/**
 * modprobe against the image's kernel: a module is found in /lib/modules/<newest version>
 * (modules.dep, modules.builtin, exact modules.alias names), "loaded" by listing it (and its
 * dependencies) in PROC_MODULES_VIEW, which is bound over the chroot's /proc/modules. A module
 * the image's kernel does not ship fails as the real modprobe does.
 */
export function modprobeStandIn(realPath: string): string {
  return `${header("modprobe", "It loads nothing into the build host's kernel: modules are looked up in the image's own kernel and listed in the chroot's /proc/modules.")}${forwardToReal(realPath, "modprobe")}view=${shQuote(PROC_MODULES_VIEW)}
dry=0
quiet=0
remove=0
all=0
first=0
ver=""
expect=""
names=""
for arg in "$@"; do
  if [ -n "$expect" ]; then
    [ "$expect" = version ] && ver="$arg"
    expect=""
    continue
  fi
  case "$arg" in
    -n|--dry-run) dry=1 ;;
    -q|--quiet) quiet=1 ;;
    -r|--remove) remove=1 ;;
    -a|--all) all=1 ;;
    --first-time) first=1 ;;
    -S) expect=version ;;
    --set-version=*) ver="\${arg#--set-version=}" ;;
    -C|-d|--config|--dirname) expect=other ;;
    -c|--showconfig|-D|--show-depends|--show-modversions|--dump-modversions|--show-exports) forward "$@" ;;
    -*) ;;
    *) if [ -z "$names" ] || [ "$all" = 1 ] || [ "$remove" = 1 ]; then names="$names $arg"; fi ;;
  esac
done
if [ -z "$ver" ]; then ver=$(ls /lib/modules 2>/dev/null | sort -V | tail -n 1); fi
dir="/lib/modules/$ver"
say() { [ "$quiet" = 1 ] || echo "$@" >&2; }
if [ -z "$ver" ] || [ ! -f "$dir/modules.dep" ]; then
  say "modprobe: FATAL: the image has no kernel modules (/lib/modules/*/modules.dep); install the image's kernel before loading modules"
  exit 1
fi
mkdir -p "$(dirname "$view")"
touch "$view"
canon() { printf '%s' "$1" | tr - _; }
# Prints "builtin", or the module's modules.dep line, for a module or exact alias name.
lookup() {
  n=$(canon "$1")
  real_name=$(awk -v n="$n" '$1 == "alias" { a = $2; gsub(/-/, "_", a); if (a == n) { print $3; exit } }' "$dir/modules.alias" 2>/dev/null)
  [ -n "$real_name" ] && n=$(canon "$real_name")
  if awk -v n="$n" '{ m = $0; sub(/.*\\//, "", m); sub(/\\.ko.*/, "", m); gsub(/-/, "_", m); if (m == n) { found = 1; exit } } END { exit !found }' "$dir/modules.builtin" 2>/dev/null; then
    echo builtin
    return 0
  fi
  awk -F: -v n="$n" '{ m = $1; sub(/.*\\//, "", m); sub(/\\.ko.*/, "", m); gsub(/-/, "_", m); if (m == n) { print; found = 1; exit } } END { exit !found }' "$dir/modules.dep"
}
loaded() { grep -q "^$1 " "$view"; }
status=0
for name in $names; do
  n=$(canon "$name")
  if ! entry=$(lookup "$name"); then
    say "modprobe: FATAL: Module $name not found in directory $dir"
    status=1
    continue
  fi
  if [ "$remove" = 1 ]; then
    [ "$dry" = 1 ] || { grep -v "^$n " "$view" > "$view.new" || true; cat "$view.new" > "$view"; rm -f "$view.new"; }
    continue
  fi
  [ "$entry" = builtin ] && continue
  if [ "$first" = 1 ] && loaded "$n"; then
    say "modprobe: ERROR: could not insert '$n': Module already in kernel"
    status=1
    continue
  fi
  [ "$dry" = 1 ] && continue
  for path in \${entry#*:} \${entry%%:*}; do
    m=$(canon "$(basename "$path" | sed 's/\\.ko.*//')")
    loaded "$m" || printf '%s 16384 0 - Live 0x0000000000000000\\n' "$m" >> "$view"
  done
done
exit $status
`;
}

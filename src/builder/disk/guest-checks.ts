// spec.validate.boot.checks, run inside the booted test VM. A small agent (a systemd unit and a
// /bin/sh script) is written into a throwaway working copy of the disk, never into the artifact. It
// opens a virtio-serial port, says it is ready, waits for the harness's go (sent once the console
// patterns appeared), runs each check with /bin/sh as root in order and reports on the port:
//   | <output line>          every line the check printed (stdout and stderr)
//   BIB-CHECK <index> <status>
//   BIB-AGENT done
// Pure: texts for the guest, the debugfs script that writes them, and the parser of the reports.
import type { BootCheck } from "../../plan/plan.js";

/** The virtio-serial port's name; the guest sees /dev/virtio-ports/<name>. */
export const CHECK_PORT = "org.bib.checks";
const CHECK_DIR = "/var/lib/bib-checks";
const AGENT = `${CHECK_DIR}/agent`;
const UNIT = "bib-check-agent.service";

export const AGENT_SCRIPT = `#!/bin/sh
# bib: runs spec.validate.boot.checks in the test VM; written only into validation's throwaway disk.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
port=/dev/virtio-ports/${CHECK_PORT}
i=0
while [ ! -e "$port" ] && [ "$i" -lt 600 ]; do sleep 1; i=$((i + 1)); done
exec 3<>"$port"
echo "BIB-AGENT ready" >&3
read -r go <&3
out=/run/bib-check.out
for f in ${CHECK_DIR}/*.sh; do
  n=\${f##*/}
  n=\${n%.sh}
  /bin/sh "$f" > "$out" 2>&1 < /dev/null
  rc=$?
  sed 's/^/| /' "$out" >&3
  echo "BIB-CHECK $n $rc" >&3
  [ "$rc" = 0 ] || break
done
echo "BIB-AGENT done" >&3
`;

export const AGENT_UNIT = `[Unit]
Description=bib boot validation checks (validation's throwaway disk only)
After=basic.target

[Service]
Type=simple
ExecStart=/bin/sh ${AGENT}
StandardOutput=journal

[Install]
WantedBy=multi-user.target
`;

/** File name of check `index` in the guest: sorts in order, as the agent's glob runs them. */
/** What debugfs must have written: the check files in CHECK_DIR and the unit's wants link. */
export const GUEST_CHECK_DIR = CHECK_DIR;
export const AGENT_WANTS_DIR = "/etc/systemd/system/multi-user.target.wants";
export const AGENT_UNIT_NAME = UNIT;

export const checkFile = (index: number) => `${String(index).padStart(2, "0")}.sh`;

/** Where each host file goes in the guest, for `debugfsScript`. */
export interface GuestFiles {
  agent: string;
  unit: string;
  checks: string[];
}

/**
 * debugfs requests that write the agent, its unit (enabled by a multi-user.target.wants link) and
 * the checks into the root filesystem. Host paths are ours (scratch files), never user text.
 */
export function debugfsScript(files: GuestFiles): string {
  const lines = [
    `mkdir ${CHECK_DIR}`,
    `cd ${CHECK_DIR}`,
    `write ${files.agent} agent`,
    ...files.checks.map((host, i) => `write ${host} ${checkFile(i)}`),
    "cd /etc/systemd/system",
    `write ${files.unit} ${UNIT}`,
    "mkdir /etc/systemd/system/multi-user.target.wants",
    "cd /etc/systemd/system/multi-user.target.wants",
    `symlink ${UNIT} /etc/systemd/system/${UNIT}`,
  ];
  return `${lines.join("\n")}\n`;
}

export interface CheckResult {
  name: string;
  status: number;
  /** The check's output, last lines first trimmed to what a message needs. */
  output: string[];
}

/** Reads the agent's reports as they arrive on the port. */
export class CheckReports {
  private buffer = "";
  private output: string[] = [];
  readonly results: CheckResult[] = [];
  ready = false;
  done = false;

  constructor(private readonly checks: readonly BootCheck[]) {}

  feed(chunk: string): void {
    this.buffer += chunk;
    let newline: number;
    while ((newline = this.buffer.indexOf("\n")) >= 0) {
      const line = this.buffer.slice(0, newline).replace(/\r$/, "");
      this.buffer = this.buffer.slice(newline + 1);
      this.line(line);
    }
  }

  private line(line: string): void {
    if (line.startsWith("| ") || line === "|") {
      this.output.push(line.slice(2));
      if (this.output.length > 200) this.output.shift();
      return;
    }
    if (line === "BIB-AGENT ready") this.ready = true;
    else if (line === "BIB-AGENT done") this.done = true;
    const report = /^BIB-CHECK (\d+) (\d+)$/.exec(line);
    if (report) {
      const check = this.checks[Number(report[1])];
      if (check) this.results.push({ name: check.name, status: Number(report[2]), output: this.output });
      this.output = [];
    }
  }

  get checkCount(): number {
    return this.checks.length;
  }

  get failed(): CheckResult | undefined {
    return this.results.find((r) => r.status !== 0);
  }

  get passed(): number {
    return this.results.filter((r) => r.status === 0).length;
  }

  /** The check that has not reported yet (the one running when time ran out). */
  get pending(): BootCheck | undefined {
    return this.checks[this.results.length];
  }
}

export function describeFailure(r: CheckResult, lastLines = 10): string {
  const tail = r.output.slice(-lastLines);
  return `check "${r.name}" exited with status ${r.status}${tail.length ? `; last lines:\n${tail.join("\n")}` : " and printed nothing"}`;
}

// The reference build: Debian 12 from debootstrap, a package, files, an Ansible playbook that
// installs and enables a unit which prints a line on the console at boot, and a shell script;
// qcow2, raw and tgz; boot validation expects the login prompt AND the unit's line.
import { stringify } from "yaml";

export const UNIT_LINE = "BIB-E2E-UNIT-RAN";

const PLAYBOOK = `- hosts: all
  gather_facts: false
  tasks:
    - name: install the e2e unit
      ansible.builtin.copy:
        dest: /etc/systemd/system/bib-e2e.service
        mode: "0644"
        content: |
          [Unit]
          Description=bib e2e marker
          After=multi-user.target
          [Service]
          Type=oneshot
          ExecStart=/bin/sh -c 'echo ${UNIT_LINE} > /dev/console'
          [Install]
          WantedBy=multi-user.target
    - name: enable the e2e unit
      ansible.builtin.systemd:
        name: bib-e2e.service
        enabled: true
        state: started
        daemon_reload: true
    - name: write the extra var
      ansible.builtin.copy:
        dest: /etc/bib-release
        content: "{{ release }}\\n"
        mode: "0644"
`;

const SCRIPT = `set -eu
useradd --uid 1500 --create-home --shell /bin/bash builder
install -d -o builder -g builder -m 0750 /srv/builder
echo made-by-script > /srv/builder/note
chown builder:builder /srv/builder/note
chmod 0640 /srv/builder/note
`;

export function referenceImageBuild(name = "reference"): string {
  return stringify({
    apiVersion: "bib.dev/v1alpha1",
    kind: "ImageBuild",
    metadata: { name },
    spec: {
      base: {
        debootstrap: { suite: "bookworm", variant: "minbase", include: ["systemd-sysv", "udev", "python3"] },
      },
      packages: ["curl"],
      files: [
        { path: "/etc/motd", content: "built by bib\n", mode: "0644" },
        { path: "/etc/bib/secret.conf", content: "token=not-really\n", mode: "0600" },
      ],
      provisioners: [
        { name: "unit", ansible: { playbook: PLAYBOOK, extraVars: { release: "e2e-1" } } },
        { name: "users", shell: { script: SCRIPT } },
      ],
      kernel: { cmdline: ["console=ttyS0"] },
      disk: { size: "2Gi" },
      formats: ["qcow2", "raw", "tgz"],
      validate: { boot: { enabled: true, timeoutSeconds: 600, expect: ["login:", UNIT_LINE] } },
    },
  });
}

// The image's own GRUB settings, read the way grub-mkconfig reads them (it sources /etc/default/grub,
// then /etc/default/grub.d/*.cfg in name order), without running a shell on the image's text. Pure.
//
// Supported, for GRUB_CMDLINE_LINUX, GRUB_CMDLINE_LINUX_DEFAULT and GRUB_TIMEOUT:
//   NAME=value   NAME="value"   NAME='value'   export NAME=...   # comments   blank lines
//   $NAME and ${NAME} of these three variables inside double quotes or unquoted (so the usual
//   GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX extra" appends), \" \$ \\ escapes inside double quotes.
// Not supported (an assignment to one of the three that uses them is an error naming the line):
//   command substitution ($(...), backticks), other variables, ${NAME:-...} forms, line continuations,
//   conditionals and anything else that needs a shell. Lines about other variables are ignored.

export const GRUB_VARIABLES = ["GRUB_CMDLINE_LINUX", "GRUB_CMDLINE_LINUX_DEFAULT", "GRUB_TIMEOUT"] as const;
type GrubVariable = (typeof GRUB_VARIABLES)[number];

export interface GrubFile {
  /** Path in the image, for messages. */
  name: string;
  text: string;
}

export interface GrubDefaults {
  /** GRUB_CMDLINE_LINUX then GRUB_CMDLINE_LINUX_DEFAULT, split into words. */
  cmdline: string[];
  /** GRUB_TIMEOUT in seconds, when set. */
  timeout?: number;
}

export type GrubDefaultsResult = { ok: true; value: GrubDefaults } | { ok: false; error: string };

const isVariable = (name: string): name is GrubVariable =>
  (GRUB_VARIABLES as readonly string[]).includes(name);

/** Expands $NAME / ${NAME} of the known variables; undefined when the text needs a shell. */
function expand(text: string, vars: Record<GrubVariable, string>): string | undefined {
  let unsupported = false;
  const out = text.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)|\$\(|`|\$\{/g,
    (m, braced?: string, bare?: string) => {
      const name = braced ?? bare;
      if (name !== undefined && isVariable(name)) return vars[name];
      unsupported = true;
      return m;
    },
  );
  return unsupported ? undefined : out;
}

/** The value of an assignment's right-hand side; undefined when it needs a shell. */
function parseValue(raw: string, vars: Record<GrubVariable, string>): string | undefined {
  let value = "";
  let i = 0;
  while (i < raw.length) {
    const c = raw[i]!;
    if (c === "'") {
      const end = raw.indexOf("'", i + 1);
      if (end < 0) return undefined;
      value += raw.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      let j = i + 1;
      let inner = "";
      while (j < raw.length && raw[j] !== '"') {
        if (raw[j] === "\\" && j + 1 < raw.length && '"$\\`'.includes(raw[j + 1]!)) {
          // An escaped $ is literal: mark it so that expansion leaves it alone.
          inner += raw[j + 1] === "$" ? "\u0000" : raw[j + 1];
          j += 2;
        } else inner += raw[j++];
      }
      if (j >= raw.length) return undefined;
      const expanded = expand(inner, vars);
      if (expanded === undefined) return undefined;
      value += expanded.replaceAll("\u0000", "$");
      i = j + 1;
    } else if (/\s/.test(c)) {
      // What follows unquoted whitespace is a comment or a command: only a comment is plain.
      const rest = raw.slice(i).trim();
      if (rest !== "" && !rest.startsWith("#")) return undefined;
      break;
    } else if (
      c === "\\" ||
      c === ";" ||
      c === "&" ||
      c === "|" ||
      c === "<" ||
      c === ">" ||
      c === "(" ||
      c === ")"
    ) {
      return undefined;
    } else {
      let j = i;
      while (j < raw.length && !/[\s'"\\;&|<>()]/.test(raw[j]!)) j++;
      const expanded = expand(raw.slice(i, j), vars);
      if (expanded === undefined) return undefined;
      value += expanded;
      i = j;
    }
  }
  return value;
}

export function parseGrubDefaults(files: readonly GrubFile[]): GrubDefaultsResult {
  const vars: Record<GrubVariable, string> = {
    GRUB_CMDLINE_LINUX: "",
    GRUB_CMDLINE_LINUX_DEFAULT: "",
    GRUB_TIMEOUT: "",
  };
  let timeoutSet = false;
  for (const file of files) {
    const lines = file.text.split("\n");
    for (const [n, line] of lines.entries()) {
      const mentions = GRUB_VARIABLES.filter((v) => new RegExp(`\\b${v}\\b`).test(line));
      const trimmed = line.trim();
      if (mentions.length === 0 || trimmed.startsWith("#")) continue;
      const where = `${file.name} line ${n + 1}`;
      const assignment = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(trimmed);
      if (!assignment || !isVariable(assignment[1]!) || trimmed.endsWith("\\")) {
        return {
          ok: false,
          error: `${where}: only plain assignments to ${mentions.join(", ")} are read (NAME=value, NAME="...", NAME='...'); bib does not run this file as a shell script`,
        };
      }
      const name = assignment[1] as GrubVariable;
      const value = parseValue(assignment[2]!, vars);
      if (value === undefined) {
        return {
          ok: false,
          error: `${where}: ${name} uses shell syntax bib does not evaluate (only quotes and $GRUB_CMDLINE_LINUX, $GRUB_CMDLINE_LINUX_DEFAULT, $GRUB_TIMEOUT are read)`,
        };
      }
      vars[name] = value;
      if (name === "GRUB_TIMEOUT") timeoutSet = true;
    }
  }
  const words = (s: string) => s.split(/\s+/).filter((w) => w !== "");
  const result: GrubDefaults = {
    cmdline: [...words(vars.GRUB_CMDLINE_LINUX), ...words(vars.GRUB_CMDLINE_LINUX_DEFAULT)],
  };
  if (timeoutSet) {
    const t = vars.GRUB_TIMEOUT.trim();
    if (!/^[0-9]{1,4}$/.test(t)) {
      return {
        ok: false,
        error: `GRUB_TIMEOUT="${t}": bib needs a whole number of seconds (0-9999); a menu that waits forever would hang every boot`,
      };
    }
    result.timeout = Number(t);
  }
  return { ok: true, value: result };
}

/** grub-mkconfig's order: /etc/default/grub, then grub.d's *.cfg files sorted by name (bytewise). */
export function grubDefaultsFileOrder(grubDListing: readonly string[]): string[] {
  const cfgs = grubDListing.filter((n) => n.endsWith(".cfg")).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return ["/etc/default/grub", ...cfgs.map((n) => `/etc/default/grub.d/${n}`)];
}

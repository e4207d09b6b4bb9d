// Reads a run configuration: the typed defaults, a YAML file over them, then `--set a.b=c` overrides, each
// layer checked as it is applied; then derived keys are filled and cross-field checks run.
// configToYaml writes the resolved config the run directory keeps; loadRunConfig reads it back unchanged.
import { readFileSync } from "node:fs";
import YAML, { isMap, isNode, isScalar, isSeq, LineCounter, visit, type Node } from "yaml";
import { usageError } from "../util/errors.ts";
import { DEFAULT_RUN_CONFIG, type RunConfig } from "./schema.ts";
import { isObj, mergeValue, resolveRunConfig, setIn, type Path, type Provenance, type Source } from "./validate.ts";
// Imported as text so that `bun build --compile` carries the demo recipe inside the binary.
import demoText from "../../configs/demo.yaml" with { type: "text" };

/** The text of configs/demo.yaml, the recipe a run uses when no config file is named. */
export const EMBEDDED_DEMO: string = demoText;
export const DEMO_CONFIG_NAME = "configs/demo.yaml";

export interface LoadOptions {
  /** A YAML file to read; with `text`, only the name used in messages. */
  file?: string;
  /** YAML text to use instead of reading `file`. */
  text?: string;
  /** `a.b=c` overrides applied in order; the value is YAML (`0.28`, `[lookup, docmath]`, `{maxPromptTokens: 512, steps: 10}`). */
  sets?: readonly string[];
}

/** Defaults, then the file, then the --set overrides: a checked RunConfig, or a one-line usageError. */
export function loadRunConfig(opts: LoadOptions = {}): RunConfig {
  const prov: Provenance = new Map();
  let cfg: unknown = structuredClone(DEFAULT_RUN_CONFIG);
  const name = opts.file ?? (opts.text !== undefined ? "config" : "defaults");
  if (opts.text !== undefined || opts.file !== undefined) {
    const text = opts.text ?? readText(name);
    const { value, src } = parseYaml(text, name);
    if (value !== null && value !== undefined) {
      if (!isObj(value)) throw usageError(`${name}: the top level must be a mapping of keys (seed: 1, rl: {...}), got ${JSON.stringify(value)}`);
      cfg = mergeValue(DEFAULT_RUN_CONFIG, cfg, value, [], src, prov);
    }
  }
  (opts.sets ?? []).forEach((expr, i) => {
    cfg = applySet(cfg, expr, i + 1, prov);
  });
  return resolveRunConfig(cfg as RunConfig, prov, { name, order: -1 });
}

/** The resolved config as YAML, for the run directory; derived keys are left out (they are derived again). */
export function configToYaml(cfg: RunConfig): string {
  const plain = structuredClone(cfg) as unknown as { reward: { overlong: Record<string, unknown> } };
  delete plain.reward.overlong.maxResponseTokens;
  const doc = new YAML.Document(plain);
  visit(doc, {
    Seq(_, seq) {
      if (seq.items.every((it) => isScalar(it))) seq.flow = true; // kinds: [lookup, multihop]
      for (const it of seq.items) if (isMap(it)) it.flow = true; // - { maxPromptTokens: 256, steps: 10 }
    },
  });
  const header =
    "# longrl run configuration, resolved: the defaults, the config file and every --set in one place.\n" +
    "# Load it as the config to repeat the run. reward.overlong.maxResponseTokens is rl.maxResponseTokens.\n";
  return header + doc.toString({ lineWidth: 0 });
}

function readText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw usageError(`${file}: cannot read the config file (${code ?? (e as Error).message}); check the path`);
  }
}

/** The first line of a yaml library message, without its "at line L, column C" tail. */
function yamlReason(e: Error): string {
  return e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
}

function parseYaml(text: string, name: string): { value: unknown; src: Source } {
  const lines = new LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter: lines });
  const err = doc.errors[0];
  if (err) {
    const line = err.linePos?.[0].line;
    throw usageError(`${name}${line !== undefined ? `:${line}` : ""}: malformed YAML: ${yamlReason(err)}`);
  }
  let value: unknown;
  try {
    value = doc.toJS();
  } catch (e) {
    throw usageError(`${name}: malformed YAML: ${yamlReason(e as Error)}`);
  }
  /** The line of a field: its key's line in a mapping, its item's line in a list. */
  const lineOf = (path: Path): number | undefined => {
    let node: unknown = doc.contents;
    let at: Node | undefined;
    for (const seg of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        at = isNode(pair.key) ? pair.key : at;
        node = pair.value;
      } else if (isSeq(node) && typeof seg === "number" && isNode(node.items[seg])) {
        node = node.items[seg];
        at = node as Node;
      } else break;
    }
    return at?.range ? lines.linePos(at.range[0]).line : undefined;
  };
  return { value, src: { name, order: 0, lineOf } };
}

/** One `--set a.b.c=value` (also `a.b[1].c=value`). */
function applySet(cfg: unknown, expr: string, order: number, prov: Provenance): unknown {
  const src: Source = { name: `--set ${expr.replace(/\n/g, "\\n")}`, order };
  const eq = expr.indexOf("=");
  if (eq <= 0) throw usageError(`${src.name}: expected key=value, e.g. --set rl.clipHigh=0.28`);
  const key = expr.slice(0, eq).trim().replace(/\[(\d+)\]/g, ".$1");
  const segs = key.split(".");
  if (segs.some((s) => s === "")) throw usageError(`${src.name}: ${key} is not a dotted key such as rl.clipHigh`);
  const raw = expr.slice(eq + 1);
  let value: unknown = "";
  if (raw.trim() !== "") {
    const doc = YAML.parseDocument(raw);
    if (doc.errors[0]) throw usageError(`${src.name}: the value is not valid YAML (${yamlReason(doc.errors[0])}); quote text that holds : # [ or {`);
    value = doc.toJS();
  }
  return setIn(DEFAULT_RUN_CONFIG, cfg, segs, value, [], src, prov);
}

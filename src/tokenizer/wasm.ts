// tiktoken's WASM (BPE + regex, with the named encodings' ranks inside), embedded in the compiled binary and
// instantiated on first use. Importing "tiktoken" itself would read node_modules/.../tiktoken_bg.wasm from disk.
import { readFileSync } from "node:fs";
import * as bindings from "tiktoken/init";
// A file import: Bun gives the file's path, inside the executable when built with --compile.
import wasmPath from "tiktoken/tiktoken_bg.wasm" with { type: "file" };

let ready = false;

/** The tiktoken bindings (Tiktoken, get_encoding), with the WASM instantiated. */
export function tiktoken(): typeof bindings {
  if (!ready) {
    const module = new WebAssembly.Module(readFileSync(wasmPath as unknown as string));
    const imports = { "./tiktoken_bg.js": bindings } as unknown as ConstructorParameters<typeof WebAssembly.Instance>[1];
    const instance = new WebAssembly.Instance(module, imports);
    (bindings as unknown as { __wbg_set_wasm(exports: unknown): void }).__wbg_set_wasm(instance.exports);
    ready = true;
  }
  return bindings;
}

// Batched sampling with a KV cache. Each prompt is prefilled once; its G samples then decode as G
// rows that all read the prompt's cache (attention_decode's shared prefix) plus their own tokens'
// cache, so a long document is never prefilled G times. Temperature, top-k, top-p, seeded from
// (seed, step, row); stops on EOS ids, stop strings, or max new tokens. Returns each sample's
// tokens with their log-probs under softmax(logits / temperature), the policy's, which is what
// GRPO's old log-probs are (equal to a full forward's: tests/model/generate.test.ts).
// Finished rows leave: once at most half of the rows decoding are live, the rest of the call decodes
// only the live ones (their caches gathered into smaller tensors; each row keeps its own draws), so
// one long sample does not keep a whole batch of finished ones computing. The samples are the same.
// Letters: Bp prompts, Tp longest prompt, G samples per prompt, R = Bp·G rows, S new-token capacity,
// C channels, V vocab, F = Hkv·D.
import { type Gpu, type Tensor, copyRows, createTensor, maxBindingBytes, prefixView, profilePart, readTensor, releaseTensor, reshape, sync, tensorFrom, zeroTensor } from "../gpu/index.ts";
import { encoderForCopy } from "../gpu/recorder.ts";
import { attentionDecode } from "../kernels/attention_decode.ts";
import { embeddingForward } from "../kernels/embedding.ts";
import { MATVEC_MAX_ROWS, matmul } from "../kernels/matmul.ts";
import { rmsnormForward } from "../kernels/rmsnorm.ts";
import { sampleTokens } from "../kernels/sampling.ts";
import { chatStopTokens, type LoadedTokenizer } from "../tokenizer/index.ts";
import { runError } from "../util/errors.ts";
import type { ModelConfig } from "./config.ts";
import { type LayerInputs, layerForward, releaseLayerSaved } from "./layer.ts";
import { type Params, modelView } from "./params.ts";

export interface GenerateOptions {
  /** Samples per prompt (G). */
  n: number;
  maxNewTokens: number;
  /** 0 = greedy. */
  temperature: number;
  /** 0 = off. */
  topK?: number;
  /** 1 = off. */
  topP?: number;
  seed: number;
  /** Row r of this call draws from (seed, step, rowOffset + r); callers give each call its own range. */
  rowOffset?: number;
  /**
   * Prompt p's sample g draws as row promptRows[p] + g (plus rowOffset) instead of p·n + g: a caller that
   * groups its prompts differently (by length, say) keeps each prompt's draws, and so its samples.
   */
  promptRows?: readonly number[];
  /** Token ids that end a sample (kept as its last token). */
  stopIds?: readonly number[];
  /** Strings that end a sample once its decoded text contains one (the token is kept). */
  stopStrings?: readonly string[];
  /** Decoder for stop strings (the tokenizer's). */
  decode?: (ids: number[]) => string;
  /** Called after every decode step with the number of live rows (progress). */
  onStep?: (step: number, live: number) => void;
  /** LM-head rows per logits block (default: lmHeadBlockRows for the adapter; tests set it small). */
  lmHeadBlockRows?: number;
  /** Drop finished rows from the decode batch (default true; false decodes every row to the end, for tests). */
  compact?: boolean;
}

export type FinishReason = "eos" | "stop" | "length";

export interface Sample {
  prompt: number;
  sample: number;
  ids: number[];
  /** log p(ids[i]) under softmax(logits / temperature) (τ = 1 when greedy). */
  logps: number[];
  finish: FinishReason;
}

/** Ids that end a model's turn: its chat format's end-of-turn tokens and the config's EOS ids. */
export function modelStopIds(tok: LoadedTokenizer, config: ModelConfig): number[] {
  const chat = chatStopTokens(tok.chat, tok.eosToken).map((s) => tok.tokenId(s)).filter((id): id is number => id !== undefined);
  const eos = config.eosTokenId === null ? [] : Array.isArray(config.eosTokenId) ? config.eosTokenId : [config.eosTokenId];
  return [...new Set([...chat, ...eos])];
}

/** Tokens decoded to check stop strings: enough for any stop string of a few words. */
const STOP_WINDOW = 24;

/**
 * LM-head rows per logits block: all of V when the table fits one storage binding, else the most
 * that fit, a multiple of 8, balanced over the blocks (a 151,936 x 896 f32 head is 545 MB; lavapipe
 * binds 128 MiB).
 */
export function lmHeadBlockRows(bindingBytes: number, C: number, V: number): number {
  const fit = Math.floor(bindingBytes / (4 * C));
  if (fit >= V) return V;
  if (fit < 8) throw runError(`generate: one storage binding (${bindingBytes} bytes) holds fewer than 8 LM-head rows of ${C} channels`);
  const blocks = Math.ceil(V / (fit - (fit % 8)));
  return Math.min(fit - (fit % 8), Math.ceil(V / blocks / 8) * 8);
}

/** The LM head as one table, or (when it is larger than one binding) as copies of its row blocks, made once per generate call. */
type Head = { whole: Tensor } | { blocks: Tensor[] };

function headOf(gpu: Gpu, cfg: ModelConfig, params: Params, blockRows: number): Head {
  const table = modelView(cfg, params).lmHead;
  const V = cfg.vocabSize;
  if (blockRows >= V) return { whole: table };
  const blocks: Tensor[] = [];
  for (let v0 = 0; v0 < V; v0 += blockRows) {
    const rows = Math.min(blockRows, V - v0);
    const w = createTensor(gpu, [rows, cfg.hiddenSize], "f32", "gen.headBlock");
    copyRows(gpu, table, v0, w, 0, rows, cfg.hiddenSize); // a buffer copy: no binding-size limit
    blocks.push(w);
  }
  return { blocks };
}

/**
 * Final norm of rows [R, C] then logits [R, V] = rows · lm_headᵀ; with a blocked head, block by
 * block, each [R, cols] result copied into its columns of the logits.
 */
function logitsOf(gpu: Gpu, cfg: ModelConfig, params: Params, rows: Tensor, head: Head): Tensor {
  const R = rows.shape[0]!;
  const C = cfg.hiddenSize;
  const V = cfg.vocabSize;
  const rstd = createTensor(gpu, [R], "f32", "gen.rstd");
  const normed = createTensor(gpu, [R, C], "f32", "gen.normed");
  rmsnormForward(gpu, rows, modelView(cfg, params).norm, normed, rstd, cfg.rmsNormEps);
  const logits = createTensor(gpu, [R, V], "f32", "gen.logits");
  if ("whole" in head) matmul(gpu, normed, head.whole, logits, { transB: true });
  else {
    const part = createTensor(gpu, [R, head.blocks[0]!.shape[0]!], "f32", "gen.logitsBlock");
    let v0 = 0;
    for (const w of head.blocks) {
      const cols = w.shape[0]!;
      matmul(gpu, normed, w, prefixView(part, [R, cols]), { transB: true });
      for (let r = 0; r < R; r++) encoderForCopy(gpu).copyBufferToBuffer(part.buffer, r * cols * 4, logits.buffer, (r * V + v0) * 4, cols * 4);
      v0 += cols;
    }
    releaseTensor(gpu, part);
  }
  releaseTensor(gpu, rstd);
  releaseTensor(gpu, normed);
  return logits;
}

interface PrefixCache {
  k: Tensor[]; // per layer [Bp, Tp, F]
  v: Tensor[];
  len: Tensor; // u32 [Bp]
  /** Logits at each row's last prompt token, one row per sample [R, V]. */
  logits: Tensor;
}

/** Runs the prompts once (causal, padded to Tp), keeping each layer's k/v after RoPE. */
function prefill(gpu: Gpu, cfg: ModelConfig, params: Params, prompts: readonly (readonly number[])[], G: number, head: Head): PrefixCache {
  profilePart(gpu, "prefill");
  const view = modelView(cfg, params);
  const Bp = prompts.length;
  const Tp = Math.max(...prompts.map((p) => p.length));
  const F = cfg.numKvHeads * cfg.headDim;
  const ids = new Uint32Array(Bp * Tp);
  const positions = new Uint32Array(Bp * Tp);
  prompts.forEach((p, b) => p.forEach((id, t) => ((ids[b * Tp + t] = id), (positions[b * Tp + t] = t))));
  const idsT = tensorFrom(gpu, ids, [Bp * Tp], "u32", "gen.promptIds");
  const posT = tensorFrom(gpu, positions, [Bp * Tp], "u32", "gen.promptPositions");
  const len = tensorFrom(gpu, prompts.map((p) => p.length), [Bp], "u32", "gen.promptLen");
  const inp: LayerInputs = { B: Bp, T: Tp, positions: posT, attention: { heads: cfg.numHeads, kvHeads: cfg.numKvHeads, seqLen: len } };
  let x = createTensor(gpu, [Bp * Tp, cfg.hiddenSize], "f32", "gen.x");
  embeddingForward(gpu, idsT, view.embed, x);
  const k: Tensor[] = [];
  const v: Tensor[] = [];
  for (const w of view.layers) {
    const { out, saved } = layerForward(gpu, cfg, w, x, inp);
    k.push(reshape(saved.k, [Bp, Tp, F]));
    v.push(reshape(saved.v, [Bp, Tp, F]));
    releaseLayerSaved(gpu, saved, ["x", "k", "v"]);
    releaseTensor(gpu, x);
    x = out;
  }
  // Each sample row starts from its prompt's last position.
  const last = tensorFrom(gpu, Array.from({ length: Bp * G }, (_, r) => Math.floor(r / G) * Tp + prompts[Math.floor(r / G)]!.length - 1), [Bp * G], "u32", "gen.last");
  const rows = createTensor(gpu, [Bp * G, cfg.hiddenSize], "f32", "gen.lastRows");
  embeddingForward(gpu, last, x, rows);
  const logits = logitsOf(gpu, cfg, params, rows, head);
  for (const t of [idsT, posT, x, last, rows]) releaseTensor(gpu, t);
  return { k, v, len, logits };
}

/** G samples for each prompt (token ids; no template applied here). Output order: prompt-major. */
export async function generate(gpu: Gpu, cfg: ModelConfig, params: Params, prompts: readonly (readonly number[])[], opts: GenerateOptions): Promise<Sample[]> {
  const G = opts.n;
  const Bp = prompts.length;
  const R = Bp * G;
  const S = opts.maxNewTokens;
  if (!Number.isInteger(G) || G < 1) throw runError(`generate: n must be a positive integer, got ${G}`);
  if (!Number.isInteger(S) || S < 1) throw runError(`generate: maxNewTokens must be a positive integer, got ${S}`);
  prompts.forEach((p, i) => {
    if (p.length < 1) throw runError(`generate: prompt ${i} is empty; give at least one token`);
    if (p.length + S > cfg.maxPositions) throw runError(`generate: prompt ${i} (${p.length} tokens) + ${S} new tokens exceeds the model's ${cfg.maxPositions} positions; lower max new tokens or cut the prompt`);
    p.forEach((id) => {
      if (!(id >= 0 && id < cfg.vocabSize)) throw runError(`generate: prompt ${i} has token id ${id}, outside the vocabulary of ${cfg.vocabSize}`);
    });
  });
  if (opts.promptRows && opts.promptRows.length !== Bp) throw runError(`generate: promptRows has ${opts.promptRows.length} entries for ${Bp} prompts; give one per prompt`);
  const badRow = opts.promptRows?.find((x) => !(Number.isInteger(x) && x >= 0));
  if (badRow !== undefined) throw runError(`generate: promptRows entry ${badRow} is not a non-negative integer`);
  if (R === 0) return [];
  const maxBinding = maxBindingBytes(gpu);
  if (R * cfg.vocabSize * 4 > maxBinding) {
    throw runError(`generate: logits of ${R} rows x ${cfg.vocabSize} ids (${R * cfg.vocabSize * 4} bytes) exceed one storage binding (${maxBinding}); generate fewer prompts x samples per call (e.g. a smaller rl.batchSize or rl.groupSize)`);
  }
  const view = modelView(cfg, params);
  const F = cfg.numKvHeads * cfg.headDim;
  const blockRows = opts.lmHeadBlockRows ?? lmHeadBlockRows(maxBinding, cfg.hiddenSize, cfg.vocabSize);
  const head = headOf(gpu, cfg, params, blockRows);
  const cache = prefill(gpu, cfg, params, prompts, G, head);
  // The rows decoding now: rows[i] is the full call's row of computed row i (all R until some finish),
  // rowPrompt[i] its prompt, rowIds the same rows on the GPU for the sampler's draws.
  let rows = Array.from({ length: R }, (_, r) => r);
  let rowPrompt = rows.map((r) => Math.floor(r / G));
  let prefixRow = tensorFrom(gpu, rowPrompt, [R], "u32", "gen.prefixRow");
  const drawRow = (r: number): number => (opts.promptRows ? opts.promptRows[Math.floor(r / G)]! + (r % G) : r);
  let rowIds = tensorFrom(gpu, rows.map(drawRow), [R], "u32", "gen.rowIds");
  // Slot-major [S, R, F]: step s appends every row's key as one block (rows s·R .. s·R + R − 1).
  let ownK = view.layers.map(() => createTensor(gpu, [S, R, F], "f32", "gen.ownK"));
  let ownV = view.layers.map(() => createTensor(gpu, [S, R, F], "f32", "gen.ownV"));
  for (const t of [...ownK, ...ownV]) zeroTensor(gpu, t);
  let ids = createTensor(gpu, [R], "u32", "gen.ids");
  let logpSample = createTensor(gpu, [R], "f32", "gen.logpSample");
  let logpPolicy = createTensor(gpu, [R], "f32", "gen.logpPolicy");
  // Fewer than MATVEC_MAX_ROWS + 1 rows would switch the matmuls to another variant (other roundings): stay above.
  const minRows = R > MATVEC_MAX_ROWS ? MATVEC_MAX_ROWS + 1 : R;
  const stopIds = new Set(opts.stopIds ?? []);
  const out: Sample[] = Array.from({ length: R }, (_, r) => ({ prompt: Math.floor(r / G), sample: r % G, ids: [], logps: [], finish: "length" as FinishReason }));
  const live = new Array<boolean>(R).fill(true);
  let logits = cache.logits;
  try {
    for (let s = 0; s < S; s++) {
      sampleTokens(gpu, logits, { ids, logpSample, logpPolicy }, { temperature: opts.temperature, topK: opts.topK ?? 0, topP: opts.topP ?? 1, seed: opts.seed, step: s, rowOffset: opts.rowOffset ?? 0, rowIds });
      releaseTensor(gpu, logits);
      const got = (await readTensor(gpu, ids)) as Uint32Array;
      const lp = (await readTensor(gpu, logpPolicy)) as Float32Array;
      let liveCount = 0;
      rows.forEach((r, i) => {
        if (!live[r]) return;
        const o = out[r]!;
        o.ids.push(got[i]!);
        o.logps.push(lp[i]!);
        if (stopIds.has(got[i]!)) o.finish = "eos";
        else if (opts.stopStrings?.length && opts.decode) {
          const tail = opts.decode(o.ids.slice(-STOP_WINDOW));
          if (opts.stopStrings.some((x) => tail.includes(x))) o.finish = "stop";
        }
        if (o.finish !== "length") live[r] = false;
        else liveCount++;
      });
      opts.onStep?.(s, liveCount);
      if (liveCount === 0 || s === S - 1) break;
      if (opts.compact !== false && liveCount <= rows.length / 2 && rows.length > minRows) {
        // Keep the live rows (padded with finished ones up to minRows), in order; gather their state.
        const keep = rows.map((r, i) => (live[r] ? i : -1)).filter((i) => i >= 0);
        for (let i = 0; keep.length < minRows; i++) if (!live[rows[i]!]) keep.push(i);
        keep.sort((a, b) => a - b);
        const Rc = rows.length;
        const Rn = keep.length;
        const slots = tensorFrom(gpu, Uint32Array.from({ length: S * Rn }, (_, x) => Math.floor(x / Rn) * Rc + keep[x % Rn]!), [S * Rn], "u32", "gen.keep");
        const gather = (t: Tensor): Tensor => {
          const g = createTensor(gpu, [S, Rn, F], "f32", t.label);
          embeddingForward(gpu, slots, reshape(t, [S * Rc, F]), reshape(g, [S * Rn, F]));
          releaseTensor(gpu, t);
          return g;
        };
        ownK = ownK.map(gather);
        ownV = ownV.map(gather);
        rows = keep.map((i) => rows[i]!);
        rowPrompt = rows.map((r) => Math.floor(r / G));
        for (const t of [slots, prefixRow, ids, logpSample, logpPolicy, rowIds]) releaseTensor(gpu, t);
        prefixRow = tensorFrom(gpu, rowPrompt, [Rn], "u32", "gen.prefixRow");
        ids = tensorFrom(gpu, keep.map((i) => got[i]!), [Rn], "u32", "gen.ids");
        logpSample = createTensor(gpu, [Rn], "f32", "gen.logpSample");
        logpPolicy = createTensor(gpu, [Rn], "f32", "gen.logpPolicy");
        rowIds = tensorFrom(gpu, rows.map(drawRow), [Rn], "u32", "gen.rowIds");
      }
      logits = decodeStep(gpu, cfg, params, { cache, prefixRow, ownK, ownV, ids, step: s, rowPrompt, share: rows.length === R ? G : 1, prompts, head });
    }
  } finally {
    for (const t of [logits, ...("blocks" in head ? head.blocks : []), ...cache.k, ...cache.v, cache.len, prefixRow, ...ownK, ...ownV, ids, logpSample, logpPolicy, rowIds]) if (!t.released) releaseTensor(gpu, t);
    await sync(gpu, "generate");
  }
  return out;
}

/** Feeds the tokens sampled at step s (at position len + s) and returns the next logits [R, V]. */
function decodeStep(
  gpu: Gpu, cfg: ModelConfig, params: Params,
  st: {
    cache: PrefixCache; prefixRow: Tensor; ownK: Tensor[]; ownV: Tensor[]; ids: Tensor; step: number; prompts: readonly (readonly number[])[];
    /** Each row's prompt; rows i·share .. i·share + share − 1 read the same one. */
    rowPrompt: readonly number[]; share: number; head: Head;
  },
): Tensor {
  profilePart(gpu, "decode");
  const view = modelView(cfg, params);
  const R = st.ids.size;
  const s = st.step;
  const positions = tensorFrom(gpu, st.rowPrompt.map((p) => st.prompts[p]!.length + s), [R], "u32", "gen.positions");
  const ownLen = tensorFrom(gpu, new Array<number>(R).fill(s + 1), [R], "u32", "gen.ownLen");
  const inp: LayerInputs = { B: R, T: 1, positions, attention: { heads: cfg.numHeads, kvHeads: cfg.numKvHeads } };
  let x = createTensor(gpu, [R, cfg.hiddenSize], "f32", "gen.x");
  embeddingForward(gpu, st.ids, view.embed, x);
  view.layers.forEach((w, l) => {
    const attend = (q: Tensor, k: Tensor, v: Tensor, att: Tensor): Tensor => {
      copyRows(gpu, k, 0, st.ownK[l]!, s * R, R, k.shape[1]!);
      copyRows(gpu, v, 0, st.ownV[l]!, s * R, R, v.shape[1]!);
      attentionDecode(gpu, q, { k: st.cache.k[l]!, v: st.cache.v[l]!, row: st.prefixRow, len: st.cache.len }, { k: st.ownK[l]!, v: st.ownV[l]!, len: ownLen }, att, { heads: cfg.numHeads, kvHeads: cfg.numKvHeads, rowsPerPrefix: st.share });
      return createTensor(gpu, [1], "f32", "gen.noLse");
    };
    const { out, saved } = layerForward(gpu, cfg, w, x, inp, attend);
    releaseLayerSaved(gpu, saved);
    releaseTensor(gpu, x);
    x = out;
  });
  const logits = logitsOf(gpu, cfg, params, x, st.head);
  for (const t of [x, positions, ownLen]) releaseTensor(gpu, t);
  return logits;
}

// Row reductions in a fixed order (deterministic: no atomics, same tree every run).
// Bindings: 0 params, 1 x (read, flat), 2 out (read_write; rows written from out_offset on),
//   3 x4 (sum_chunks only: a vec4 view of x's first n/4*4 elements).
//   sum_rows:   out[out_offset + r] = scale * sum_{c < cols, r*cols + c < n} x[r*cols + c]
//               (with the override SQUARE: the sum of x², for gradient norms)
//   max_rows:   out[out_offset + r] = max_{c < cols, r*cols + c < n} x[r*cols + c]
//   sum_chunks: sum_rows for chunks of a flat array, cols a multiple of 4, read as vec4 (n >= 4);
//               the last n mod 4 elements are added by lane 0 of the last chunk.
// With n = rows*cols these reduce the rows of a [rows, cols] matrix; with n < rows*cols they reduce
// chunks of a flat array (the first stage of a full reduction). scale = 1/cols gives the mean.
// The host guarantees every row has at least one element (r*cols < n), so max_rows needs no -inf.
// max_rows of a row holding a NaN is unspecified (WGSL's max does not promise to propagate it).
// Grid: one workgroup of WG (<= 256; 64 on CPU adapters, where barriers are expensive) per row,
// 1-D count folded by the host. Each invocation reduces a strided slice of the row, then a
// workgroup-memory tree combines the WG partial results.

struct Params { rows: u32, cols: u32, n: u32, out_offset: u32, scale: f32 }

override SQUARE: bool = false;
override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read> x4: array<vec4f>;

var<workgroup> partial: array<f32, 256>;

fn row_index(wid: vec3u, nwg: vec3u) -> u32 {
  return wid.x + wid.y * nwg.x + wid.z * nwg.x * nwg.y;
}

@compute @workgroup_size(WG)
fn sum_rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = row_index(wid, nwg);
  var acc = 0.0;
  if (row < p.rows) {
    let start = row * p.cols;
    let end = min(start + p.cols, p.n);
    for (var i = start + lid; i < end; i += WG) {
      acc += term(x[i]);
    }
  }
  sum_tree(row, lid, acc);
}

// Combines the workgroup's partial sums in a fixed tree and writes row `row`. Reached by every
// invocation, also in rows past the end (uniform control flow for the barriers).
fn sum_tree(row: u32, lid: u32, acc: f32) {
  partial[lid] = acc;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) {
      partial[lid] += partial[lid + stride];
    }
    workgroupBarrier();
  }
  if (lid == 0u && row < p.rows) {
    out[p.out_offset + row] = partial[0] * p.scale;
  }
}

fn term(v: f32) -> f32 {
  if (SQUARE) { return v * v; }
  return v;
}

@compute @workgroup_size(WG)
fn sum_chunks(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = row_index(wid, nwg);
  var acc = 0.0;
  if (row < p.rows) {
    let n4 = p.n / 4u;
    let start = row * (p.cols / 4u);
    let end = min(start + p.cols / 4u, n4);
    for (var i = start + lid; i < end; i += WG) {
      let v = x4[i];
      if (SQUARE) { acc += dot(v, v); } else { acc += (v.x + v.y) + (v.z + v.w); }
    }
    if (lid == 0u && row == p.rows - 1u) {
      for (var i = n4 * 4u; i < p.n; i++) { acc += term(x[i]); }
    }
  }
  sum_tree(row, lid, acc);
}

@compute @workgroup_size(WG)
fn max_rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = row_index(wid, nwg);
  var acc = 0.0;
  if (row < p.rows) {
    let start = row * p.cols;
    let end = min(start + p.cols, p.n);
    acc = x[start]; // the row's first element: a neutral start for lanes with nothing to read
    for (var i = start + lid; i < end; i += WG) {
      acc = max(acc, x[i]);
    }
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) {
      partial[lid] = max(partial[lid], partial[lid + stride]);
    }
    workgroupBarrier();
  }
  if (lid == 0u && row < p.rows) {
    out[p.out_offset + row] = partial[0];
  }
}

// Row reductions in a fixed order (deterministic: no atomics, same tree every run).
// Bindings: 0 params, 1 x (read, flat), 2 out [rows] (read_write).
//   sum_rows: out[r] = scale * sum_{c < cols, r*cols + c < n} x[r*cols + c]
// With n = rows*cols this sums the rows of a [rows, cols] matrix; with n < rows*cols it sums
// chunks of a flat array (the first stage of a full sum). scale = 1/cols gives the mean.
// Grid: one workgroup of 256 per row (1-D count, folded by the host). Each invocation adds a
// strided slice of the row, then a shared-memory tree combines the 256 partial sums.

struct Params { rows: u32, cols: u32, n: u32, scale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(256)
fn sum_rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x + wid.z * nwg.x * nwg.y;
  // Every invocation reaches the barriers below, also in rows past the end (uniform control flow).
  var acc = 0.0;
  if (row < p.rows) {
    let start = row * p.cols;
    let end = min(start + p.cols, p.n);
    for (var i = start + lid; i < end; i += 256u) {
      acc += x[i];
    }
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var stride = 128u; stride > 0u; stride >>= 1u) {
    if (lid < stride) {
      partial[lid] += partial[lid + stride];
    }
    workgroupBarrier();
  }
  if (lid == 0u && row < p.rows) {
    out[row] = partial[0] * p.scale;
  }
}

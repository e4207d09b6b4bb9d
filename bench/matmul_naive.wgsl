// Baseline for `longrl bench matmul`: C = A·B with one output element per invocation, every
// operand read straight from storage. Not used by longrl itself; it is the yardstick.
// Bindings: 0 params, 1 a [M, K], 2 b [K, N], 3 c [M, N]. Grid: [ceil(N/16), ceil(M/16)].

struct Params { M: u32, N: u32, K: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

@compute @workgroup_size(16, 16)
fn matmul_naive(@builtin(global_invocation_id) g: vec3u) {
  let row = g.y;
  let col = g.x;
  if (row >= p.M || col >= p.N) { return; }
  var s = 0.0;
  for (var k = 0u; k < p.K; k++) {
    s += a[row * p.K + k] * b[k * p.N + col];
  }
  c[row * p.N + col] = s;
}

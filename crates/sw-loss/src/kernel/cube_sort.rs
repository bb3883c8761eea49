//! Bitonic row sort with indices in CubeCL, for every CubeCL runtime (wgpu here; cuda shares
//! the code), and the scatter that is its backward.
//!
//! ```text
//! rows r of x [R, n], padded to N = 2^⌈log₂ n⌉;  key(k) = (x_{r,k}, k),  k ≥ n pads (largest)
//! for size = 2, 4, …, N:                         bitonic network on keys (Batcher 1968)
//!   for stride = size/2, …, 1:
//!     pairs (i, i + stride) with i & stride = 0: order ascending iff i & size = 0
//! ```
//! Keys are distinct (the index breaks ties), so the result is the stable sort, whatever the
//! order the network visits pairs in, and no value needs reserving for the padding.
//!
//! Work split, with T the largest power of two ≤ 4096 whose values and indices fit in the
//! device's shared memory less 1 KiB (T = N when N is smaller):
//! * `tile_pass` (size 0): one cube per tile of T keys runs every `size ≤ T` in shared memory;
//! * for each `size > T`: `merge_global` (one unit per pair, global memory) for each
//!   `stride ≥ T`, then `tile_pass` (size) runs the strides `< T` of that size in shared memory.
//!
//! So n ≤ T is one launch; n = 65 536 with T = 4096 is 1 + 4 + (1+2+3+4) = 15 launches. The
//! last launch writes the first n keys of each row to the outputs. `unsort` is one launch of
//! one unit per element. The reference twin is Burn's `sort_with_indices` (see `row_sort`).

use burn::tensor::{DType, IntDType, Shape};
use burn_cubecl::{
    CubeBackend, CubeElement, kernel::into_contiguous, ops::numeric::empty_device_dtype,
    tensor::CubeTensor,
};
use cubecl::client::Client;
use cubecl::prelude::*;
use cubecl::server::CubeCountSelection;
use cubecl::{CubeCount, calculate_cube_count_elemwise};

use super::row_sort::RowSortOps;

/// Largest tile the shared-memory kernels use.
const MAX_TILE: usize = 4096;
/// Shared memory (bytes) the tile size leaves unused.
const SMEM_MARGIN: usize = 1024;
/// Most units per cube the shared-memory kernels launch.
const MAX_UNITS: u32 = 512;

/// `(va, ia) > (vb, ib)` in key order; indices `≥ n` are padding and larger than every key.
#[cube]
fn key_greater<F: Float>(va: F, ia: u32, vb: F, ib: u32, n: u32) -> bool {
    let mut greater = ia > ib;
    if ia < n && ib < n {
        greater = va > vb || (va == vb && ia > ib);
    }
    greater
}

/// Compare-exchange of positions `lo < hi` of a shared tile; ascending when `asc`.
#[cube]
fn exchange<F: Float>(
    sv: &mut Shared<[F]>,
    si: &mut Shared<[u32]>,
    lo: u32,
    hi: u32,
    asc: bool,
    n: u32,
) {
    let (l, h) = (lo as usize, hi as usize);
    let va = sv[l];
    let vb = sv[h];
    let ia = si[l];
    let ib = si[h];
    if key_greater::<F>(va, ia, vb, ib, n) == asc {
        sv[l] = vb;
        sv[h] = va;
        si[l] = ib;
        si[h] = ia;
    }
}

/// Strides `first_stride, …, 1` of bitonic stage `size` on one shared tile whose first key
/// sits at row position `base`.
#[cube]
fn tile_strides<F: Float>(
    sv: &mut Shared<[F]>,
    si: &mut Shared<[u32]>,
    base: u32,
    size: u32,
    first_stride: u32,
    n: u32,
    #[comptime] tile: u32,
) {
    let half = tile / 2;
    let mut stride = first_stride;
    while stride > 0 {
        let mut p = UNIT_POS;
        while p < half {
            let lo = (p / stride) * 2 * stride + p % stride;
            let asc = ((base + lo) & size) == 0;
            exchange::<F>(sv, si, lo, lo + stride, asc, n);
            p += CUBE_DIM;
        }
        sync_cube();
        stride /= 2;
    }
}

/// Writes a shared tile to the padded work rows, or (`last`) its real keys to the outputs.
#[cube]
#[allow(clippy::too_many_arguments)]
fn store_tile<F: Float, I: Int>(
    sv: &Shared<[F]>,
    si: &Shared<[u32]>,
    work_v: &mut [F],
    work_i: &mut [u32],
    out_v: &mut [F],
    out_i: &mut [I],
    row: u32,
    base: u32,
    n: u32,
    n_pad: u32,
    last: u32,
    #[comptime] tile: u32,
) {
    let mut k = UNIT_POS;
    while k < tile {
        let pos = base + k;
        if last == 1 {
            if pos < n {
                let at = (row * n + pos) as usize;
                out_v[at] = sv[k as usize];
                out_i[at] = I::cast_from(si[k as usize]);
            }
        } else {
            let at = (row * n_pad + pos) as usize;
            work_v[at] = sv[k as usize];
            work_i[at] = si[k as usize];
        }
        k += CUBE_DIM;
    }
}

/// One cube per tile of `tile` keys of one row. With `size = 0`: load the keys from `input`
/// (padding past `n`) and run every bitonic stage of size ≤ `tile`; with `size > tile`: load
/// them from the work rows and run the strides `< tile` of stage `size`. Then store.
#[cube(launch_unchecked)]
#[allow(clippy::too_many_arguments)]
fn tile_pass<F: Float, I: Int>(
    input: &[F],
    work_v: &mut [F],
    work_i: &mut [u32],
    out_v: &mut [F],
    out_i: &mut [I],
    n: u32,
    n_pad: u32,
    tiles_per_row: u32,
    num_tiles: u32,
    size: u32,
    last: u32,
    #[comptime] tile: u32,
) {
    let t = CUBE_POS as u32;
    if t >= num_tiles {
        terminate!();
    }
    let row = t / tiles_per_row;
    let base = (t % tiles_per_row) * tile;
    let mut sv = Shared::<[F]>::new_slice(tile as usize);
    let mut si = Shared::<[u32]>::new_slice(tile as usize);
    let mut k = UNIT_POS;
    while k < tile {
        let pos = base + k;
        if size > 0 {
            let at = (row * n_pad + pos) as usize;
            sv[k as usize] = work_v[at];
            si[k as usize] = work_i[at];
        } else {
            if pos < n {
                sv[k as usize] = input[(row * n + pos) as usize];
            } else {
                sv[k as usize] = F::new(0.0);
            }
            si[k as usize] = pos;
        }
        k += CUBE_DIM;
    }
    sync_cube();
    if size > 0 {
        tile_strides::<F>(&mut sv, &mut si, base, size, tile / 2, n, tile);
    } else {
        let mut stage = 2u32;
        while stage <= tile {
            tile_strides::<F>(&mut sv, &mut si, base, stage, stage / 2, n, tile);
            stage *= 2;
        }
    }
    store_tile::<F, I>(
        &sv, &si, work_v, work_i, out_v, out_i, row, base, n, n_pad, last, tile,
    );
}

/// One compare-exchange per unit, in global memory, for one `(size, stride)` with
/// `stride ≥ tile`.
#[cube(launch_unchecked)]
fn merge_global<F: Float>(
    work_v: &mut [F],
    work_i: &mut [u32],
    n: u32,
    n_pad: u32,
    num_pairs: u32,
    size: u32,
    stride: u32,
) {
    let pair = ABSOLUTE_POS as u32;
    if pair >= num_pairs {
        terminate!();
    }
    let half = n_pad / 2;
    let row = pair / half;
    let p = pair % half;
    let lo = (p / stride) * 2 * stride + p % stride;
    let asc = (lo & size) == 0;
    let a = (row * n_pad + lo) as usize;
    let b = a + stride as usize;
    let va = work_v[a];
    let vb = work_v[b];
    let ia = work_i[a];
    let ib = work_i[b];
    if key_greater::<F>(va, ia, vb, ib, n) == asc {
        work_v[a] = vb;
        work_v[b] = va;
        work_i[a] = ib;
        work_i[b] = ia;
    }
}

/// `h[r, σ[r, k]] = g[r, k]`, one unit per element.
#[cube(launch_unchecked)]
fn unsort<F: Float, I: Int>(grad: &[F], indices: &[I], out: &mut [F], n: u32, len: u32) {
    let at = ABSOLUTE_POS as u32;
    if at >= len {
        terminate!();
    }
    let row = at / n;
    // An index outside 0..n (not a permutation; negative ones wrap) writes nothing.
    let j = u32::cast_from(indices[at as usize]);
    if j < n {
        out[(row * n + j) as usize] = grad[at as usize];
    }
}

/// A grid of `cubes` cubes, spread over as many axes as the device's per-axis limit needs.
fn cube_count(client: &Client, cubes: usize) -> CubeCount {
    CubeCountSelection::new(client, cubes as u32).cube_count()
}

/// The launch geometry for one row length on one device.
struct Plan {
    rows: usize,
    n_pad: usize,
    tile: usize,
    units: u32,
}

impl Plan {
    fn new(client_smem: usize, client_units: u32, rows: usize, n: usize, elem: usize) -> Self {
        let n_pad = n.next_power_of_two();
        // Leave SMEM_MARGIN bytes of the device's shared memory to the compiler (an f64 tile of
        // 4096 would otherwise fill NVIDIA's 48 KiB to the byte).
        let budget = client_smem.saturating_sub(SMEM_MARGIN);
        let mut tile_max = 2;
        while tile_max * 2 <= MAX_TILE && tile_max * 2 * (elem + 4) <= budget {
            tile_max *= 2;
        }
        let tile = n_pad.min(tile_max);
        let units = ((tile / 2).max(1) as u32).min(client_units).min(MAX_UNITS);
        Self {
            rows,
            n_pad,
            tile,
            units,
        }
    }

    fn tiles_per_row(&self) -> usize {
        self.n_pad / self.tile
    }

    fn num_tiles(&self) -> usize {
        self.rows * self.tiles_per_row()
    }
}

/// Launches the sort of `x: [R, n]` (contiguous) with element `F` and index `I`.
fn launch_sort<F: Float + CubeElement, I: Int + CubeElement>(
    x: CubeTensor,
    index_dtype: DType,
) -> (CubeTensor, CubeTensor) {
    let shape = x.meta.shape().clone();
    let (rows, n) = (shape[0], shape[1]);
    let client = x.client.clone();
    let device = x.device.clone();
    let out_v = empty_device_dtype(client.clone(), device.clone(), shape.clone(), x.dtype);
    let out_i = empty_device_dtype(client.clone(), device.clone(), shape.clone(), index_dtype);
    if rows == 0 || n == 0 {
        return (out_v, out_i);
    }
    let hw = &client.properties().hardware;
    let plan = Plan::new(
        hw.max_shared_memory_size,
        hw.max_units_per_cube,
        rows,
        n,
        size_of::<F>(),
    );
    assert!(
        rows * plan.n_pad < u32::MAX as usize / 2,
        "sort_rows: {rows} rows of {n} (padded to {}) exceed the kernel's 32-bit positions",
        plan.n_pad
    );
    let single = plan.n_pad == plan.tile;
    // The padded work rows exist only when more than one launch touches a row.
    let work_len = if single { 1 } else { rows * plan.n_pad };
    let work_v = empty_device_dtype(
        client.clone(),
        device.clone(),
        Shape::new([work_len]),
        x.dtype,
    );
    let work_i = empty_device_dtype(
        client.clone(),
        device.clone(),
        Shape::new([work_len]),
        DType::U32,
    );
    let dtype = x.dtype;
    let tiles = cube_count(&client, plan.num_tiles());
    let dim = CubeDim::new_1d(plan.units);
    let (n32, n_pad32) = (n as u32, plan.n_pad as u32);
    let (tpr, num_tiles) = (plan.tiles_per_row() as u32, plan.num_tiles() as u32);
    let tile = plan.tile as u32;
    let pass = |input: BufferArg, size: usize, last: bool| {
        // SAFETY: every index is in bounds by construction: cubes and units past the work
        // return first; the input is read only at positions < n of rows < R (and not at all
        // when size > 0); work rows are n_pad long and tiles (T | n_pad) lie inside them.
        unsafe {
            tile_pass::launch_unchecked::<F, I>(
                &client,
                tiles.clone(),
                dim,
                input,
                work_v.clone().into_buffer_arg(),
                work_i.clone().into_buffer_arg(),
                out_v.clone().into_buffer_arg(),
                out_i.clone().into_buffer_arg(),
                n32,
                n_pad32,
                tpr,
                num_tiles,
                size as u32,
                last as u32,
                tile,
            );
        }
    };
    pass(x.into_buffer_arg(), 0, single);
    if single {
        return (out_v, out_i);
    }
    let dummy = empty_device_dtype(client.clone(), device, Shape::new([1]), dtype);
    let num_pairs = rows * plan.n_pad / 2;
    let pair_dim = CubeDim::new(&client, num_pairs);
    let pair_count = calculate_cube_count_elemwise(&client, num_pairs, pair_dim);
    let mut size = plan.tile * 2;
    while size <= plan.n_pad {
        let mut stride = size / 2;
        while stride >= plan.tile {
            // SAFETY: pairs past num_pairs return first; lo + stride < n_pad inside each row.
            unsafe {
                merge_global::launch_unchecked::<F>(
                    &client,
                    pair_count.clone(),
                    pair_dim,
                    work_v.clone().into_buffer_arg(),
                    work_i.clone().into_buffer_arg(),
                    n32,
                    n_pad32,
                    num_pairs as u32,
                    size as u32,
                    stride as u32,
                );
            }
            stride /= 2;
        }
        // The input is not read when size > 0: a 1-element stand-in fills its binding.
        pass(dummy.clone().into_buffer_arg(), size, size == plan.n_pad);
        size *= 2;
    }
    (out_v, out_i)
}

/// Launches the scatter `h[r, σ[r, k]] = g[r, k]` (both contiguous `[R, n]`).
fn launch_unsort<F: Float + CubeElement, I: Int + CubeElement>(
    grad: CubeTensor,
    indices: CubeTensor,
) -> CubeTensor {
    let shape = grad.meta.shape().clone();
    let (rows, n) = (shape[0], shape[1]);
    let client = grad.client.clone();
    let out = empty_device_dtype(client.clone(), grad.device.clone(), shape, grad.dtype);
    let len = rows * n;
    if len == 0 {
        return out;
    }
    assert!(
        len < u32::MAX as usize,
        "unsort_rows: {len} elements exceed the kernel's 32-bit positions"
    );
    let dim = CubeDim::new(&client, len);
    let count = calculate_cube_count_elemwise(&client, len, dim);
    // SAFETY: units past `len` return first and the kernel writes only at indices < n of
    // its own row.
    unsafe {
        unsort::launch_unchecked::<F, I>(
            &client,
            count,
            dim,
            grad.into_buffer_arg(),
            indices.into_buffer_arg(),
            out.clone().into_buffer_arg(),
            n as u32,
            len as u32,
        );
    }
    out
}

fn check_rows(op: &str, t: &CubeTensor) {
    assert_eq!(
        t.meta.shape().num_dims(),
        2,
        "{op}: expected rows [R, n], got shape {:?}",
        t.meta.shape()
    );
}

macro_rules! by_dtypes {
    ($f:ident, $float:expr, $int:expr, $($arg:expr),*) => {
        match ($float, $int) {
            (DType::F32, DType::I32) => $f::<f32, i32>($($arg),*),
            (DType::F32, DType::I64) => $f::<f32, i64>($($arg),*),
            (DType::F32, DType::U32) => $f::<f32, u32>($($arg),*),
            (DType::F64, DType::I32) => $f::<f64, i32>($($arg),*),
            (DType::F64, DType::I64) => $f::<f64, i64>($($arg),*),
            (DType::F64, DType::U32) => $f::<f64, u32>($($arg),*),
            (float, int) => panic!(
                "{}: no device kernel for values {float:?} with indices {int:?} \
                 (f32/f64 values, i32/i64/u32 indices)",
                stringify!($f)
            ),
        }
    };
}

impl RowSortOps for CubeBackend {
    fn sort_rows(x: CubeTensor, indices_dtype: IntDType) -> (CubeTensor, CubeTensor) {
        check_rows("sort_rows", &x);
        let x = into_contiguous(x);
        let index_dtype: DType = indices_dtype.into();
        by_dtypes!(launch_sort, x.dtype, index_dtype, x, index_dtype)
    }

    fn unsort_rows(grad: CubeTensor, indices: CubeTensor) -> CubeTensor {
        check_rows("unsort_rows", &grad);
        assert_eq!(
            grad.meta.shape(),
            indices.meta.shape(),
            "unsort_rows: gradient and indices must have the same shape"
        );
        let (grad, indices) = (into_contiguous(grad), into_contiguous(indices));
        by_dtypes!(launch_unsort, grad.dtype, indices.dtype, grad, indices)
    }
}

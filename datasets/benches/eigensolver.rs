//! Laplace–Beltrami eigenpairs: dense vs sparse shift-invert (block Lanczos), K = 128 (the
//! official DiffusionNet `k_eig`) and K = 200 (the functional-map basis), on bumpy spheres of
//! 2 562 and 10 242 vertices (FAUST_r/SCAPE_r shapes have ~5 000). Prints one JSON line per
//! (mesh, K, solver) with the seconds and the first eigenvalues.
//!
//! `cargo bench -p datasets --bench eigensolver [-- DUMP_DIR]`: with `DUMP_DIR`, also writes
//! each mesh's `L` (COO: `rows`, `cols`, `vals`) and `mass` as `.npy` there, for
//! `scripts/bench/eigsh_anchor.py`, which times the official
//! `scipy.sparse.linalg.eigsh(L + eps·I, k, M=diag(mass), sigma=eps)` on the same matrices.

use std::path::PathBuf;
use std::time::Instant;

use datasets::geometry::{EigenSolver, cotangent_laplacian, eigenpairs_with, lumped_mass};
use datasets::synthetic_mesh::bumpy_sphere;
use npyz::WriterBuilder;

fn write_npy<T: npyz::Serialize + npyz::AutoSerialize + Copy>(path: PathBuf, data: &[T]) {
    let mut out = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&[data.len() as u64])
        .writer(std::io::BufWriter::new(
            std::fs::File::create(&path).unwrap(),
        ))
        .begin_nd()
        .unwrap();
    out.extend(data.iter().copied()).unwrap();
    out.finish().unwrap();
}

fn main() {
    let dump: Option<PathBuf> = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map(PathBuf::from);
    for subdivision in [4usize, 5] {
        let mesh = bumpy_sphere(subdivision, 0.15, 11);
        let v = mesh.num_vertices();
        let l = cotangent_laplacian(&mesh).unwrap();
        let m = lumped_mass(&mesh).unwrap();
        if let Some(dir) = &dump {
            std::fs::create_dir_all(dir).unwrap();
            let (mut rows, mut cols, mut vals) = (Vec::new(), Vec::new(), Vec::new());
            for i in 0..v {
                for (j, x) in l.row(i) {
                    rows.push(i as i64);
                    cols.push(j as i64);
                    vals.push(x);
                }
            }
            write_npy(dir.join(format!("L{v}_rows.npy")), &rows);
            write_npy(dir.join(format!("L{v}_cols.npy")), &cols);
            write_npy(dir.join(format!("L{v}_vals.npy")), &vals);
            write_npy(dir.join(format!("mass{v}.npy")), &m);
        }
        for k in [128usize, 200] {
            for (name, solver) in [
                ("dense", EigenSolver::Dense),
                ("shift-invert", EigenSolver::ShiftInvert),
            ] {
                if solver == EigenSolver::Dense && v > 3000 {
                    continue; // 10k × 10k dense: 800 MB and O(V³)
                }
                let t = Instant::now();
                let b = eigenpairs_with(&l, &m, k, solver).unwrap();
                let secs = t.elapsed().as_secs_f64();
                println!(
                    "{{\"vertices\": {v}, \"k\": {k}, \"solver\": \"{name}\", \"seconds\": {secs:.4}, \
                     \"lambda_1\": {:.10e}, \"lambda_last\": {:.10e}}}",
                    b.evals[1],
                    b.evals[k - 1]
                );
            }
        }
    }
}

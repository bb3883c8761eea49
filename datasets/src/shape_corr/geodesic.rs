//! Geodesic distances on a mesh by exact Dijkstra on its edge graph (edge weights = edge
//! lengths). This over-estimates the true surface geodesic (paths follow edges; on a
//! regular triangulation by a few percent), but is exact for the graph and has no
//! parameters; the heat method is not used. Normalised by √area as the field reports errors:
//! ULRSSM's preprocessing (preprocess.py lines 49–56) rescales the *vertices* to unit area
//! before computing its geodesic matrices, which is the same as dividing the distances of the
//! original mesh by √area ([`crate::Mesh::unit_area_centered`] does the rescaling).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::mesh::Mesh;

#[derive(PartialEq)]
struct Item(f64, usize);
impl Eq for Item {}
impl PartialOrd for Item {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Item {
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.total_cmp(&self.0).then(other.1.cmp(&self.1))
    }
}

/// All-pairs edge-graph distances `[V, V]` row-major (`f64::INFINITY` between components).
pub fn edge_graph_geodesics(mesh: &Mesh) -> Vec<f64> {
    let v = mesh.num_vertices();
    let mut adj: Vec<Vec<(usize, f64)>> = vec![Vec::new(); v];
    for (a, b) in mesh.edges() {
        let (a, b) = (a as usize, b as usize);
        let l = (0..3)
            .map(|k| (mesh.vertices[3 * a + k] as f64 - mesh.vertices[3 * b + k] as f64).powi(2))
            .sum::<f64>()
            .sqrt();
        adj[a].push((b, l));
        adj[b].push((a, l));
    }
    let mut out = vec![f64::INFINITY; v * v];
    for s in 0..v {
        let row = &mut out[s * v..(s + 1) * v];
        row[s] = 0.0;
        let mut heap = BinaryHeap::from([Item(0.0, s)]);
        while let Some(Item(d, i)) = heap.pop() {
            if d > row[i] {
                continue;
            }
            for &(j, l) in &adj[i] {
                if d + l < row[j] {
                    row[j] = d + l;
                    heap.push(Item(d + l, j));
                }
            }
        }
    }
    out
}

/// Edge-graph distances divided by √(mesh area).
pub fn normalised_geodesics(mesh: &Mesh) -> Vec<f64> {
    let scale = mesh.area().sqrt();
    edge_graph_geodesics(mesh)
        .into_iter()
        .map(|d| d / scale)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dijkstra_is_a_metric_close_to_great_circles_on_the_sphere() {
        let mesh = crate::synthetic_mesh::icosphere(3);
        let v = mesh.num_vertices();
        let d = edge_graph_geodesics(&mesh);
        let p = |i: usize| [0, 1, 2].map(|k| mesh.vertices[3 * i + k] as f64);
        for (a, b) in [(0, 7), (3, 400), (11, 641), (100, 200)] {
            assert!((d[a * v + b] - d[b * v + a]).abs() < 1e-12);
            let cos = p(a)
                .iter()
                .zip(p(b))
                .map(|(x, y)| x * y)
                .sum::<f64>()
                .clamp(-1.0, 1.0);
            let great = cos.acos();
            // graph paths are never shorter than the surface geodesic of the inscribed mesh
            // (≤ great circle) and on this mesh at most ~15% longer
            assert!(
                d[a * v + b] >= 0.97 * great && d[a * v + b] <= 1.15 * great,
                "{a},{b}: {} vs {great}",
                d[a * v + b]
            );
        }
        for (a, b, c) in [(1, 50, 300), (5, 6, 600)] {
            assert!(d[a * v + c] <= d[a * v + b] + d[b * v + c] + 1e-12);
        }
    }
}

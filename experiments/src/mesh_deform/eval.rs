//! The mesh comparison table: CortexODE's metrics per loss (Chamfer, ASSD, HD90, SIF %, flipped
//! faces, normal consistency, seconds) as CSV cells and as text naming the best loss per column.

use super::losses::LOSSES;
use anyhow::{Result, anyhow};
use burn::tensor::Tensor;
use datasets::Mesh;
use models::mesh_ode::metrics::MeshMetrics;

/// The columns of every mesh comparison table (after `loss`).
pub const COLUMNS: [&str; 7] = [
    "chamfer",
    "assd",
    "hd90",
    "sif_percent",
    "flipped",
    "normal_consistency",
    "seconds",
];

/// The CSV cells of [`COLUMNS`].
pub fn cells(m: &MeshMetrics, seconds: f64) -> [String; 7] {
    [
        format!("{:.6e}", m.chamfer),
        format!("{:.6e}", m.assd),
        format!("{:.6e}", m.hd90),
        format!("{:.4}", m.sif_percent),
        m.flipped.to_string(),
        format!("{:.6}", m.normal_consistency),
        format!("{seconds:.2}"),
    ]
}

/// Writes `comparison.csv` at `path`: a `loss` column, then [`COLUMNS`], one row per loss.
pub fn write_comparison(path: &std::path::Path, rows: &[(String, MeshMetrics, f64)]) -> Result<()> {
    let mut table = csv::Writer::from_path(path)?;
    table.write_record(["loss"].iter().chain(&COLUMNS))?;
    for (loss, m, s) in rows {
        table.write_record(std::iter::once(loss.clone()).chain(cells(m, *s)))?;
    }
    table.flush()?;
    Ok(())
}

/// The comparison table as text, one row per loss, and the best loss in each column (rows not
/// named after a loss, such as the undeformed template, are shown but not ranked).
pub fn table_text(rows: &[(String, MeshMetrics, f64)]) -> String {
    let mut text = format!(
        "\n{:<13}{:>12}{:>11}{:>11}{:>8}{:>9}{:>8}{:>9}\n",
        "loss", "chamfer", "assd", "hd90", "sif %", "flipped", "nc", "seconds"
    );
    for (loss, m, s) in rows {
        text += &format!(
            "{:<13}{:>12.3e}{:>11.4}{:>11.4}{:>8.3}{:>9}{:>8.4}{:>9.1}\n",
            loss, m.chamfer, m.assd, m.hd90, m.sif_percent, m.flipped, m.normal_consistency, s
        );
    }
    let losses: Vec<_> = rows
        .iter()
        .filter(|r| LOSSES.contains(&r.0.as_str()))
        .collect();
    if losses.len() > 1 {
        // The loss with the smallest value, or every loss sharing it ("tie: a = b").
        let best = |key: &dyn Fn(&MeshMetrics) -> f64| {
            let min = losses
                .iter()
                .map(|r| key(&r.1))
                .fold(f64::INFINITY, f64::min);
            let winners: Vec<&str> = losses
                .iter()
                .filter(|r| key(&r.1) == min)
                .map(|r| r.0.as_str())
                .collect();
            match winners.len() {
                1 => winners[0].to_string(),
                n if n == losses.len() => "all equal".to_string(),
                _ => format!("tie: {}", winners.join(" = ")),
            }
        };
        text += &format!(
            "best: chamfer {}, assd {}, hd90 {}, sif % {}, flipped {}, nc {}\n",
            best(&|m| m.chamfer),
            best(&|m| m.assd),
            best(&|m| m.hd90),
            best(&|m| m.sif_percent),
            best(&|m| m.flipped as f64),
            best(&|m| -m.normal_consistency),
        );
    }
    text
}

/// The deformed template as a mesh (its `[V, 3]` vertices read back, the template's faces).
pub fn mesh_from(vertices: Tensor<2>, faces: &[u32]) -> Result<Mesh> {
    let v: Vec<f32> = vertices
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .map_err(|e| anyhow!("{e:?}"))?;
    Ok(Mesh::new(v, faces.to_vec())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_names_the_best_loss_and_ties() {
        let m = |chamfer, sif_percent| MeshMetrics {
            chamfer,
            assd: chamfer,
            hd90: chamfer,
            sif_percent,
            flipped: 0,
            normal_consistency: 1.0 - chamfer,
        };
        let rows = vec![
            ("template".to_string(), m(0.0, 0.0), 0.0),
            ("chamfer".to_string(), m(0.2, 1.0), 1.0),
            ("sw-surface".to_string(), m(0.1, 1.0), 1.0),
            ("sw-varifold".to_string(), m(0.3, 2.0), 1.0),
        ];
        let text = table_text(&rows);
        assert!(
            text.contains("best: chamfer sw-surface, assd sw-surface"),
            "{text}"
        );
        assert!(
            text.contains("sif % tie: chamfer = sw-surface, flipped all equal, nc sw-surface"),
            "{text}"
        );
    }
}

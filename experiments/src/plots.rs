//! PNG figures with plotters: line plots (log axes) and three orthographic views of clouds.
//! Text uses the DejaVu Sans font embedded in the binary, so no system font is needed.

use std::path::Path;
use std::sync::Once;

use anyhow::{Result, anyhow};
use plotters::prelude::*;

static FONT: Once = Once::new();

fn register_font() {
    FONT.call_once(|| {
        let bytes: &'static [u8] = include_bytes!("../assets/DejaVuSans.ttf");
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, bytes);
    });
}

/// Colours for series, in order.
pub const PALETTE: [RGBColor; 9] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(23, 190, 207),
];

/// A named series of (x, y) points.
pub struct Series {
    /// Legend label.
    pub label: String,
    /// The points; non-positive values are dropped on log axes.
    pub points: Vec<(f64, f64)>,
}

fn range(values: impl Iterator<Item = f64>, log: bool) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite() && (!log || *v > 0.0)) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (1.0, 10.0);
    }
    if log {
        (lo / 1.5, hi * 1.5)
    } else {
        let pad = ((hi - lo) * 0.05).max(1e-9);
        (lo - pad, hi + pad)
    }
}

/// A line plot with markers, one line per series; either axis may be logarithmic.
pub fn line_plot(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    log_x: bool,
    log_y: bool,
) -> Result<()> {
    register_font();
    let keep = |p: &&(f64, f64)| {
        p.0.is_finite() && p.1.is_finite() && (!log_x || p.0 > 0.0) && (!log_y || p.1 > 0.0)
    };
    let (x0, x1) = range(
        series
            .iter()
            .flat_map(|s| s.points.iter().filter(keep).map(|p| p.0)),
        log_x,
    );
    let (y0, y1) = range(
        series
            .iter()
            .flat_map(|s| s.points.iter().filter(keep).map(|p| p.1)),
        log_y,
    );
    let root = BitMapBackend::new(path, (900, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    macro_rules! draw {
        ($x:expr, $y:expr) => {{
            let mut chart = ChartBuilder::on(&root)
                .caption(title, ("sans-serif", 24))
                .margin(15)
                .x_label_area_size(45)
                .y_label_area_size(80)
                .build_cartesian_2d($x, $y)
                .map_err(|e| anyhow!("{e}"))?;
            chart
                .configure_mesh()
                .x_desc(x_label)
                .y_desc(y_label)
                .x_label_formatter(&|v: &f64| tick(*v, log_x))
                .y_label_formatter(&|v: &f64| tick(*v, log_y))
                .label_style(("sans-serif", 15))
                .draw()
                .map_err(|e| anyhow!("{e}"))?;
            for (i, s) in series.iter().enumerate() {
                let color = PALETTE[i % PALETTE.len()];
                let pts: Vec<(f64, f64)> = s.points.iter().filter(keep).cloned().collect();
                chart
                    .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
                    .map_err(|e| anyhow!("{e}"))?
                    .label(s.label.clone())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                    });
                chart
                    .draw_series(pts.iter().map(|p| Circle::new(*p, 3, color.filled())))
                    .map_err(|e| anyhow!("{e}"))?;
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font(("sans-serif", 16))
                .draw()
                .map_err(|e| anyhow!("{e}"))?;
        }};
    }
    match (log_x, log_y) {
        (true, true) => draw!((x0..x1).log_scale(), (y0..y1).log_scale()),
        (false, true) => draw!(x0..x1, (y0..y1).log_scale()),
        (true, false) => draw!((x0..x1).log_scale(), y0..y1),
        (false, false) => draw!(x0..x1, y0..y1),
    }
    root.present()
        .map_err(|e| anyhow!("writing {}: {e}", path.display()))?;
    Ok(())
}

/// A tick label: rounded to 6 decimals, and on a log axis in scientific form outside
/// [0.01, 1e4] (plotters' default prints "1000000000.0" and "9.99999999e-6").
fn tick(v: f64, log: bool) -> String {
    if log && v != 0.0 && !(0.01..1e4).contains(&v.abs()) {
        format!("{v:.0e}")
    } else {
        format!("{}", (v * 1e6).round() / 1e6)
    }
}

/// Three orthographic views (x–y, x–z, y–z) of point clouds `[n, 3]`, side by side, with a
/// shared scale so shapes are not distorted.
pub fn cloud_views(path: &Path, title: &str, clouds: &[(&str, &[f32])]) -> Result<()> {
    register_font();
    let all = || clouds.iter().flat_map(|(_, c)| c.iter().map(|v| *v as f64));
    let (lo, hi) = range(all(), false);
    let root = BitMapBackend::new(path, (1200, 440)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    let root = root
        .titled(title, ("sans-serif", 22))
        .map_err(|e| anyhow!("{e}"))?;
    let panels = root.split_evenly((1, 3));
    for (panel, (a, b, name)) in
        panels
            .iter()
            .zip([(0usize, 1usize, "x–y"), (0, 2, "x–z"), (1, 2, "y–z")])
    {
        let mut chart = ChartBuilder::on(panel)
            .caption(name, ("sans-serif", 16))
            .margin(8)
            .x_label_area_size(25)
            .y_label_area_size(35)
            .build_cartesian_2d(lo..hi, lo..hi)
            .map_err(|e| anyhow!("{e}"))?;
        chart
            .configure_mesh()
            .label_style(("sans-serif", 11))
            .draw()
            .map_err(|e| anyhow!("{e}"))?;
        for (i, (label, c)) in clouds.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            chart
                .draw_series(
                    c.chunks_exact(3).map(|p| {
                        Circle::new((p[a] as f64, p[b] as f64), 1, color.mix(0.6).filled())
                    }),
                )
                .map_err(|e| anyhow!("{e}"))?
                .label(label.to_string())
                .legend(move |(x, y)| Circle::new((x + 8, y), 4, color.filled()));
        }
        if name == "x–y" {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .label_font(("sans-serif", 13))
                .draw()
                .map_err(|e| anyhow!("{e}"))?;
        }
    }
    root.present()
        .map_err(|e| anyhow!("writing {}: {e}", path.display()))?;
    Ok(())
}

/// Shaded renders of meshes side by side (one panel each, one camera and scale for all; see
/// [`crate::render`]), with a title and a caption per panel.
pub fn mesh_views(
    path: &Path,
    title: &str,
    meshes: &[(&str, &datasets::mesh::Mesh)],
) -> Result<()> {
    use crate::render::{View, frame, render};
    register_font();
    let (size, top) = (420usize, 64usize);
    let (w, h) = (size * meshes.len().max(1), size + top);
    let mut buf = vec![255u8; w * h * 3];
    let framing = frame(&meshes.iter().map(|(_, m)| *m).collect::<Vec<_>>());
    for (i, (_, mesh)) in meshes.iter().enumerate() {
        let c = PALETTE[i % PALETTE.len()];
        let panel = render(mesh, [c.0, c.1, c.2], View::default(), framing, size);
        for y in 0..size {
            let dst = ((y + top) * w + i * size) * 3;
            buf[dst..dst + size * 3].copy_from_slice(&panel.rgb[y * size * 3..(y + 1) * size * 3]);
        }
    }
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w as u32, h as u32)).into_drawing_area();
        let text = |s: &str, px: f64, at: (i32, i32)| {
            root.draw_text(s, &("sans-serif", px).into_font().color(&BLACK), at)
                .map_err(|e| anyhow!("{e}"))
        };
        text(title, 22.0, (12, 8))?;
        for (i, (label, _)) in meshes.iter().enumerate() {
            text(label, 16.0, ((i * size + 12) as i32, 38))?;
        }
        root.present().map_err(|e| anyhow!("{e}"))?;
    }
    image::save_buffer(
        path,
        &buf,
        w as u32,
        h as u32,
        image::ExtendedColorType::Rgb8,
    )
    .map_err(|e| anyhow!("writing {}: {e}", path.display()))
}

//! Synthetic images in CIFAR-10's format: a coloured shape on a two-tone background, with the
//! shape's class as label, so the GAN pipeline runs end to end with no download.
//!
//! Classes 0–9: {disc, square, triangle, ring, cross} × {light, dark} background. Each image
//! draws its position, size, shape colour and background tones at random from a seed.

use rand::{Rng, SeedableRng, rngs::StdRng};

use crate::image::ImageItem;

/// `count` 32×32 images (labels cycle through the 10 classes).
pub fn synthetic_cifar(count: usize, seed: u64) -> Vec<ImageItem> {
    synthetic_images(count, 32, seed)
}

/// `count` square images of side `size`.
pub fn synthetic_images(count: usize, size: usize, seed: u64) -> Vec<ImageItem> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count)
        .map(|i| draw(&mut rng, (i % 10) as u8, size))
        .collect()
}

fn draw(rng: &mut StdRng, label: u8, size: usize) -> ImageItem {
    let shape = label % 5;
    let dark = label >= 5;
    let base: f32 = if dark {
        rng.random_range(10.0..70.0)
    } else {
        rng.random_range(170.0..240.0)
    };
    let bg_a = [
        base + rng.random_range(-10.0..10.0),
        base + rng.random_range(-10.0..10.0),
        base + rng.random_range(-10.0..10.0),
    ];
    let bg_b: [f32; 3] = bg_a.map(|v| (v + rng.random_range(-40.0..40.0)).clamp(0.0, 255.0));
    let fg: [f32; 3] = [
        rng.random_range(0.0..255.0),
        rng.random_range(0.0..255.0),
        rng.random_range(0.0..255.0),
    ];
    let s = size as f32;
    let (cx, cy) = (
        rng.random_range(0.3 * s..0.7 * s),
        rng.random_range(0.3 * s..0.7 * s),
    );
    let r = rng.random_range(0.15 * s..0.3 * s);
    let tilt: f32 = rng.random_range(0.0..std::f32::consts::PI);
    let mut pixels = vec![0u8; 3 * size * size];
    for y in 0..size {
        for x in 0..size {
            let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
            let inside = match shape {
                0 => dx * dx + dy * dy <= r * r,
                1 => dx.abs() <= r * 0.85 && dy.abs() <= r * 0.85,
                2 => dy <= r * 0.7 && dy >= -r && dx.abs() <= (dy + r) * 0.6,
                3 => {
                    let d = (dx * dx + dy * dy).sqrt();
                    d <= r && d >= r * 0.55
                }
                _ => {
                    (dx.abs() <= r * 0.3 && dy.abs() <= r) || (dy.abs() <= r * 0.3 && dx.abs() <= r)
                }
            };
            let stripe =
                ((x as f32 * tilt.cos() + y as f32 * tilt.sin()) / s * 4.0).floor() as i32 % 2 == 0;
            let color = if inside {
                fg
            } else if stripe {
                bg_a
            } else {
                bg_b
            };
            for c in 0..3 {
                pixels[(c * size + y) * size + x] = color[c].clamp(0.0, 255.0) as u8;
            }
        }
    }
    ImageItem {
        label,
        height: size,
        width: size,
        pixels,
    }
}

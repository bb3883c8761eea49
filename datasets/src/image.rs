//! Images as plain data and their Burn batcher.
//!
//! An [`ImageItem`] holds `3 × H × W` bytes in channel-major order (R plane, G plane, B
//! plane — CIFAR's own layout). [`ImageBatcher`] stacks items into `[B, 3, H, W]` floats in
//! [−1, 1] (x / 127.5 − 1) and labels `[B]` Int.

use burn::data::dataloader::batcher::Batcher;
use burn::tensor::{Device, Int, Tensor, TensorData};

/// One RGB image, channel-major bytes, with a class label.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageItem {
    /// Class index (0 where the dataset has none).
    pub label: u8,
    /// Height.
    pub height: usize,
    /// Width.
    pub width: usize,
    /// `3 × height × width` bytes: R plane, then G, then B.
    pub pixels: Vec<u8>,
}

/// A batch of images on a device.
#[derive(Debug, Clone)]
pub struct ImageBatch {
    /// `[B, 3, H, W]` in [−1, 1].
    pub images: Tensor<4>,
    /// `[B]` class labels.
    pub labels: Tensor<1, Int>,
}

/// Batches [`ImageItem`]s of one size.
#[derive(Debug, Clone, Default)]
pub struct ImageBatcher;

impl Batcher<ImageItem, ImageBatch> for ImageBatcher {
    fn batch(&self, items: Vec<ImageItem>, device: &Device) -> ImageBatch {
        let b = items.len();
        let (h, w) = items.first().map(|i| (i.height, i.width)).unwrap_or((0, 0));
        let mut values = Vec::with_capacity(b * 3 * h * w);
        for item in &items {
            assert_eq!(
                (item.height, item.width),
                (h, w),
                "images in one batch must have one size"
            );
            values.extend(item.pixels.iter().map(|&p| p as f32 / 127.5 - 1.0));
        }
        let labels: Vec<i64> = items.iter().map(|i| i.label as i64).collect();
        ImageBatch {
            images: Tensor::from_data(TensorData::new(values, [b, 3, h, w]), device),
            labels: Tensor::from_data(TensorData::new(labels, [b]), device),
        }
    }
}

/// Host copy of RGB images `[B, 3, H, W]` in [−1, 1], as 8-bit pixels: `pixel(i, y, x)` →
/// `[r, g, b]` of image `i` (x ↦ round(127.5 (clamp(x) + 1))).
fn rgb_bytes(images: Tensor<4>) -> (usize, usize, usize, impl Fn(usize, usize, usize) -> [u8; 3]) {
    let [b, c, h, w] = images.dims();
    assert_eq!(c, 3, "RGB images expected");
    let v: Vec<f32> = images
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32");
    let pixel = move |i: usize, y: usize, x: usize| {
        std::array::from_fn(|k| {
            ((v[((i * 3 + k) * h + y) * w + x].clamp(-1.0, 1.0) + 1.0) * 127.5).round() as u8
        })
    };
    (b, h, w, pixel)
}

/// Writes a grid of `[B, 3, H, W]` images in [−1, 1] as one PNG (`columns` per row).
pub fn save_grid(path: &std::path::Path, images: Tensor<4>, columns: usize) -> crate::Result<()> {
    let (b, h, w, pixel) = rgb_bytes(images);
    let columns = columns.max(1);
    let rows = b.div_ceil(columns);
    let (gw, gh) = (columns * (w + 2) + 2, rows * (h + 2) + 2);
    let mut canvas = image::RgbImage::from_pixel(gw as u32, gh as u32, image::Rgb([255, 255, 255]));
    for i in 0..b {
        let (ox, oy) = (2 + (i % columns) * (w + 2), 2 + (i / columns) * (h + 2));
        for y in 0..h {
            for x in 0..w {
                canvas.put_pixel((ox + x) as u32, (oy + y) as u32, image::Rgb(pixel(i, y, x)));
            }
        }
    }
    canvas
        .save(path)
        .map_err(|e| crate::DataError::format(path, format!("writing PNG: {e}")))
}

/// Writes each image of `[B, 3, H, W]` (values in [−1, 1]) as `dir/{first + i:06}.png`.
/// Refuses to replace an existing file.
pub fn save_images(dir: &std::path::Path, images: Tensor<4>, first: usize) -> crate::Result<()> {
    let (b, h, w, pixel) = rgb_bytes(images);
    for i in 0..b {
        let path = dir.join(format!("{:06}.png", first + i));
        if path.exists() {
            return Err(crate::DataError::format(
                &path,
                "exists; not overwriting it",
            ));
        }
        let img = image::RgbImage::from_fn(w as u32, h as u32, |x, y| {
            image::Rgb(pixel(i, y as usize, x as usize))
        });
        img.save(&path)
            .map_err(|e| crate::DataError::format(&path, format!("writing PNG: {e}")))?;
    }
    Ok(())
}

//! `celeba::load_image` on JPEG and PNG files, and `Celeba::open` on `list_eval_partition.txt`.

use std::io::Cursor;
use std::path::Path;

use datasets::celeba::{Celeba, CelebaOptions, CelebaSplit, load_image};
use datasets::synthetic_images::synthetic_images;

use super::message;
use crate::target::{Target, no_fixup, no_setup};

/// `load_image(_, 64)` on a `.jpg`.
pub const JPEG: Target = Target {
    name: "celeba_jpeg",
    reader: "celeba::load_image (JPEG)",
    file_name: "000001.jpg",
    text: false,
    setup: no_setup,
    fixup: no_fixup,
    run: read_image,
    seeds: jpeg_seeds,
};

/// `load_image(_, 64)` on a `.png`.
pub const PNG: Target = Target {
    name: "celeba_png",
    reader: "celeba::load_image (PNG)",
    file_name: "000001.png",
    text: false,
    setup: no_setup,
    fixup: crate::fixup::png,
    run: read_image,
    seeds: png_seeds,
};

/// `Celeba::open(_, Train, _)` on the partition list beside an `img_align_celeba/` folder.
pub const PARTITION_LIST: Target = Target {
    name: "celeba_list",
    reader: "celeba::Celeba::open (list_eval_partition.txt)",
    file_name: "list_eval_partition.txt",
    text: true,
    setup: image_folder,
    fixup: no_fixup,
    run: open_split,
    seeds: list_seeds,
};

fn read_image(path: &Path) -> Result<(), String> {
    load_image(path, 64).map(|_| ()).map_err(message)
}

/// The images the partition lists name: `Celeba::open` lists files, it does not decode them.
fn image_folder(dir: &Path) -> std::io::Result<()> {
    let images = dir.join("img_align_celeba");
    std::fs::create_dir_all(&images)?;
    for i in 1..=6 {
        std::fs::write(images.join(format!("{i:06}.jpg")), b"")?;
    }
    Ok(())
}

fn open_split(path: &Path) -> Result<(), String> {
    let root = path.parent().ok_or("no parent folder")?;
    Celeba::open(root, CelebaSplit::Train, CelebaOptions::default())
        .map(|_| ())
        .map_err(message)
}

/// Synthetic image `seed` (a square of the longer side), cropped to `width × height`.
fn rgb(width: u32, height: u32, seed: u64) -> image::RgbImage {
    let side = width.max(height) as usize;
    let item = synthetic_images(1, side, seed).remove(0);
    image::RgbImage::from_fn(width, height, |x, y| {
        let at = |c: usize| item.pixels[(c * side + y as usize) * side + x as usize];
        image::Rgb([at(0), at(1), at(2)])
    })
}

fn encode(image: image::DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image
        .write_to(&mut out, format)
        .expect("encoding a seed image");
    out.into_inner()
}

fn jpeg_seeds() -> Vec<(String, Vec<u8>)> {
    let jpeg = |img| encode(img, image::ImageFormat::Jpeg);
    vec![
        ("rgb_36x44.jpg".into(), jpeg(rgb(36, 44, 1).into())),
        ("rgb_64x16.jpg".into(), jpeg(rgb(64, 16, 2).into())),
        (
            "gray_24x24.jpg".into(),
            jpeg(image::DynamicImage::from(rgb(24, 24, 3)).to_luma8().into()),
        ),
    ]
}

fn png_seeds() -> Vec<(String, Vec<u8>)> {
    let png = |img| encode(img, image::ImageFormat::Png);
    vec![
        ("rgb_30x20.png".into(), png(rgb(30, 20, 4).into())),
        (
            "rgba_16x16.png".into(),
            png(image::DynamicImage::from(rgb(16, 16, 5)).to_rgba8().into()),
        ),
        (
            "gray16_12x18.png".into(),
            png(image::DynamicImage::from(rgb(12, 18, 6)).to_luma16().into()),
        ),
    ]
}

fn list_seeds() -> Vec<(String, Vec<u8>)> {
    let list: String = (1..=6)
        .map(|i| format!("{i:06}.jpg {}\n", (i - 1) % 3))
        .collect();
    vec![
        ("list_eval_partition.txt".into(), list.into_bytes()),
        (
            "train_only.txt".into(),
            b"000001.jpg 0\n000004.jpg 0\n\n000005.jpg 1\n".to_vec(),
        ),
    ]
}

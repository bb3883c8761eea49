//! CelebA, aligned and cropped: `img_align_celeba/*.jpg` (178×218) with the optional
//! `list_eval_partition.txt` (`<file> <0|1|2>` for train / valid / test).
//!
//! Each image is decoded with `image`, its short side resized to 64 (bilinear) and the centre
//! 64×64 cropped — the CV-SW code's `Resize(64)` + `CenterCrop(64)`. Decoding runs in
//! parallel (rayon); with `cache = true` decoded images stay in memory after first use.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use burn::data::dataset::{Dataset, DatasetError};
use rayon::prelude::*;

use crate::error::{DataError, Result};
use crate::image::ImageItem;

/// Which part of CelebA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CelebaSplit {
    /// Partition 0 (162 770 images).
    Train,
    /// Partition 1.
    Valid,
    /// Partition 2.
    Test,
    /// Every image in the folder.
    All,
}

/// Options of the loader.
#[derive(Debug, Clone)]
pub struct CelebaOptions {
    /// Output side (64 in the papers).
    pub size: usize,
    /// Skip undecodable files (counted in [`Celeba::skipped`]) instead of failing.
    pub skip_corrupt: bool,
    /// Keep decoded images in memory.
    pub cache: bool,
}

impl Default for CelebaOptions {
    fn default() -> Self {
        Self {
            size: 64,
            skip_corrupt: false,
            cache: true,
        }
    }
}

/// CelebA as a Burn dataset of `size × size` images (label 0).
pub struct Celeba {
    files: Vec<PathBuf>,
    options: CelebaOptions,
    cache: Vec<OnceLock<ImageItem>>,
    skipped: Mutex<Vec<PathBuf>>,
}

/// The most pixels [`load_image`] decodes (2048 × 2048; CelebA's aligned images are 178 × 218).
/// The header's size is checked before decoding: a decoder allocates what the header declares
/// and fills what the data lacks, so an 800-byte JPEG declaring thousands of pixels a side
/// decoded "fine" into 120 MB (found by `crates/fuzz`).
pub const MAX_PIXELS: u64 = 1 << 22;

/// The most one side of an image may exceed the other: the short side is resized to `size`,
/// so the resized long side, and its buffer, grow with this ratio.
pub const MAX_ASPECT: u64 = 16;

/// Decodes one JPEG (or any format `image` reads, chosen by extension) to a centre-cropped
/// square. Images above [`MAX_PIXELS`] or [`MAX_ASPECT`] are refused before decoding.
pub fn load_image(path: &Path, size: usize) -> Result<ImageItem> {
    use image::ImageDecoder;
    let bad = |e: image::ImageError| DataError::format(path, format!("cannot decode image: {e}"));
    let decoder = image::ImageReader::open(path)
        .map_err(|e| DataError::io(path, e))?
        .into_decoder()
        .map_err(bad)?;
    let (w, h) = decoder.dimensions();
    let (short, long) = (w.min(h) as u64, w.max(h) as u64);
    if short == 0 || short * long > MAX_PIXELS || long > MAX_ASPECT * short {
        return Err(DataError::format(
            path,
            format!(
                "the image is {w}×{h}: only images with both sides ≥ 1, at most {MAX_PIXELS} pixels and an aspect ratio up to {MAX_ASPECT}:1 are loaded"
            ),
        ));
    }
    let img = image::DynamicImage::from_decoder(decoder)
        .map_err(bad)?
        .into_rgb8();
    let (w, h) = (img.width() as usize, img.height() as usize);
    let scale = size as f64 / w.min(h) as f64;
    let (nw, nh) = (
        ((w as f64 * scale).round() as usize).max(size),
        ((h as f64 * scale).round() as usize).max(size),
    );
    let resized = image::imageops::resize(
        &img,
        nw as u32,
        nh as u32,
        image::imageops::FilterType::Triangle,
    );
    let (ox, oy) = ((nw - size) / 2, (nh - size) / 2);
    let mut pixels = vec![0u8; 3 * size * size];
    for y in 0..size {
        for x in 0..size {
            let p = resized.get_pixel((ox + x) as u32, (oy + y) as u32);
            for c in 0..3 {
                pixels[(c * size + y) * size + x] = p[c];
            }
        }
    }
    Ok(ImageItem {
        label: 0,
        height: size,
        width: size,
        pixels,
    })
}

impl Celeba {
    /// Opens `root` (the folder holding `img_align_celeba/`, or that folder itself).
    pub fn open(
        root: impl AsRef<Path>,
        split: CelebaSplit,
        options: CelebaOptions,
    ) -> Result<Self> {
        let root = root.as_ref();
        let images = if root.join("img_align_celeba").is_dir() {
            root.join("img_align_celeba")
        } else {
            root.to_path_buf()
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(&images)
            .map_err(|_| DataError::NotFound {
                path: images.clone(),
                hint: "CelebA is expected as <root>/img_align_celeba/*.jpg (the aligned & cropped 178×218 JPEGs) with \
                       <root>/list_eval_partition.txt for splits; it is distributed through a Google Drive link, so place it by hand \
                       (see datasets/README.md)."
                    .into(),
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("jpg") || e.eq_ignore_ascii_case("jpeg") || e.eq_ignore_ascii_case("png")))
            .collect();
        files.sort();
        if split != CelebaSplit::All {
            let list = [root.join("list_eval_partition.txt"), images.join("../list_eval_partition.txt")]
                .into_iter()
                .find(|p| p.is_file())
                .ok_or_else(|| DataError::NotFound {
                    path: root.join("list_eval_partition.txt"),
                    hint: "Splits need list_eval_partition.txt next to img_align_celeba/ (or use CelebaSplit::All).".into(),
                })?;
            let text = std::fs::read_to_string(&list).map_err(|e| DataError::io(&list, e))?;
            let want = match split {
                CelebaSplit::Train => "0",
                CelebaSplit::Valid => "1",
                _ => "2",
            };
            let mut keep = std::collections::HashSet::new();
            for (i, line) in text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
            {
                let mut parts = line.split_whitespace();
                match (parts.next(), parts.next()) {
                    (Some(name), Some(p)) if ["0", "1", "2"].contains(&p) => {
                        if p == want {
                            keep.insert(name.to_string());
                        }
                    }
                    _ => {
                        return Err(DataError::format(
                            &list,
                            format!("line {}: expected `<file> <0|1|2>`, got `{line}`", i + 1),
                        ));
                    }
                }
            }
            files.retain(|f| {
                f.file_name()
                    .is_some_and(|n| keep.contains(&*n.to_string_lossy()))
            });
        }
        if files.is_empty() {
            return Err(DataError::format(&images, "no images found for this split"));
        }
        let cache = (0..files.len()).map(|_| OnceLock::new()).collect();
        Ok(Self {
            files,
            options,
            cache,
            skipped: Mutex::new(Vec::new()),
        })
    }

    /// Files skipped as undecodable so far (with `skip_corrupt`).
    pub fn skipped(&self) -> Vec<PathBuf> {
        self.skipped.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Decodes items `indices` in parallel (undecodable ones are skipped when allowed).
    pub fn decode_many(&self, indices: &[usize]) -> Result<Vec<ImageItem>> {
        let decoded: Vec<Result<Option<ImageItem>>> =
            indices.par_iter().map(|&i| self.decode(i)).collect();
        decoded.into_iter().filter_map(|r| r.transpose()).collect()
    }

    fn decode(&self, index: usize) -> Result<Option<ImageItem>> {
        if let Some(item) = self.cache[index].get() {
            return Ok(Some(item.clone()));
        }
        match load_image(&self.files[index], self.options.size) {
            Ok(item) => {
                if self.options.cache {
                    let _ = self.cache[index].set(item.clone());
                }
                Ok(Some(item))
            }
            Err(e) if self.options.skip_corrupt => {
                if let Ok(mut s) = self.skipped.lock() {
                    s.push(self.files[index].clone());
                }
                let _ = e;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

impl Dataset<ImageItem> for Celeba {
    /// An undecodable image is an error even with `skip_corrupt` (a dataset must return an
    /// item); use [`Celeba::decode_many`] to skip.
    fn get(&self, index: usize) -> std::result::Result<ImageItem, DatasetError> {
        if index >= self.files.len() {
            return Err(crate::error::out_of_range(
                index,
                self.files.len(),
                "images",
            ));
        }
        match self.decode(index) {
            Ok(Some(item)) => Ok(item),
            Ok(None) => Err(DatasetError::new(DataError::format(
                &self.files[index],
                "undecodable image (skipped)",
            ))),
            Err(e) => Err(DatasetError::new(e)),
        }
    }

    fn len(&self) -> usize {
        self.files.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_jpegs(dir: &Path, n: usize) {
        std::fs::create_dir_all(dir.join("img_align_celeba")).unwrap();
        for i in 0..n {
            // 178 × 218 with a horizontal gradient and a marker colour per image.
            let img = image::RgbImage::from_fn(178, 218, |x, y| {
                image::Rgb([(x * 255 / 177) as u8, (y * 255 / 217) as u8, (i * 40) as u8])
            });
            img.save(dir.join(format!("img_align_celeba/{:06}.jpg", i + 1)))
                .unwrap();
        }
        let list: String = (0..n)
            .map(|i| format!("{:06}.jpg {}\n", i + 1, i % 3))
            .collect();
        std::fs::write(dir.join("list_eval_partition.txt"), list).unwrap();
    }

    #[test]
    fn decodes_resizes_crops_and_splits() {
        let dir = tempfile::tempdir().unwrap();
        write_jpegs(dir.path(), 6);
        let all = Celeba::open(dir.path(), CelebaSplit::All, CelebaOptions::default()).unwrap();
        let train = Celeba::open(dir.path(), CelebaSplit::Train, CelebaOptions::default()).unwrap();
        assert_eq!((all.len(), train.len()), (6, 2));
        let item = all.get(0).unwrap();
        assert_eq!(
            (item.height, item.width, item.pixels.len()),
            (64, 64, 3 * 64 * 64)
        );
        // 178 → 64 wide keeps the full width: the red ramp runs from ~0 to ~255 across it.
        let red = |x: usize, y: usize| item.pixels[y * 64 + x] as i32;
        assert!(
            red(0, 32) < 20 && red(63, 32) > 235,
            "{} {}",
            red(0, 32),
            red(63, 32)
        );
        // Height 218 → 78, centre crop rows 7..71: green at the top row ≈ 255·7.5/78.
        let green = item.pixels[64 * 64 + 32] as f64;
        assert!((green - 255.0 * 7.5 / 78.4).abs() < 12.0, "{green}");
        assert_eq!(all.decode_many(&[0, 1, 2]).unwrap().len(), 3);
    }

    /// `crates/fuzz` (celeba_jpeg, input 2279): a JPEG whose header was mutated to declare a
    /// large image decoded into 120 MB from 791 bytes. Here: a valid 8 × 8 JPEG whose SOF0
    /// height and width are set to 4000 × 3000, and a PNG of 200 × 4 (aspect 50:1).
    #[test]
    fn oversized_and_extreme_images_are_refused_before_decoding() {
        let dir = tempfile::tempdir().unwrap();
        let jpeg = dir.path().join("big.jpg");
        image::RgbImage::from_pixel(8, 8, image::Rgb([9, 99, 199]))
            .save(&jpeg)
            .unwrap();
        let mut bytes = std::fs::read(&jpeg).unwrap();
        let sof = bytes.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        bytes[sof + 5..sof + 7].copy_from_slice(&4000u16.to_be_bytes());
        bytes[sof + 7..sof + 9].copy_from_slice(&3000u16.to_be_bytes());
        std::fs::write(&jpeg, &bytes).unwrap();
        let e = load_image(&jpeg, 64).unwrap_err().to_string();
        assert!(e.contains("big.jpg") && e.contains("3000×4000"), "{e}");
        let png = dir.path().join("strip.png");
        image::RgbImage::new(200, 4).save(&png).unwrap();
        let e = load_image(&png, 64).unwrap_err().to_string();
        assert!(e.contains("strip.png") && e.contains("aspect ratio"), "{e}");
    }

    #[test]
    fn corrupt_and_missing_files_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        write_jpegs(dir.path(), 3);
        std::fs::write(
            dir.path().join("img_align_celeba/000002.jpg"),
            b"not a jpeg",
        )
        .unwrap();
        let strict = Celeba::open(dir.path(), CelebaSplit::All, CelebaOptions::default()).unwrap();
        let e = strict.decode_many(&[0, 1, 2]).unwrap_err().to_string();
        assert!(e.contains("000002.jpg") && e.contains("decode"), "{e}");
        let lenient = Celeba::open(
            dir.path(),
            CelebaSplit::All,
            CelebaOptions {
                skip_corrupt: true,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(lenient.decode_many(&[0, 1, 2]).unwrap().len(), 2);
        assert_eq!(lenient.skipped().len(), 1);
        let e = Celeba::open(
            dir.path().join("nowhere"),
            CelebaSplit::All,
            CelebaOptions::default(),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(
            e.contains("img_align_celeba") && e.contains("by hand"),
            "{e}"
        );
    }
}

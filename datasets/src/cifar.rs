//! CIFAR-10, binary version: `cifar-10-batches-bin/data_batch_{1..5}.bin` and `test_batch.bin`,
//! each a sequence of 10 000 records of 1 label byte + 3072 pixel bytes (1024 R, 1024 G,
//! 1024 B, row-major 32×32). The `cifar-10-binary.tar.gz` archive is read directly too.

use std::io::Read;
use std::path::{Path, PathBuf};

use burn::data::dataset::{Dataset, DatasetError};

use crate::error::{DataError, Result};
use crate::image::ImageItem;

/// Bytes of one record.
pub const RECORD: usize = 1 + 3 * 32 * 32;
const BATCH_DIR: &str = "cifar-10-batches-bin";

/// Which part of CIFAR-10.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// `data_batch_1..5.bin`, 50 000 images.
    Train,
    /// `test_batch.bin`, 10 000 images.
    Test,
}

impl Split {
    /// The batch file names of the split.
    pub fn files(self) -> Vec<String> {
        match self {
            Split::Train => (1..=5).map(|i| format!("data_batch_{i}.bin")).collect(),
            Split::Test => vec!["test_batch.bin".into()],
        }
    }
}

/// CIFAR-10 images in memory (150 MB for the training split).
#[derive(Debug, Clone)]
pub struct Cifar10 {
    items: Vec<ImageItem>,
}

/// Parses one batch file's bytes; `path` names it in errors.
pub fn parse_batch(bytes: &[u8], path: &Path) -> Result<Vec<ImageItem>> {
    if !bytes.len().is_multiple_of(RECORD) {
        return Err(DataError::format(
            path,
            format!(
                "truncated or not a CIFAR-10 batch: {} bytes is not a multiple of the record size {RECORD} (1 label + 3072 pixels); the last record has {} bytes",
                bytes.len(),
                bytes.len() % RECORD
            ),
        ));
    }
    bytes
        .chunks_exact(RECORD)
        .enumerate()
        .map(|(i, r)| {
            if r[0] > 9 {
                return Err(DataError::format(
                    path,
                    format!(
                        "record {i} has label byte {} (CIFAR-10 labels are 0..=9)",
                        r[0]
                    ),
                ));
            }
            Ok(ImageItem {
                label: r[0],
                height: 32,
                width: 32,
                pixels: r[1..].to_vec(),
            })
        })
        .collect()
}

/// Encodes items as a CIFAR-10 binary batch (the inverse of [`parse_batch`]).
pub fn encode_batch(items: &[ImageItem]) -> Vec<u8> {
    let mut out = Vec::with_capacity(items.len() * RECORD);
    for item in items {
        assert_eq!(
            item.pixels.len(),
            RECORD - 1,
            "CIFAR records hold 3×32×32 pixels"
        );
        out.push(item.label);
        out.extend_from_slice(&item.pixels);
    }
    out
}

fn missing(root: &Path, split: Split) -> DataError {
    DataError::NotFound {
        path: root.to_path_buf(),
        hint: format!(
            "CIFAR-10 (binary version) is expected as {}/{BATCH_DIR}/{{{}}}, or as {}/cifar-10-binary.tar.gz. \
             Get the archive `cifar-10-binary.tar.gz` (the binary version, 162 MB) from the CIFAR-10 page and put it there, unpacked or not.",
            root.display(),
            split.files().join(", "),
            root.display()
        ),
    }
}

impl Cifar10 {
    /// Loads a split from `root`: `root/cifar-10-batches-bin/*.bin`, `root/*.bin`, or
    /// `root/cifar-10-binary.tar.gz` (in that order); `root` may also be the archive itself.
    pub fn load(root: impl AsRef<Path>, split: Split) -> Result<Self> {
        let root = root.as_ref();
        if root.is_file() {
            return Self::from_archive(root, split);
        }
        for dir in [root.join(BATCH_DIR), root.to_path_buf()] {
            let files: Vec<PathBuf> = split.files().iter().map(|f| dir.join(f)).collect();
            if files.iter().all(|f| f.is_file()) {
                let mut items = Vec::new();
                for f in files {
                    let bytes = std::fs::read(&f).map_err(|e| DataError::io(&f, e))?;
                    items.extend(parse_batch(&bytes, &f)?);
                }
                return Ok(Self { items });
            }
        }
        let archive = root.join("cifar-10-binary.tar.gz");
        if archive.is_file() {
            return Self::from_archive(&archive, split);
        }
        Err(missing(root, split))
    }

    /// Reads a split straight from `cifar-10-binary.tar.gz`.
    pub fn from_archive(path: &Path, split: Split) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
        let wanted = split.files();
        let mut found: Vec<(usize, Vec<ImageItem>)> = Vec::new();
        let entries = archive
            .entries()
            .map_err(|e| DataError::format(path, format!("not a tar.gz archive: {e}")))?;
        for entry in entries {
            let mut entry =
                entry.map_err(|e| DataError::format(path, format!("corrupt archive: {e}")))?;
            let name = entry
                .path()
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default();
            let file_name = name.rsplit('/').next().unwrap_or("").to_string();
            if let Some(k) = wanted.iter().position(|w| *w == file_name) {
                let mut bytes = Vec::new();
                entry
                    .read_to_end(&mut bytes)
                    .map_err(|e| DataError::format(path, format!("reading {name}: {e}")))?;
                found.push((k, parse_batch(&bytes, &path.join(&name))?));
            }
        }
        if found.len() != wanted.len() {
            return Err(DataError::format(
                path,
                format!("the archive lacks some of {}", wanted.join(", ")),
            ));
        }
        found.sort_by_key(|(k, _)| *k);
        Ok(Self {
            items: found.into_iter().flat_map(|(_, v)| v).collect(),
        })
    }

    /// Wraps items already in memory (e.g. synthetic ones).
    pub fn from_items(items: Vec<ImageItem>) -> Self {
        Self { items }
    }
}

impl Dataset<ImageItem> for Cifar10 {
    fn get(&self, index: usize) -> std::result::Result<ImageItem, DatasetError> {
        crate::error::dataset_item(&self.items, index, "images")
    }

    fn len(&self) -> usize {
        self.items.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{ImageBatch, ImageBatcher};
    use crate::synthetic_images::synthetic_cifar;
    use burn::data::dataloader::batcher::Batcher;
    use burn::tensor::Device;

    fn write_split(dir: &Path, per_file: usize) -> Vec<ImageItem> {
        let all = synthetic_cifar(per_file * 6, 5);
        std::fs::create_dir_all(dir.join(BATCH_DIR)).unwrap();
        for (k, f) in Split::Train
            .files()
            .into_iter()
            .chain(Split::Test.files())
            .enumerate()
        {
            std::fs::write(
                dir.join(BATCH_DIR).join(f),
                encode_batch(&all[k * per_file..(k + 1) * per_file]),
            )
            .unwrap();
        }
        all
    }

    #[test]
    fn reads_the_binary_layout_and_the_archive() {
        let dir = tempfile::tempdir().unwrap();
        let all = write_split(dir.path(), 7);
        let train = Cifar10::load(dir.path(), Split::Train).unwrap();
        let test = Cifar10::load(dir.path(), Split::Test).unwrap();
        assert_eq!((train.len(), test.len()), (35, 7));
        assert_eq!(train.get(8).unwrap(), all[8]);
        assert_eq!(test.get(0).unwrap(), all[35]);

        // The same files inside a tar.gz.
        let archive = dir.path().join("cifar-10-binary.tar.gz");
        let gz = flate2::write::GzEncoder::new(
            std::fs::File::create(&archive).unwrap(),
            flate2::Compression::fast(),
        );
        let mut tar = tar::Builder::new(gz);
        tar.append_dir_all(BATCH_DIR, dir.path().join(BATCH_DIR))
            .unwrap();
        tar.into_inner().unwrap().finish().unwrap();
        let from_archive = Cifar10::load(&archive, Split::Train).unwrap();
        assert_eq!(from_archive.get(34).unwrap(), all[34]);

        // Record layout: byte 1 + k is pixel k of the R plane, 1 + 1024 + k of G.
        let b: ImageBatch =
            ImageBatcher.batch(vec![all[0].clone(), all[1].clone()], &Device::default());
        assert_eq!(b.images.dims(), [2, 3, 32, 32]);
        let v: Vec<f32> = b.images.into_data().try_to_vec::<f32>().unwrap();
        assert!((v[1024 + 33] - (all[0].pixels[1024 + 33] as f32 / 127.5 - 1.0)).abs() < 1e-6);
        assert!(v.iter().all(|x| (-1.0..=1.0).contains(x)));
    }

    #[test]
    fn bad_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let err = Cifar10::load(dir.path(), Split::Train)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("data_batch_1.bin") && err.contains("cifar-10-binary.tar.gz"),
            "{err}"
        );
        let all = write_split(dir.path(), 3);
        let f = dir.path().join(BATCH_DIR).join("data_batch_2.bin");
        std::fs::write(&f, &encode_batch(&all[..2])[..RECORD + 100]).unwrap();
        let err = Cifar10::load(dir.path(), Split::Train)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("data_batch_2.bin") && err.contains("truncated"),
            "{err}"
        );
        let mut bad = encode_batch(&all[..2]);
        bad[RECORD] = 12;
        std::fs::write(&f, bad).unwrap();
        let err = Cifar10::load(dir.path(), Split::Train)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("record 1") && err.contains("label byte 12"),
            "{err}"
        );
    }
}

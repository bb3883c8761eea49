//! Data throughput: CIFAR-10 batches of 128 (parse + batch to tensors), CelebA 64×64 decode
//! (178×218 JPEGs → resize + crop, parallel), ShapeNet batches of 128 clouds (resampled 2048
//! points). Data is written to a temporary folder in the real formats first.
//! `cargo bench -p datasets --bench throughput`.

use std::path::Path;
use std::time::Instant;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::tensor::Device;
use datasets::celeba::{Celeba, CelebaOptions, CelebaSplit};
use datasets::cifar::{Cifar10, Split, encode_batch};
use datasets::image::{ImageBatch, ImageBatcher};
use datasets::shapenet::{CloudBatch, CloudBatcher, ShapeNet};

fn rate(label: &str, items: usize, secs: f64, unit: &str) {
    println!(
        "{{\"bench\": \"{label}\", \"{unit}_per_s\": {:.1}, \"items\": {items}, \"seconds\": {secs:.4}}}",
        items as f64 / secs
    );
}

fn main() {
    // Flex explicitly: in a build with `wgpu`, `Device::default()` is the GPU (or lavapipe).
    let device = Device::flex();
    let dir = tempfile::tempdir().unwrap();

    // CIFAR-10: one 10 000-image batch file, read and batched by 128.
    let items = datasets::synthetic_images::synthetic_cifar(10_000, 1);
    let bin = dir.path().join("cifar-10-batches-bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(bin.join("test_batch.bin"), encode_batch(&items)).unwrap();
    let t = Instant::now();
    let cifar = Cifar10::load(dir.path(), Split::Test).unwrap();
    let mut n = 0;
    for start in (0..cifar.len()).step_by(128) {
        let batch: Vec<_> = (start..(start + 128).min(cifar.len()))
            .map(|i| cifar.get(i).unwrap())
            .collect();
        n += batch.len();
        let b: ImageBatch = ImageBatcher.batch(batch, &device);
        std::hint::black_box(b.images.dims());
    }
    rate(
        "cifar10_batches_of_128",
        n,
        t.elapsed().as_secs_f64(),
        "images",
    );

    // CelebA: 512 JPEGs of 178×218 decoded to 64×64 in batches of 128 (no cache).
    let img_dir = dir.path().join("img_align_celeba");
    std::fs::create_dir_all(&img_dir).unwrap();
    for (i, item) in datasets::synthetic_images::synthetic_images(512, 218, 2)
        .iter()
        .enumerate()
    {
        let img = image::RgbImage::from_fn(178, 218, |x, y| {
            image::Rgb(std::array::from_fn(|c| {
                item.pixels[(c * 218 + y as usize) * 218 + x as usize]
            }))
        });
        img.save(img_dir.join(format!("{:06}.jpg", i + 1))).unwrap();
    }
    let celeba = Celeba::open(
        dir.path(),
        CelebaSplit::All,
        CelebaOptions {
            cache: false,
            ..Default::default()
        },
    )
    .unwrap();
    let t = Instant::now();
    let mut n = 0;
    for start in (0..celeba.len()).step_by(128) {
        let idx: Vec<usize> = (start..(start + 128).min(celeba.len())).collect();
        let batch = celeba.decode_many(&idx).unwrap();
        n += batch.len();
        let b: ImageBatch = ImageBatcher.batch(batch, &device);
        std::hint::black_box(b.images.dims());
    }
    rate(
        "celeba_decode_64x64",
        n,
        t.elapsed().as_secs_f64(),
        "images",
    );

    // ShapeNet: the shared 50-cloud sample, batches of 128 with 2048 resampled points.
    let path = Path::new(
        &std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("data/shapenetcore55_random50.npy");
    let shapenet = ShapeNet::open(&path).unwrap();
    let batcher = CloudBatcher::resample(2048, 0);
    let t = Instant::now();
    let mut n = 0;
    for k in 0..8 {
        let batch: Vec<_> = (0..128)
            .map(|i| shapenet.get((i + k) % shapenet.len()).unwrap())
            .collect();
        n += batch.len();
        let b: CloudBatch = batcher.batch(batch, &device);
        std::hint::black_box(b.points.dims());
    }
    rate(
        "shapenet_batches_of_128",
        n,
        t.elapsed().as_secs_f64(),
        "clouds",
    );
}

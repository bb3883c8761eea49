//! Fetching public datasets: known sources, resumable HTTP download into `<file>.part`,
//! checksum verification (the published MD5, or SHA-256), then extraction into the data
//! folder (`$SWBURN_DATA`, default `./data`). A good existing copy is never downloaded or
//! extracted again, and a file the user already had is never overwritten.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use md5::Md5;
use sha2::{Digest, Sha256};

use crate::error::{DataError, Result};

/// How a download is verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checksum {
    /// The MD5 its publisher lists (hex).
    Md5(String),
    /// A SHA-256 (hex).
    Sha256(String),
}

/// What to do with the file once verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extract {
    /// A `.tar.gz` archive.
    TarGz,
    /// A `.zip` archive.
    Zip,
    /// Keep the file as it is.
    None,
}

/// A downloadable dataset.
#[derive(Debug, Clone)]
pub struct Source {
    /// Short name (`cifar10`).
    pub name: String,
    /// Where to get it.
    pub url: String,
    /// File name in the data folder.
    pub file: String,
    /// Expected checksum.
    pub checksum: Checksum,
    /// Extraction.
    pub extract: Extract,
    /// Path (relative to the data folder) that exists once the dataset is in place.
    pub marker: String,
}

/// The datasets `experiments download` knows.
pub fn known(name: &str) -> Result<Source> {
    match name {
        "cifar10" => Ok(Source {
            name: "cifar10".into(),
            url: "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz".into(),
            file: "cifar-10-binary.tar.gz".into(),
            checksum: Checksum::Md5("c32a1d4ab5d03f1284b67883e8d87530".into()),
            extract: Extract::TarGz,
            marker: "cifar-10-batches-bin/test_batch.bin".into(),
        }),
        "modelnet40" | "shapenet55" => Err(DataError::Invalid(format!(
            "`{name}` has no download source with a published checksum that this tool can verify; place the files by hand as \
             datasets/README.md describes ({})",
            if name == "modelnet40" {
                "modelnet40_ply_hdf5_2048/*.h5"
            } else {
                "shapenet57448xyzonly.npz"
            }
        ))),
        other => Err(DataError::Invalid(format!(
            "unknown dataset `{other}`; known: cifar10 (modelnet40 and shapenet55 are placed by hand)"
        ))),
    }
}

/// The data folder: `$SWBURN_DATA`, or `./data`.
pub fn data_dir() -> PathBuf {
    std::env::var_os("SWBURN_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("data"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hex digest of a file under the given checksum's algorithm.
pub fn digest_file(path: &Path, checksum: &Checksum) -> Result<String> {
    let mut f = File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut buf = vec![0u8; 1 << 20];
    let mut md5 = Md5::new();
    let mut sha = Sha256::new();
    loop {
        let k = f.read(&mut buf).map_err(|e| DataError::io(path, e))?;
        if k == 0 {
            break;
        }
        match checksum {
            Checksum::Md5(_) => md5.update(&buf[..k]),
            Checksum::Sha256(_) => sha.update(&buf[..k]),
        }
    }
    Ok(match checksum {
        Checksum::Md5(_) => hex(&md5.finalize()),
        Checksum::Sha256(_) => hex(&sha.finalize()),
    })
}

fn verify(path: &Path, checksum: &Checksum) -> Result<std::result::Result<(), String>> {
    let got = digest_file(path, checksum)?;
    let want = match checksum {
        Checksum::Md5(h) | Checksum::Sha256(h) => h.to_lowercase(),
    };
    Ok(if got == want { Ok(()) } else { Err(got) })
}

/// What [`fetch`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The dataset was already in place; nothing was touched.
    AlreadyPresent,
    /// A verified archive was already there; it was extracted.
    ExtractedExisting,
    /// Downloaded (resuming `resumed_from` bytes of an earlier partial file), verified, extracted.
    Downloaded {
        /// Bytes kept from an interrupted download.
        resumed_from: u64,
    },
}

/// Downloads, verifies and extracts `source` into `dir`. `progress(done, total)` is called as
/// bytes arrive. An interrupted download leaves `<file>.part`, which the next call resumes
/// (HTTP Range); a download that fails verification is deleted.
pub fn fetch(
    source: &Source,
    dir: &Path,
    mut progress: impl FnMut(u64, Option<u64>),
) -> Result<Outcome> {
    std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
    if dir.join(&source.marker).exists() {
        return Ok(Outcome::AlreadyPresent);
    }
    let archive = dir.join(&source.file);
    if archive.exists() {
        return match verify(&archive, &source.checksum)? {
            Ok(()) => {
                extract(&archive, dir, source.extract)?;
                Ok(Outcome::ExtractedExisting)
            }
            Err(got) => Err(DataError::format(
                &archive,
                format!(
                    "this file is already there but its checksum is {got}, not the published one; it was left untouched — move it away to download again"
                ),
            )),
        };
    }
    let part = dir.join(format!("{}.part", source.file));
    let resumed_from = part.metadata().map(|m| m.len()).unwrap_or(0);
    let mut request = ureq::get(&source.url);
    if resumed_from > 0 {
        request = request.header("Range", &format!("bytes={resumed_from}-"));
    }
    let response = request
        .call()
        .map_err(|e| DataError::format(&archive, format!("downloading {}: {e}", source.url)))?;
    let status = response.status().as_u16();
    let (mut out, mut done) = if status == 206 {
        (
            OpenOptions::new()
                .append(true)
                .open(&part)
                .map_err(|e| DataError::io(&part, e))?,
            resumed_from,
        )
    } else {
        (File::create(&part).map_err(|e| DataError::io(&part, e))?, 0)
    };
    let resumed_from = done;
    let total = response
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .map(|len| len + done);
    let mut body = response.into_body().into_reader();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let k = body.read(&mut buf).map_err(|e| {
            DataError::format(
                &part,
                format!(
                    "download interrupted after {done} bytes ({e}); run the command again to resume"
                ),
            )
        })?;
        if k == 0 {
            break;
        }
        out.write_all(&buf[..k])
            .map_err(|e| DataError::io(&part, e))?;
        done += k as u64;
        progress(done, total);
    }
    out.flush().map_err(|e| DataError::io(&part, e))?;
    drop(out);
    if let Some(total) = total
        && done < total
    {
        return Err(DataError::format(
            &part,
            format!(
                "download interrupted at {done} of {total} bytes; run the command again to resume"
            ),
        ));
    }
    if let Err(got) = verify(&part, &source.checksum)? {
        let _ = std::fs::remove_file(&part);
        return Err(DataError::format(
            &archive,
            format!(
                "checksum mismatch: got {got}, expected {:?}; the corrupted download was removed — run the command again",
                source.checksum
            ),
        ));
    }
    std::fs::rename(&part, &archive).map_err(|e| DataError::io(&archive, e))?;
    extract(&archive, dir, source.extract)?;
    Ok(Outcome::Downloaded { resumed_from })
}

fn extract(archive: &Path, dir: &Path, how: Extract) -> Result<()> {
    match how {
        Extract::None => Ok(()),
        Extract::TarGz => {
            let f = File::open(archive).map_err(|e| DataError::io(archive, e))?;
            tar::Archive::new(flate2::read::GzDecoder::new(f))
                .unpack(dir)
                .map_err(|e| DataError::format(archive, format!("extracting: {e}")))
        }
        Extract::Zip => {
            let f = File::open(archive).map_err(|e| DataError::io(archive, e))?;
            zip::ZipArchive::new(f)
                .and_then(|mut z| z.extract(dir))
                .map_err(|e| DataError::format(archive, format!("extracting: {e}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::net::TcpListener;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// A loopback HTTP server for one file. With `cut` set, the next response stops halfway
    /// (after announcing the full length) and the flag clears. Honours `Range: bytes=N-`.
    fn serve(body: Vec<u8>, cut: Arc<AtomicBool>, requests: usize) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming().take(requests) {
                let mut stream = stream.unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut start = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("range: bytes=") {
                        start = v.trim().trim_end_matches('-').parse().unwrap();
                    }
                }
                let rest = &body[start..];
                let head = if start > 0 {
                    format!(
                        "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {start}-{}/{}\r\nConnection: close\r\n\r\n",
                        rest.len(),
                        body.len() - 1,
                        body.len()
                    )
                } else {
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        rest.len()
                    )
                };
                stream.write_all(head.as_bytes()).unwrap();
                let send = if cut.swap(false, Ordering::SeqCst) {
                    &rest[..rest.len() / 2]
                } else {
                    rest
                };
                let _ = stream.write_all(send);
            }
        });
        format!("http://{addr}/data.tar.gz")
    }

    fn archive_bytes() -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        {
            let mut tar = tar::Builder::new(&mut gz);
            // Incompressible content so the archive is large enough to cut in half.
            let mut state = 1u64;
            let payload: Vec<u8> = (0..200_000)
                .map(|_| {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
                    (state >> 56) as u8
                })
                .collect();
            let mut header = tar::Header::new_gnu();
            header.set_size(payload.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            tar.append_data(&mut header, "set/file.bin", &payload[..])
                .unwrap();
            tar.finish().unwrap();
        }
        gz.finish().unwrap()
    }

    fn source(url: String, checksum: Checksum) -> Source {
        Source {
            name: "test".into(),
            url,
            file: "data.tar.gz".into(),
            checksum,
            extract: Extract::TarGz,
            marker: "set/file.bin".into(),
        }
    }

    #[test]
    fn good_archive_is_verified_extracted_and_never_fetched_twice() {
        let bytes = archive_bytes();
        let sha = hex(&Sha256::digest(&bytes));
        let url = serve(bytes.clone(), Arc::new(AtomicBool::new(false)), 1);
        let dir = tempfile::tempdir().unwrap();
        let mut calls = 0;
        let out = fetch(
            &source(url.clone(), Checksum::Sha256(sha.clone())),
            dir.path(),
            |_, _| calls += 1,
        )
        .unwrap();
        assert_eq!(out, Outcome::Downloaded { resumed_from: 0 });
        assert!(calls > 0 && dir.path().join("set/file.bin").exists());
        // The server is gone; a second call must not need it.
        assert_eq!(
            fetch(&source(url, Checksum::Sha256(sha)), dir.path(), |_, _| {}).unwrap(),
            Outcome::AlreadyPresent
        );
    }

    #[test]
    fn corrupted_download_is_rejected_and_removed() {
        let bytes = archive_bytes();
        let url = serve(bytes.clone(), Arc::new(AtomicBool::new(false)), 1);
        let dir = tempfile::tempdir().unwrap();
        let wrong = Checksum::Md5("0123456789abcdef0123456789abcdef".into());
        let e = fetch(&source(url, wrong), dir.path(), |_, _| {})
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("checksum mismatch") && e.contains("removed"),
            "{e}"
        );
        assert!(
            !dir.path().join("data.tar.gz.part").exists()
                && !dir.path().join("data.tar.gz").exists()
        );
        assert!(!dir.path().join("set").exists());
    }

    #[test]
    fn interrupted_download_resumes() {
        let bytes = archive_bytes();
        let md5 = hex(&Md5::digest(&bytes));
        let cut = Arc::new(AtomicBool::new(true));
        let url = serve(bytes.clone(), cut, 2);
        let dir = tempfile::tempdir().unwrap();
        let src = source(url, Checksum::Md5(md5));
        let e = fetch(&src, dir.path(), |_, _| {}).unwrap_err().to_string();
        assert!(e.contains("interrupted") && e.contains("resume"), "{e}");
        let kept = std::fs::metadata(dir.path().join("data.tar.gz.part"))
            .unwrap()
            .len();
        assert!(kept > 0 && kept < bytes.len() as u64);
        let out = fetch(&src, dir.path(), |_, _| {}).unwrap();
        assert_eq!(out, Outcome::Downloaded { resumed_from: kept });
        assert_eq!(
            std::fs::read(dir.path().join("data.tar.gz")).unwrap(),
            bytes
        );
        assert!(dir.path().join("set/file.bin").exists());
    }

    #[test]
    fn a_users_file_with_a_wrong_checksum_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("data.tar.gz"), b"mine").unwrap();
        let src = source(
            "http://127.0.0.1:9/unused".into(),
            Checksum::Sha256("00".repeat(32)),
        );
        let e = fetch(&src, dir.path(), |_, _| {}).unwrap_err().to_string();
        assert!(e.contains("left untouched"), "{e}");
        assert_eq!(
            std::fs::read(dir.path().join("data.tar.gz")).unwrap(),
            b"mine"
        );
        assert!(known("cifar10").is_ok() && known("mnist").is_err());
    }
}

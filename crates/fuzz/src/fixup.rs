//! Checksum repairs applied to mutated inputs (see [`crate::target::Target::fixup`]): a
//! format whose every chunk carries a CRC rejects nearly every mutation at the CRC, which
//! tests the CRC check and nothing behind it. Each repair recomputes what it can find and
//! leaves anything it cannot parse as it is.

use std::io::Read;

use crate::crc32::crc32;

fn u16_le(b: &[u8], at: usize) -> Option<usize> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?) as usize)
}

fn u32_le(b: &[u8], at: usize) -> Option<usize> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?) as usize)
}

/// PNG: the CRC of every complete chunk after the 8-byte signature (length, type, data, CRC
/// over type + data).
pub fn png(bytes: &mut [u8]) {
    let mut at = 8;
    while at + 12 <= bytes.len() {
        let Some(len) = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap_or([0; 4]))
            .try_into()
            .ok()
        else {
            return;
        };
        let Some(end) = (at + 8).checked_add(len).filter(|&e| e + 4 <= bytes.len()) else {
            return;
        };
        let crc = crc32(&bytes[at + 4..end]);
        bytes[end..end + 4].copy_from_slice(&crc.to_be_bytes());
        at = end + 4;
    }
}

/// Zip: the CRC-32 of every stored (uncompressed) entry, in its local header and in its
/// central-directory record, found through the central directory.
pub fn zip(bytes: &mut [u8]) {
    let mut at = 0;
    while let Some(found) = find(&bytes[at..], b"PK\x01\x02") {
        let record = at + found;
        at = record + 4;
        let (Some(method), Some(size), Some(local)) = (
            u16_le(bytes, record + 10),
            u32_le(bytes, record + 20),
            u32_le(bytes, record + 42),
        ) else {
            return;
        };
        if method != 0 || bytes.get(local..local + 4) != Some(b"PK\x03\x04") {
            continue;
        }
        let (Some(name), Some(extra)) = (u16_le(bytes, local + 26), u16_le(bytes, local + 28))
        else {
            continue;
        };
        let data = local + 30 + name + extra;
        let Some(payload) = bytes.get(data..data.saturating_add(size)) else {
            continue;
        };
        let crc = crc32(payload).to_le_bytes();
        bytes[local + 14..local + 18].copy_from_slice(&crc);
        bytes[record + 16..record + 20].copy_from_slice(&crc);
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Gzip (a single member without optional header fields): the trailer's CRC-32 and length of
/// what the deflate stream decodes to, when it decodes.
pub fn gzip(bytes: &mut [u8]) {
    if bytes.len() < 18 || bytes[..3] != [0x1f, 0x8b, 8] || bytes[3] != 0 {
        return;
    }
    let mut inflate = flate2::read::DeflateDecoder::new(&bytes[10..]);
    let mut out = Vec::new();
    // Bounded: a mutated stream could decode to far more than the input.
    if (&mut inflate).take(1 << 24).read_to_end(&mut out).is_err() {
        return;
    }
    let end = 10 + inflate.total_in() as usize;
    if end + 8 > bytes.len() {
        return;
    }
    bytes[end..end + 4].copy_from_slice(&crc32(&out).to_le_bytes());
    bytes[end + 4..end + 8].copy_from_slice(&(out.len() as u32).to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::by_name;

    fn seeds(target: &str) -> Vec<Vec<u8>> {
        let t = by_name(target).unwrap();
        (t.seeds)().into_iter().map(|(_, b)| b).collect()
    }

    #[test]
    fn repairs_leave_valid_files_as_they_are() {
        for (target, repair) in [
            ("celeba_png", png as fn(&mut [u8])),
            ("npz_clouds", zip),
            ("cifar_archive", gzip),
        ] {
            for seed in seeds(target) {
                let mut repaired = seed.clone();
                repair(&mut repaired);
                assert_eq!(repaired, seed, "{target}");
            }
        }
    }

    #[test]
    fn repairs_restore_the_checksums_a_mutation_broke() {
        let stored = seeds("npz_clouds")
            .into_iter()
            .find(|s| s[8] == 0)
            .expect("a stored .npz seed");
        let mut mutated = stored.clone();
        let data = 30 + u16_le(&stored, 26).unwrap() + u16_le(&stored, 28).unwrap();
        mutated[data + 100] ^= 0x40;
        let mut repaired = mutated.clone();
        zip(&mut repaired);
        assert_ne!(repaired[14..18], stored[14..18]);
        assert_eq!(
            repaired[14..18],
            crc32(&mutated[data..data + u32_le(&stored, 18).unwrap()]).to_le_bytes()
        );

        let gz = seeds("cifar_archive").remove(0);
        let mut trailer_broken = gz.clone();
        let n = gz.len();
        trailer_broken[n - 8] ^= 1;
        gzip(&mut trailer_broken);
        assert_eq!(trailer_broken, gz);
    }
}

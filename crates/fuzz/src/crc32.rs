//! CRC-32 (IEEE 802.3, the polynomial of PNG, gzip and zip), bitwise: the fix-ups that keep
//! mutated inputs past a format's checksum need it for a few hundred bytes at a time, where a
//! table or a dependency buys nothing.

/// The CRC-32 of `bytes` (reflected polynomial 0xEDB88320, initial and final XOR all ones).
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_check_value_and_a_png_chunk() {
        // The standard check value of CRC-32/ISO-HDLC.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        // The CRC of PNG's IEND chunk (type only, empty data), as every PNG file ends.
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
    }
}

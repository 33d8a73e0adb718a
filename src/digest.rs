//! SHA-256 digests as lower-case hexadecimal: the one place the cohort records, the model
//! manifests and downloads take them from.

use sha2::{Digest, Sha256};

/// Lower-case hexadecimal of `bytes`.
///
/// ```
/// assert_eq!(h2g::digest::hex(&[0x00, 0xab, 0x7f]), "00ab7f");
/// ```
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// SHA-256 of `bytes` as lower-case hex.
///
/// ```
/// // FIPS 180-2's "abc" example
/// assert_eq!(
///     h2g::digest::sha256_hex(b"abc"),
///     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/// );
/// ```
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// SHA-256 of every byte of the file at `path`, as `sha256:` and lower-case hex (the form the
/// cohort records and the output sets list).
pub fn file_sha256(path: &std::path::Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h)?;
    Ok(format!("sha256:{}", hex(&h.finalize())))
}

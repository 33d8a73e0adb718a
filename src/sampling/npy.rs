//! Writing NumPy `.npy` arrays of `uint8` (format version 1.0), streamed, atomically.

use std::io::{BufWriter, Write};
use std::path::Path;

use crate::output::AtomicFile;

/// A `uint8` C-order array being written row by row.
#[derive(Debug)]
pub struct NpyWriter {
    file: AtomicFile,
    expected: u64,
    written: u64,
}

/// The `.npy` v1.0 header for a `uint8` array of `shape`, padded to a multiple of 64 bytes.
pub fn npy_header(shape: &[usize]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let tuple = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut dict = format!("{{'descr': '|u1', 'fortran_order': False, 'shape': {tuple}, }}");
    let unpadded = 10 + dict.len() + 1;
    dict.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    dict.push('\n');
    let mut h = b"\x93NUMPY\x01\x00".to_vec();
    h.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    h.extend_from_slice(dict.as_bytes());
    h
}

impl NpyWriter {
    /// Starts `path` for an array of `shape`.
    pub fn create(path: &Path, shape: &[usize]) -> std::io::Result<Self> {
        let file = AtomicFile::create(path)?;
        let mut w = file.file();
        w.write_all(&npy_header(shape))?;
        Ok(NpyWriter {
            file,
            expected: shape.iter().map(|&d| d as u64).product(),
            written: 0,
        })
    }

    /// Appends bytes in C order.
    pub fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.written += data.len() as u64;
        if self.written > self.expected {
            return Err(std::io::Error::other(
                "more data than the array's shape holds",
            ));
        }
        let mut w = BufWriter::with_capacity(1 << 20, self.file.file());
        w.write_all(data)?;
        w.flush()
    }

    /// Checks the array is complete and moves it into place.
    pub fn finish(self) -> std::io::Result<()> {
        if self.written != self.expected {
            return Err(std::io::Error::other(format!(
                "array holds {} of {} bytes",
                self.written, self.expected
            )));
        }
        self.file.commit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_aligned_and_describes_the_shape() {
        let h = npy_header(&[2, 256, 256, 3]);
        assert_eq!(h.len() % 64, 0);
        assert!(h.starts_with(b"\x93NUMPY\x01\x00"));
        let text = String::from_utf8_lossy(&h[10..]);
        assert!(text.contains("'shape': (2, 256, 256, 3)") && text.ends_with('\n'));
        assert!(String::from_utf8_lossy(&npy_header(&[5])).contains("(5,)"));
    }
}

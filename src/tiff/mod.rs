//! Tiled pyramidal TIFF output: the file writer and the tile compressors.

mod compress;
mod writer;

pub use compress::{Compression, TileCompressor};
pub use writer::{BigTiffMode, CompressionTag, Finished, PyramidLayout, PyramidWriter};

/// Errors of the TIFF writer.
#[derive(Debug, thiserror::Error)]
pub enum TiffError {
    /// An I/O error while writing.
    #[error("writing the TIFF failed")]
    Io(#[from] std::io::Error),
    /// TIFF tiles must be a positive multiple of 16 pixels.
    #[error("tile size {0} is not a positive multiple of 16")]
    BadTileSize(u32),
    /// A level has no pixels.
    #[error("the image has no pixels")]
    EmptyImage,
    /// A sample depth other than 8 or 16 bits.
    #[error("unsupported TIFF layout: {0} bits per sample (8 or 16)")]
    BitsPerSample(u16),
    /// A colour map whose length is not 3 × 2^bits entries.
    #[error("unsupported TIFF layout: colour map of {entries} entries (need {need})")]
    ColourMap {
        /// Entries given.
        entries: usize,
        /// Entries needed.
        need: usize,
    },
    /// A tile index outside its level's grid.
    #[error("tile ({tx}, {ty}) is outside level {level}")]
    TileOutOfRange { level: usize, tx: u32, ty: u32 },
    /// A tile was written twice.
    #[error("tile ({tx}, {ty}) of level {level} was written twice")]
    TileWrittenTwice { level: usize, tx: u32, ty: u32 },
    /// A tile with no bytes.
    #[error("tile ({tx}, {ty}) of level {level} has no data")]
    EmptyTile { level: usize, tx: u32, ty: u32 },
    /// Finishing before every tile was written.
    #[error("tile ({tx}, {ty}) of level {level} was never written")]
    MissingTile { level: usize, tx: u32, ty: u32 },
    /// Classic TIFF was required but the file passes 4 GiB.
    #[error("the file passes 4 GiB and needs BigTIFF (use --bigtiff auto or always)")]
    NeedsBigTiff,
}

//! `convert-mask`: a label mask (PNG or TIFF) into a tiled pyramidal TIFF, streamed.
//!
//! A decoder thread reads rows in small chunks; the main thread gathers them into one band of
//! tile height per pyramid level, compresses each full band's tiles in parallel, writes them,
//! and reduces the band 2×2 into the next level's band. Peak memory is about two level-0
//! bands (`2 · tile · width` samples) whatever the image height, and output goes to a
//! temporary file that is renamed into place only when complete.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;

use indicatif::ProgressBar;
use rayon::prelude::*;
use serde::Serialize;

use crate::mask::{open_mask, MaskError, MaskHeader, MaskOptions, MaskReader, RowSource};
use crate::output::{progress, AtomicFile, CommitError, OutputSet};
use crate::pyramid::{level_sizes, reduce_rows, Reduce, Sample};
use crate::tiff::{
    BigTiffMode, Compression, PyramidLayout, PyramidWriter, TiffError, TileCompressor,
};

/// What to do with an input palette (QuPath's labelled PNGs carry one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PaletteMode {
    /// Keep the labels as grey values and write the palette to `OUT.palette.json`, so that
    /// every reader (OpenSlide included) sees the labels themselves.
    #[default]
    Sidecar,
    /// Embed the palette as a TIFF ColorMap (photometric Palette). Viewers show the colours;
    /// OpenSlide returns colours, not labels.
    Colormap,
    /// Drop it.
    Drop,
}

/// A validated conversion request.
#[derive(Debug, Clone)]
pub struct ConvertSpec {
    /// Tile width and height (a multiple of 16, at most 8192).
    pub tile: u32,
    /// Tile compression.
    pub compression: Compression,
    /// Pyramid reduction rule.
    pub reduce: Reduce,
    /// Classic TIFF or BigTIFF.
    pub bigtiff: BigTiffMode,
    /// Level-0 pixel size of the mask in µm (x, y), written as resolution tags.
    pub mpp: Option<(f64, f64)>,
    /// Palette handling.
    pub palette: PaletteMode,
    /// Input options (pixel limit, RGB mapping).
    pub mask: MaskOptions,
    /// Show a progress bar (only drawn when stderr is a terminal).
    pub progress: bool,
    /// The h2g command that makes the mask, named in the TIFF's Software tag.
    pub made_by: &'static str,
}

impl Default for ConvertSpec {
    fn default() -> Self {
        ConvertSpec {
            tile: 1024,
            compression: Compression::Lzw,
            reduce: Reduce::Mode,
            bigtiff: BigTiffMode::Auto,
            mpp: None,
            palette: PaletteMode::Sidecar,
            mask: MaskOptions::default(),
            progress: true,
            made_by: "convert-mask",
        }
    }
}

/// Errors of a conversion.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    /// Reading the input failed.
    #[error(transparent)]
    Mask(#[from] MaskError),
    /// Writing the TIFF failed.
    #[error(transparent)]
    Tiff(#[from] TiffError),
    /// The output location cannot be written.
    #[error("cannot write {}", path.display())]
    Output {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A tile size that is not a multiple of 16 in 16–8192.
    #[error("tile size {0} must be a multiple of 16 between 16 and 8192")]
    TileSize(u32),
    /// A pixel size that is not positive.
    #[error("pixel size {x} × {y} µm must be positive")]
    PixelSize {
        /// µm per pixel along x.
        x: f64,
        /// µm per pixel along y.
        y: f64,
    },
    /// The decoding thread ended before the last row (it panicked or was killed).
    #[error("the decoder stopped unexpectedly")]
    DecoderStopped,
}

/// What a conversion produced.
#[derive(Debug, Clone, Serialize)]
pub struct ConvertReport {
    /// The input file.
    pub input: PathBuf,
    /// The output file.
    pub output: PathBuf,
    /// Input encoding, e.g. "8-bit palette PNG".
    pub encoding: String,
    /// Sizes of the written levels, level 0 first.
    pub levels: Vec<(u32, u32)>,
    /// Bits per sample written.
    pub bits_per_sample: u16,
    /// Whether the output is BigTIFF.
    pub bigtiff: bool,
    /// Output size in bytes.
    pub bytes: u64,
    /// Level-0 pixel count of each label present, ascending by label.
    pub label_pixels: Vec<(u64, u64)>,
    /// The palette sidecar, when one was written.
    pub palette_sidecar: Option<PathBuf>,
}

/// Where the palette sidecar of `out` goes: `mask.tif` → `mask.palette.json`.
pub fn sidecar_path(out: &Path) -> PathBuf {
    out.with_extension("palette.json")
}

/// Converts `input` into a tiled pyramidal TIFF at `output`.
pub fn convert_mask(
    input: &Path,
    output: &Path,
    spec: &ConvertSpec,
) -> Result<ConvertReport, ConvertError> {
    validate(spec, output)?;
    let (header, reader) = open_mask(input, &spec.mask)?;
    write_mask(input, header, reader, output, spec)
}

fn validate(spec: &ConvertSpec, output: &Path) -> Result<(), ConvertError> {
    if spec.tile == 0 || !spec.tile.is_multiple_of(16) || spec.tile > 8192 {
        return Err(ConvertError::TileSize(spec.tile));
    }
    if let Some((x, y)) = spec.mpp {
        if !(x.is_finite() && y.is_finite() && x > 0.0 && y > 0.0) {
            return Err(ConvertError::PixelSize { x, y });
        }
    }
    if output.is_dir() {
        return Err(ConvertError::Output {
            path: output.to_path_buf(),
            source: std::io::Error::other("is a directory"),
        });
    }
    Ok(())
}

impl From<CommitError> for ConvertError {
    fn from(e: CommitError) -> Self {
        ConvertError::Output {
            path: e.path,
            source: e.source,
        }
    }
}

/// Writes an opened mask (from a file, or from memory with [`MemoryRows`]) as a tiled
/// pyramidal TIFF at `output`; `input` names the source in reports and the palette sidecar.
/// The TIFF and its sidecar are one set ([`OutputSet`]): both appear together, and a sidecar
/// an earlier conversion left at `output` is removed when this one writes none.
///
/// [`MemoryRows`]: crate::mask::MemoryRows
pub fn write_mask(
    input: &Path,
    header: MaskHeader,
    reader: MaskReader,
    output: &Path,
    spec: &ConvertSpec,
) -> Result<ConvertReport, ConvertError> {
    let mut set = OutputSet::new();
    let report = stage_mask(&mut set, input, header, reader, output, spec)?;
    let sidecar = sidecar_path(output);
    if report.palette_sidecar.is_none() && is_our_sidecar(&sidecar) {
        set.replaces(&sidecar);
    }
    set.commit()?;
    Ok(report)
}

/// Whether `path` is a palette sidecar h2g wrote (only such a file is removed as stale).
fn is_our_sidecar(path: &Path) -> bool {
    let small = std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() <= 1 << 24);
    small
        && std::fs::read(path)
            .ok()
            .and_then(|t| serde_json::from_slice::<serde_json::Value>(&t).ok())
            .is_some_and(|v| v.get("format").and_then(|f| f.as_str()) == Some("h2g-palette/1"))
}

/// [`write_mask`] into `set`: the TIFF (and its sidecar) are staged there, to appear when the
/// set is committed.
pub fn stage_mask(
    set: &mut OutputSet,
    input: &Path,
    header: MaskHeader,
    reader: MaskReader,
    output: &Path,
    spec: &ConvertSpec,
) -> Result<ConvertReport, ConvertError> {
    validate(spec, output)?;
    let levels = level_sizes(header.width, header.height, spec.tile);
    let palette = header
        .palette
        .clone()
        .filter(|_| spec.palette != PaletteMode::Drop);
    let colormap = match (&palette, spec.palette) {
        (Some(p), PaletteMode::Colormap) => Some(colormap_from(p, &reader)),
        _ => None,
    };
    let bits = match reader {
        MaskReader::U8(_) => 8,
        MaskReader::U16(_) => 16,
    };
    let layout = PyramidLayout {
        levels: levels.clone(),
        tile: spec.tile,
        bits_per_sample: bits,
        compression: spec.compression.tag(),
        colormap,
        mpp: spec.mpp,
        software: format!(
            "h2g {} {} ({} pyramid)",
            env!("CARGO_PKG_VERSION"),
            spec.made_by,
            spec.reduce
        ),
    };

    let out_err = |source| ConvertError::Output {
        path: output.to_path_buf(),
        source,
    };
    let tmp = AtomicFile::create(output).map_err(out_err)?;
    let file = tmp.file().try_clone().map_err(out_err)?;
    let writer = PyramidWriter::new(BufWriter::with_capacity(4 << 20, file), layout)?;
    let name = input
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let bar = progress(
        Some(header.height as u64),
        &format!("converting {name} (rows)"),
        spec.progress,
    );
    let (writer, hist) = match reader {
        MaskReader::U8(src) => stream::<u8>(src, writer, spec, &bar)?,
        MaskReader::U16(src) => stream::<u16>(src, writer, spec, &bar)?,
    };
    bar.finish_and_clear();
    let (buf, finished) = writer.finish(spec.bigtiff)?;
    let file = buf.into_inner().map_err(|e| out_err(e.into_error()))?;
    file.sync_all().map_err(out_err)?;

    set.add(tmp).map_err(out_err)?;
    let sidecar = match (&palette, spec.palette) {
        (Some(p), PaletteMode::Sidecar) => {
            let path = sidecar_path(output);
            write_sidecar(set, &path, input, p, &hist)?;
            Some(path)
        }
        _ => None,
    };
    Ok(ConvertReport {
        input: input.to_path_buf(),
        output: output.to_path_buf(),
        encoding: header.encoding,
        levels,
        bits_per_sample: bits,
        bigtiff: finished.bigtiff,
        bytes: finished.bytes,
        label_pixels: hist,
        palette_sidecar: sidecar,
    })
}

fn colormap_from(palette: &[[u8; 3]], reader: &MaskReader) -> Vec<u16> {
    let n = match reader {
        MaskReader::U8(_) => 256,
        MaskReader::U16(_) => 65536,
    };
    let mut map = vec![0u16; 3 * n];
    for (i, c) in palette.iter().enumerate().take(n) {
        for (ch, v) in c.iter().enumerate() {
            map[ch * n + i] = *v as u16 * 257;
        }
    }
    map
}

#[derive(Serialize)]
struct SidecarLabel {
    label: usize,
    rgb: [u8; 3],
    pixels: u64,
}

#[derive(Serialize)]
struct Sidecar<'a> {
    format: &'static str,
    source: &'a str,
    note: &'static str,
    labels: Vec<SidecarLabel>,
}

fn write_sidecar(
    set: &mut OutputSet,
    path: &Path,
    input: &Path,
    palette: &[[u8; 3]],
    hist: &[(u64, u64)],
) -> Result<(), ConvertError> {
    let err = |source| ConvertError::Output {
        path: path.to_path_buf(),
        source,
    };
    let labels = palette
        .iter()
        .enumerate()
        .map(|(label, rgb)| SidecarLabel {
            label,
            rgb: *rgb,
            pixels: hist
                .iter()
                .find(|(l, _)| *l == label as u64)
                .map_or(0, |(_, n)| *n),
        })
        .collect();
    let doc = Sidecar {
        format: "h2g-palette/1",
        source: &input.to_string_lossy(),
        note: "pixel values of the TIFF are labels; rgb is the colour the input's palette gave each label",
        labels,
    };
    set.write_json(path, &doc).map_err(err)
}

/// Samples of a level gathered until one tile row is complete.
struct LevelBand<T> {
    width: usize,
    buf: Vec<T>,
    rows: usize,
    tile_row: u32,
}

type Chunk<T> = Result<(Vec<T>, usize), MaskError>;
/// A compressed tile and, for level 0, its label histogram.
type EncodedTile = (Arc<Vec<u8>>, Option<Vec<u64>>);
/// The writer handed back after streaming, with the level-0 label histogram.
type Streamed = (PyramidWriter<BufWriter<File>>, Vec<(u64, u64)>);

/// Streams every row of `src` through the pyramid into `writer`; returns the writer and the
/// level-0 label histogram.
fn stream<T: Sample>(
    src: Box<dyn RowSource<T>>,
    mut writer: PyramidWriter<BufWriter<File>>,
    spec: &ConvertSpec,
    bar: &ProgressBar,
) -> Result<Streamed, ConvertError> {
    let layout = writer.layout().clone();
    let (w0, h0) = layout.levels[0];
    let tile = spec.tile as usize;
    // Rows per chunk handed over by the decoder thread, and chunks in flight: half a band
    // ahead is enough to keep the decoder busy while a band is compressed.
    let chunk_rows = (tile / 8).max(16);
    let pool = (tile / 2).div_ceil(chunk_rows).max(2);
    let (data_tx, data_rx) = sync_channel::<Chunk<T>>(pool);
    let (free_tx, free_rx) = sync_channel::<Vec<T>>(pool);
    for _ in 0..pool {
        // The channel has room for `pool` buffers.
        let _ = free_tx.send(Vec::with_capacity(w0 as usize * chunk_rows));
    }
    let mut bands: Vec<LevelBand<T>> = layout
        .levels
        .iter()
        .map(|&(w, _)| LevelBand {
            width: w as usize,
            buf: vec![T::default(); w as usize * tile],
            rows: 0,
            tile_row: 0,
        })
        .collect();
    let compressor = TileCompressor::new(spec.compression);
    let mut hist = vec![0u64; T::HIST_LEN];
    std::thread::scope(|s| {
        s.spawn(move || decode(src, w0 as usize, h0 as usize, chunk_rows, data_tx, free_rx));
        let mut ctx = Ctx {
            writer: &mut writer,
            bands: &mut bands,
            compressor: &compressor,
            rule: spec.reduce,
            tile,
            hist: &mut hist,
        };
        process(&mut ctx, data_rx, free_tx, h0 as usize, bar)
    })?;
    let hist = hist
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(l, n)| (l as u64, *n))
        .collect();
    Ok((writer, hist))
}

fn decode<T: Sample>(
    mut src: Box<dyn RowSource<T>>,
    width: usize,
    height: usize,
    chunk_rows: usize,
    data_tx: SyncSender<Chunk<T>>,
    free_rx: Receiver<Vec<T>>,
) {
    let mut done = 0;
    while done < height {
        let Ok(mut buf) = free_rx.recv() else { return };
        let rows = chunk_rows.min(height - done);
        buf.clear();
        buf.resize(rows * width, T::default());
        let msg = src.read_rows(&mut buf, rows).map(|_| (buf, rows));
        let failed = msg.is_err();
        if data_tx.send(msg).is_err() || failed {
            return;
        }
        done += rows;
    }
}

struct Ctx<'a, T: Sample> {
    writer: &'a mut PyramidWriter<BufWriter<File>>,
    bands: &'a mut [LevelBand<T>],
    compressor: &'a TileCompressor,
    rule: Reduce,
    tile: usize,
    hist: &'a mut [u64],
}

fn process<T: Sample>(
    ctx: &mut Ctx<'_, T>,
    data_rx: Receiver<Chunk<T>>,
    free_tx: SyncSender<Vec<T>>,
    height: usize,
    bar: &ProgressBar,
) -> Result<(), ConvertError> {
    let mut received = 0;
    while received < height {
        let (chunk, rows) = match data_rx.recv() {
            Ok(msg) => msg?,
            Err(_) => {
                return Err(ConvertError::DecoderStopped);
            }
        };
        let w = ctx.bands[0].width;
        let mut taken = 0;
        while taken < rows {
            let b = &mut ctx.bands[0];
            let n = (ctx.tile - b.rows).min(rows - taken);
            b.buf[b.rows * w..(b.rows + n) * w].copy_from_slice(&chunk[taken * w..(taken + n) * w]);
            b.rows += n;
            taken += n;
            if b.rows == ctx.tile {
                flush(ctx, 0)?;
            }
        }
        received += rows;
        bar.inc(rows as u64);
        // The decoder may already be gone after its last chunk.
        let _ = free_tx.send(chunk);
    }
    for level in 0..ctx.bands.len() {
        if ctx.bands[level].rows > 0 {
            flush(ctx, level)?;
        }
    }
    Ok(())
}

/// Writes the tile row held in `level`'s band, then reduces it into the next level (flushing
/// that level too when its band fills up).
fn flush<T: Sample>(ctx: &mut Ctx<'_, T>, mut level: usize) -> Result<(), ConvertError> {
    loop {
        let tile = ctx.tile;
        let band = &ctx.bands[level];
        let (w, rows, ty) = (band.width, band.rows, band.tile_row);
        let across = w.div_ceil(tile);
        let count = level == 0;
        let compressor = ctx.compressor;
        let tiles: Vec<EncodedTile> = (0..across)
            .into_par_iter()
            .map(|tx| {
                let x0 = tx * tile;
                let tw = tile.min(w - x0);
                encode_tile(&band.buf, w, x0, tw, rows, tile, compressor, count)
            })
            .collect();
        for (tx, (bytes, h)) in tiles.into_iter().enumerate() {
            ctx.writer.write_tile(level, tx as u32, ty, &bytes)?;
            if let Some(h) = h {
                for (a, b) in ctx.hist.iter_mut().zip(h) {
                    *a += b;
                }
            }
        }
        let (lower, upper) = ctx.bands.split_at_mut(level + 1);
        let band = &mut lower[level];
        band.rows = 0;
        band.tile_row += 1;
        let Some(next) = upper.first_mut() else {
            return Ok(());
        };
        let out_rows = rows.div_ceil(2);
        let nw = next.width;
        let rule = ctx.rule;
        let src = &band.buf;
        next.buf[next.rows * nw..(next.rows + out_rows) * nw]
            .par_chunks_mut(nw)
            .enumerate()
            .for_each(|(r, out)| {
                let top = &src[2 * r * w..(2 * r + 1) * w];
                let bottom = (2 * r + 1 < rows).then(|| &src[(2 * r + 1) * w..(2 * r + 2) * w]);
                reduce_rows(rule, top, bottom, out);
            });
        next.rows += out_rows;
        if next.rows < tile {
            return Ok(());
        }
        level += 1;
    }
}

/// Extracts, histograms and compresses one tile of a band. Edge tiles are padded with 0.
#[allow(clippy::too_many_arguments)]
fn encode_tile<T: Sample>(
    band: &[T],
    w: usize,
    x0: usize,
    tw: usize,
    rows: usize,
    tile: usize,
    compressor: &TileCompressor,
    count: bool,
) -> EncodedTile {
    let first = band[x0];
    let uniform = (0..rows).all(|y| {
        band[y * w + x0..y * w + x0 + tw]
            .iter()
            .all(|v| *v == first)
    });
    let full = tw == tile && rows == tile;
    let hist = count.then(|| {
        let mut h = vec![0u64; T::HIST_LEN];
        if uniform {
            h[first.to_u64() as usize] = (tw * rows) as u64;
        } else {
            for y in 0..rows {
                for v in &band[y * w + x0..y * w + x0 + tw] {
                    h[v.to_u64() as usize] += 1;
                }
            }
        }
        h
    });
    if uniform && (full || first == T::default()) {
        let n = tile * tile;
        let bytes =
            compressor.compress_uniform(first.to_u64(), n * T::BYTES, || T::uniform_tile(first, n));
        return (bytes, hist);
    }
    let mut samples = vec![T::default(); tile * tile];
    for y in 0..rows {
        samples[y * tile..y * tile + tw].copy_from_slice(&band[y * w + x0..y * w + x0 + tw]);
    }
    (compressor.compress(&T::into_le_bytes(samples)), hist)
}

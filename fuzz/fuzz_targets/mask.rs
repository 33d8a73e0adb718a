//! PNG and TIFF label masks (by their magic bytes, as users' files): opened, every row read,
//! and traced into polygons as `h2g vectorize` does.
#![no_main]
mod common;

use h2g::mask::{open_mask, MaskOptions, MaskReader, RowSource};
use h2g::pyramid::Sample;
use h2g::vector::LabelTracer;
use libfuzzer_sys::fuzz_target;

/// Reads every row of `r` into the tracer; stops at the first read error.
fn trace<T: Sample>(mut r: Box<dyn RowSource<T>>, w: usize, h: u32, tracer: &mut LabelTracer) {
    let mut row = vec![T::default(); w];
    for _ in 0..h {
        if r.read_rows(&mut row, 1).is_err() {
            return;
        }
        tracer.push_rows(&row, w);
    }
}

fuzz_target!(|data: &[u8]| {
    let opts = MaskOptions {
        max_pixels: 1 << 16,
        ..MaskOptions::default()
    };
    common::with_file("in.mask", data, |p| {
        let Ok((h, reader)) = open_mask(p, &opts) else {
            return;
        };
        let mut tracer = LabelTracer::new(None);
        match reader {
            MaskReader::U8(r) => trace(r, h.width as usize, h.height, &mut tracer),
            MaskReader::U16(r) => trace(r, h.width as usize, h.height, &mut tracer),
        }
        tracer.finish();
        let _ = tracer.take_done();
    });
});

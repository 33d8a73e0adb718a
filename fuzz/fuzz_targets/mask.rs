//! PNG and TIFF label masks (by their magic bytes, as users' files): opened, every row read,
//! and traced into polygons as `h2g vectorize` does.
#![no_main]
mod common;

use h2g::mask::{open_mask, MaskOptions, MaskReader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let opts = MaskOptions {
        max_pixels: 1 << 16,
        ..MaskOptions::default()
    };
    common::with_file("in.mask", data, |p| {
        let Ok((h, reader)) = open_mask(p, &opts) else {
            return;
        };
        let w = h.width as usize;
        let mut tracer = h2g::vector::LabelTracer::new(None);
        match reader {
            MaskReader::U8(mut r) => {
                let mut row = vec![0u8; w];
                for _ in 0..h.height {
                    if r.read_rows(&mut row, 1).is_err() {
                        return;
                    }
                    tracer.push_rows(&row, w);
                }
            }
            MaskReader::U16(mut r) => {
                let mut row = vec![0u16; w];
                for _ in 0..h.height {
                    if r.read_rows(&mut row, 1).is_err() {
                        return;
                    }
                    tracer.push_rows(&row, w);
                }
            }
        }
        tracer.finish();
        let _ = tracer.take_done();
    });
});

//! ASAP XML (CAMELYON16 outlines) through the annotation reader, then filled on a small grid.
#![no_main]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut doc = b"<?xml version=\"1.0\"?>".to_vec();
    doc.extend_from_slice(data);
    common::with_file("in.xml", &doc, |p| {
        if let Ok(a) = h2g::vector::read_annotations(p) {
            let polys = a.polygons_where(|_| true, 64.0);
            let _ = h2g::vector::rasterize(&polys, 48, 40, h2g::vector::PixelRule::TopLeft);
        }
    });
});

//! QuPath GeoJSON (and gzip/zip, chosen by their magic bytes) through the annotation reader,
//! then every polygon read filled on a small grid by QuPath's pixel rule.
#![no_main]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::with_file("in.geojson", data, |p| {
        if let Ok(a) = h2g::vector::read_annotations(p) {
            let polys = a.polygons_where(|_| true, 64.0);
            let _ = h2g::vector::rasterize(&polys, 48, 40, h2g::vector::PixelRule::TopLeft);
        }
    });
});

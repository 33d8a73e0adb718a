//! Java2D's non-antialiased rendering as QuPath's `LabeledImageServer` sets it up, reproduced
//! integer for integer so that `h2g rasterize` writes the mask QuPath exports.
//!
//! QuPath renders each 512 × 512 tile of the labelled image into its own 8-bit image: the
//! Graphics2D is scaled by 1/d and translated by the tile's full-resolution origin, its stroke is
//! `BasicStroke((float)(t·d))` (t: the builder's `lineThickness`, 1 by default), areas are
//! `fill`ed, lines `draw`n and points set pixel by pixel (docs/rasterize.md). What Java2D then
//! does depends on the shape, the downsample and the thickness:
//!
//! * a `Rectangle2D` goes to the parallelogram filler: each side is moved to
//!   `floor(v + 0.25) + 0.25` in tile pixels and pixel centres are sampled;
//! * any other area, when the stroke is "thin" (its device width is at most 1, as at d = 1, 2,
//!   4, …), goes to the native path filler: coordinates as 32-bit floats, clipped to the tile
//!   and turned into fixed point with 10 fractional bits; curves are flattened by forward
//!   differencing; a pixel is inside when its top-left corner is, each edge's x stepping down the
//!   rows by a truncated fixed-point slope;
//! * when the stroke is "wide" (float(t·d)² / d² above 1, as at d = 3.7 or for any t > 1), the
//!   same areas go to the span iterator instead: every vertex is first moved to
//!   `floor(v + 0.25) + 0.25`, curves are subdivided until flat, and pixel centres are sampled;
//! * lines under a thin stroke are one-pixel lines (`thin`); under a wide one a `Line2D` is one
//!   parallelogram (`pgram`) and a path is outlined by Marlin's stroker and filled by the span
//!   iterator (`stroker`).
//!
//! The tile origin enters every float rounding, so the work is done per tile; rows still come out
//! one at a time (a band of tiles is prepared at a time: the edges, never the pixels).

mod figure;
mod filler;
mod pgram;
mod spans;
mod stroker;
mod thin;
mod tiles;

#[cfg(test)]
mod tests;

pub use figure::{
    stroke_is_thin, stroke_is_thin_with, Figure, LineStroke, LineStrokeError, MAX_LINE_THICKNESS,
};
pub use stroker::Jdk;

use crate::mask::{MaskError, RowSource};
use filler::thin_tracks;
use pgram::wide_segment_tracks;
use spans::{point_tracks, rect_tracks, ssi_tracks};
use stroker::wide_line_tracks;
use thin::{line_tracks, segment_tracks};
use tiles::{device_path, TileXf, Track};

/// QuPath's tile side in output pixels (`LabeledImageServer`'s default tile size).
pub const TILE: usize = 512;

/// One drawn object: its label, figure, fill rule and bounds in output pixels.
#[derive(Debug)]
struct Obj {
    label: u16,
    fig: Figure,
    even_odd: bool,
    /// Output-pixel bounds, widened by a margin.
    b: (f64, f64, f64, f64),
    /// Full-resolution bounds: QuPath draws an object in a tile only when these meet the tile's
    /// request (closed intervals, as JTS envelopes intersect).
    full: (f64, f64, f64, f64),
}

/// The tracks of one tile of the current band, with the ones active on the current row.
#[derive(Debug, Default)]
struct TileTracks {
    tracks: Vec<Track>,
    next: usize,
    active: Vec<u32>,
}

/// Rows of the label mask QuPath's `LabeledImageServer` exports, produced one at a time.
#[derive(Debug)]
pub struct QupathFill {
    objs: Vec<Obj>,
    /// Object indices by their top row.
    by_top: Vec<u32>,
    next_obj: usize,
    live: Vec<u32>,
    w: usize,
    h: usize,
    d: f64,
    thin: bool,
    stroke: LineStroke,
    y: usize,
    band: Option<usize>,
    tiles: Vec<TileTracks>,
    hits: Vec<(u32, i64, i32)>,
}

impl QupathFill {
    /// `layers` in drawing order (a label and its figures, full-resolution coordinates), a
    /// `w × h` mask at downsample `d` (> 0), lines of QuPath's default thickness (1).
    pub fn new(layers: &[(u16, Vec<Figure>)], w: usize, h: usize, d: f64) -> Self {
        Self::with_stroke(layers, w, h, d, LineStroke::default())
    }

    /// The same with QuPath's `lineThickness` and JDK given by `stroke`: the stroke
    /// `BasicStroke((float)(thickness · d))` draws the lines and, when it is wide, also sends
    /// the areas to the span iterator instead of the path filler.
    pub fn with_stroke(
        layers: &[(u16, Vec<Figure>)],
        w: usize,
        h: usize,
        d: f64,
        stroke: LineStroke,
    ) -> Self {
        let mut objs = Vec::new();
        for (label, figs) in layers {
            for f in figs {
                let (x0, y0, x1, y1) = f.bounds();
                if !(x0.is_finite() && y0.is_finite() && x1.is_finite() && y1.is_finite()) {
                    continue;
                }
                let even_odd = matches!(f, Figure::Area { even_odd: true, .. });
                objs.push(Obj {
                    label: *label,
                    fig: f.clone(),
                    even_odd,
                    b: (x0 / d - 3.0, y0 / d - 3.0, x1 / d + 3.0, y1 / d + 3.0),
                    full: (x0, y0, x1, y1),
                });
            }
        }
        let mut by_top: Vec<u32> = (0..objs.len() as u32).collect();
        by_top.sort_by(|&a, &b| objs[a as usize].b.1.total_cmp(&objs[b as usize].b.1));
        QupathFill {
            objs,
            by_top,
            next_obj: 0,
            live: Vec::new(),
            w,
            h,
            d,
            thin: stroke_is_thin_with(d, stroke.thickness()),
            stroke,
            y: 0,
            band: None,
            tiles: Vec::new(),
            hits: Vec::new(),
        }
    }

    fn prepare_band(&mut self, band: usize) {
        let (top, bottom) = ((band * TILE) as f64, ((band + 1) * TILE) as f64);
        while self.next_obj < self.by_top.len()
            && self.objs[self.by_top[self.next_obj] as usize].b.1 < bottom
        {
            self.live.push(self.by_top[self.next_obj]);
            self.next_obj += 1;
        }
        let objs = &self.objs;
        self.live.retain(|&o| objs[o as usize].b.3 >= top);
        self.live.sort_unstable();
        let ncol = self.w.div_ceil(TILE);
        self.tiles.clear();
        self.tiles.resize_with(ncol, TileTracks::default);
        let mut path = Vec::new();
        for &o in &self.live {
            let ob = &self.objs[o as usize];
            let c0 = (ob.b.0.max(0.0) / TILE as f64) as usize;
            let c1 = ((ob.b.2.max(0.0) / TILE as f64) as usize).min(ncol.saturating_sub(1));
            for col in c0..=c1 {
                if col >= ncol {
                    break;
                }
                let t = TileXf::new(col, band, self.w, self.h, self.d);
                let f = ob.full;
                if f.0 > t.rx + t.rw || f.2 < t.rx || f.1 > t.ry + t.rh || f.3 < t.ry {
                    continue;
                }
                let out = &mut self.tiles[col].tracks;
                match &ob.fig {
                    Figure::Rect { x, y, w, h } => rect_tracks(*x, *y, *w, *h, &t, o, out),
                    Figure::Points(p) => point_tracks(p, &t, o, out),
                    Figure::Lines(parts) => {
                        if self.thin {
                            line_tracks(parts, &t, o, out);
                        } else {
                            let lw = self.stroke.width(self.d);
                            wide_line_tracks(parts, lw, self.stroke.jdk(), &t, o, out);
                        }
                    }
                    Figure::Line(l) => {
                        if self.thin {
                            segment_tracks(l, &t, o, out);
                        } else {
                            wide_segment_tracks(l, self.stroke.width(self.d), &t, o, out);
                        }
                    }
                    fig => {
                        device_path(fig, &t, &mut path);
                        if self.thin {
                            thin_tracks(&path, &t, o, out);
                        } else {
                            ssi_tracks(&path, &t, o, out);
                        }
                    }
                }
            }
        }
        for t in &mut self.tiles {
            t.tracks.sort_by_key(|k| k.y0);
        }
        self.band = Some(band);
    }

    /// Fills the next row with labels (0 where nothing is drawn).
    pub fn fill_row(&mut self, row: &mut [u16]) {
        row.fill(0);
        if self.y >= self.h {
            self.y += 1;
            return;
        }
        let band = self.y / TILE;
        if self.band != Some(band) {
            self.prepare_band(band);
        }
        let ly = (self.y - band * TILE) as i32;
        self.y += 1;
        for (col, tt) in self.tiles.iter_mut().enumerate() {
            let tracks = &tt.tracks;
            tt.active.retain(|&i| tracks[i as usize].y1 > ly);
            while tt.next < tracks.len() && tracks[tt.next].y0 <= ly {
                if tracks[tt.next].y1 > ly {
                    tt.active.push(tt.next as u32);
                }
                tt.next += 1;
            }
            if tt.active.is_empty() {
                continue;
            }
            self.hits.clear();
            for &i in &tt.active {
                let k = &tracks[i as usize];
                if k.dir == 0 {
                    // a parallelogram's row: both ends at once
                    if let Some((l, r)) = k.run(ly) {
                        self.hits.push((k.obj, l, 1));
                        self.hits.push((k.obj, r, -1));
                    }
                } else {
                    self.hits.push((k.obj, k.threshold(ly), k.dir));
                }
            }
            self.hits.sort_unstable_by_key(|h| (h.0, h.1));
            let x0 = col * TILE;
            let tw = (self.w - x0).min(TILE) as i64;
            let seg = &mut row[x0..x0 + tw as usize];
            let mut i = 0;
            while i < self.hits.len() {
                let o = self.hits[i].0;
                let ob = &self.objs[o as usize];
                let (mut wind, mut start, mut inside) = (0i32, 0i64, false);
                while i < self.hits.len() && self.hits[i].0 == o {
                    let (_, x, dir) = self.hits[i];
                    wind += dir;
                    let now = if ob.even_odd {
                        wind & 1 != 0
                    } else {
                        wind != 0
                    };
                    if now && !inside {
                        start = x;
                    } else if !now && inside {
                        paint(seg, start, x, ob.label);
                    }
                    inside = now;
                    i += 1;
                }
                if inside {
                    paint(seg, start, tw, ob.label);
                }
            }
        }
    }
}

fn paint(seg: &mut [u16], a: i64, b: i64, label: u16) {
    let n = seg.len() as i64;
    let (a, b) = (a.clamp(0, n) as usize, b.clamp(0, n) as usize);
    if b > a {
        seg[a..b].fill(label);
    }
}

impl RowSource<u16> for QupathFill {
    fn read_rows(&mut self, out: &mut [u16], rows: usize) -> Result<(), MaskError> {
        let w = self.w.max(1);
        for r in out.chunks_exact_mut(w).take(rows) {
            self.fill_row(r);
        }
        Ok(())
    }
}

impl RowSource<u8> for QupathFill {
    /// Labels above 255 are cut to their low byte: give u8 rows only for labels ≤ 255.
    fn read_rows(&mut self, out: &mut [u8], rows: usize) -> Result<(), MaskError> {
        let w = self.w.max(1);
        let mut row = vec![0u16; w];
        for r in out.chunks_exact_mut(w).take(rows) {
            self.fill_row(&mut row);
            for (d, v) in r.iter_mut().zip(&row) {
                *d = *v as u8;
            }
        }
        Ok(())
    }
}

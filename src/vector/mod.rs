//! Masks ↔ polygons: tracing label masks into valid polygons along pixel edges, and filling
//! annotations back into masks exactly as QuPath's labelled-image export does (its Java2D
//! rendering, reproduced in `java2d`), so that one undoes the other exactly.

mod geojson;
mod geom;
mod geometry;
mod java2d;
mod raster;
mod rasterize_run;
mod read;
mod simplify;
mod stream;
mod sweep;
mod trace;
mod vectorize;

pub use geojson::{
    default_color, fmt_coord, uuid_from, write_geojson, ClassEncoding, ClassSpec, ClassSpecError,
    GeoJsonWriter, Placement,
};
pub use geom::{
    meet, meetings, segment_meetings, self_crossing, Conflict, Coord, Meet, RingCheck, Segment,
};
pub use geometry::{
    fill_labels, from_multipolygon, to_multipolygon, trace_labels, GeometryError, Layer,
    MAX_FILL_PIXELS,
};
pub use java2d::{
    stroke_is_thin, stroke_is_thin_with, Figure, Jdk, LineStroke, LineStrokeError, QupathFill,
    MAX_LINE_THICKNESS, TILE as QUPATH_TILE,
};
pub use raster::{rasterize, PixelRule, PolygonF, ScanFill};
pub use rasterize_run::{
    rasterize_file, self_crossings, FigureCounts, MaskSize, RasterizeError, RasterizeSpec,
    Rasterized, SelfCrossing,
};
pub use read::{
    classification_name, is_geojson_path, read_annotations, Annotation, Annotations, AsapError,
    FeatureError, Marks, Place, Positions, ReadError, SniffError,
};
pub use simplify::{simplify_polygon, simplify_topology};
pub use stream::{row_runs, LabelTracer};
pub use sweep::{trace, Tracer};
pub use trace::{filter_areas, signed_area2, trace_walk, Polygon, Ring};
pub use vectorize::{
    vectorize, vectorize_labels, ClassCount, VectorizeError, VectorizeSpec, Vectorized,
};

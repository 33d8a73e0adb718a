// Shared by the fuzz targets: inputs go through the same file paths users' files take.
use std::io::Write;

/// Writes `data` to a fresh file named `name` (in $TMPDIR: a tmpfs makes this cheap) and hands
/// its path to `f`.
pub fn with_file<R>(name: &str, data: &[u8], f: impl FnOnce(&std::path::Path) -> R) -> R {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join(name);
    std::fs::File::create(&path)
        .and_then(|mut file| file.write_all(data))
        .expect("the input written");
    f(&path)
}

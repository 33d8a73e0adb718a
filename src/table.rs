//! The one reader of h2g's CSV tables with a header (cohort tables of `run`, evaluation tables
//! of `evaluate`, cohort and patch tables of `sample`, per-slide tables of `stats`): columns
//! found by name, cells trimmed, blank rows skipped, short rows allowed (missing cells are
//! empty), a UTF-8 byte-order mark and CRLF line ends accepted, numbers checked, relative paths
//! taken from the table's folder, and every error naming the file, the line and the column.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// What is wrong with a table.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// The table cannot be opened.
    #[error("{}: cannot open the {kind}: {error}", path.display())]
    Open {
        /// The table.
        path: PathBuf,
        /// What the table is (`cohort table`, `evaluation table`, …).
        kind: &'static str,
        /// Why.
        error: std::io::Error,
    },
    /// The table's header cannot be read.
    #[error("{}: cannot read the {kind}: {error}", path.display())]
    Read {
        /// The table.
        path: PathBuf,
        /// What the table is (`cohort table`, `evaluation table`, …).
        kind: &'static str,
        /// Why.
        error: csv::Error,
    },
    /// A required column is missing.
    #[error(
        "{}: no column '{column}'{}",
        path.display(),
        match hint {
            Some(h) => format!(" ({h}); columns: {columns}"),
            None => format!(" (columns: {columns})"),
        }
    )]
    MissingColumn {
        /// The table.
        path: PathBuf,
        /// The column it needs.
        column: String,
        /// What the column holds, when the message says it.
        hint: Option<&'static str>,
        /// The columns it has, comma-separated.
        columns: String,
    },
    /// A line the CSV reader cannot read (bad UTF-8, a broken quote).
    #[error("{}: line {line}: {error}", path.display())]
    Line {
        /// The table.
        path: PathBuf,
        /// The line.
        line: u64,
        /// What the CSV reader said.
        error: csv::Error,
    },
    /// A required cell is empty.
    #[error("{}: line {line}: empty {column}", path.display())]
    Empty {
        /// The table.
        path: PathBuf,
        /// The line.
        line: u64,
        /// The column.
        column: String,
    },
    /// A cell that must be a positive number.
    #[error("{}: line {line}: {column} '{value}' is not a positive number", path.display())]
    NotPositive {
        /// The table.
        path: PathBuf,
        /// The line.
        line: u64,
        /// The column.
        column: String,
        /// The text.
        value: String,
    },
    /// A cell that must be a number of some kind.
    #[error("{}: line {line}: {column} '{value}' is not {expected}", path.display())]
    NotANumber {
        /// The table.
        path: PathBuf,
        /// The line.
        line: u64,
        /// The column.
        column: String,
        /// The text.
        value: String,
        /// What it must be (`a whole number ≥ 0`, `a number`).
        expected: &'static str,
    },
    /// A table with a header and no rows.
    #[error("{}: no rows (only a header, or nothing)", path.display())]
    NoRows {
        /// The table.
        path: PathBuf,
    },
}

/// An open table: its header read, its rows read on demand.
pub struct Table {
    path: PathBuf,
    kind: &'static str,
    base: PathBuf,
    headers: csv::StringRecord,
    reader: csv::Reader<Lines>,
    newlines: Newlines,
}

/// The line ends read ahead of the CSV reader, and how many line feeds it has passed.
///
/// The CSV reader's own line count lags on CRLF files (a record starts before the previous
/// line's `\n` is consumed, and blank lines before it are skipped from their `\r`), so lines are
/// counted here: a record whose position is byte `b` starts after the run of `\r`/`\n` bytes at
/// `b`, and its line is 1 + the line feeds before that, for LF and CRLF alike.
#[derive(Clone, Default)]
struct Newlines(std::sync::Arc<std::sync::Mutex<LineEnds>>);

#[derive(Default)]
struct LineEnds {
    /// Offsets of `\r` and `\n` bytes not yet passed, and whether each is a `\n`.
    ahead: std::collections::VecDeque<(u64, bool)>,
    /// Line feeds passed.
    passed: u64,
}

impl Newlines {
    fn line_at(&self, byte: u64) -> u64 {
        let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let mut at = byte;
        while let Some(&(o, lf)) = g.ahead.front() {
            if o > at {
                break;
            }
            if o == at {
                // a line end where the record is said to start: it starts after it
                at += 1;
            }
            g.passed += u64::from(lf);
            g.ahead.pop_front();
        }
        1 + g.passed
    }
}

/// A file that notes where its line feeds are as it is read.
struct Lines {
    file: File,
    at: u64,
    newlines: Newlines,
}

impl std::io::Read for Lines {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(buf)?;
        let mut g = self.newlines.0.lock().unwrap_or_else(|p| p.into_inner());
        for (i, &b) in buf[..n].iter().enumerate() {
            if b == b'\n' || b == b'\r' {
                g.ahead.push_back((self.at + i as u64, b == b'\n'));
            }
        }
        self.at += n as u64;
        Ok(n)
    }
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Table({}, {:?})", self.path.display(), self.headers)
    }
}

impl Table {
    /// Opens `path` and reads its header; `kind` names the table in errors.
    pub fn open(path: &Path, kind: &'static str) -> Result<Table, TableError> {
        crate::guard::register_input(path);
        let read = |error| TableError::Read {
            path: path.into(),
            kind,
            error,
        };
        let file = File::open(path).map_err(|error| TableError::Open {
            path: path.into(),
            kind,
            error,
        })?;
        let newlines = Newlines::default();
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(Lines {
            file,
            at: 0,
            newlines: newlines.clone(),
        });
        let headers = reader.headers().map_err(read)?.clone();
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
        Ok(Table {
            path: path.into(),
            kind,
            base: parent.unwrap_or(Path::new(".")).to_path_buf(),
            headers,
            reader,
            newlines,
        })
    }

    /// Resolves relative paths against the table folder's absolute path (for tables whose paths
    /// outlive the current folder, such as a cohort run's records).
    pub fn absolute_paths(mut self) -> Table {
        self.base = std::path::absolute(&self.base).unwrap_or(self.base);
        self
    }

    /// The table's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What the table is, as errors name it.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// The header cells, trimmed.
    pub fn headers(&self) -> Vec<String> {
        self.headers.iter().map(|h| h.trim().to_string()).collect()
    }

    /// The index of column `name` (header cells are trimmed), if present.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.headers.iter().position(|h| h.trim() == name)
    }

    /// The index of column `name`, which the table must have; `hint` says what it holds.
    pub fn require(&self, name: &str, hint: Option<&'static str>) -> Result<usize, TableError> {
        self.column(name).ok_or_else(|| TableError::MissingColumn {
            path: self.path.clone(),
            column: name.to_string(),
            hint,
            columns: self.headers.iter().collect::<Vec<_>>().join(", "),
        })
    }

    /// The next row that is not blank, or `None` at the end.
    pub fn next_row(&mut self) -> Option<Result<Row<'_>, TableError>> {
        loop {
            let mut rec = csv::StringRecord::new();
            match self.reader.read_record(&mut rec) {
                Ok(false) => return None,
                Ok(true) if rec.iter().all(|f| f.trim().is_empty()) => continue,
                Ok(true) => {
                    let line = self
                        .newlines
                        .line_at(rec.position().map_or(0, |p| p.byte()));
                    return Some(Ok(Row {
                        table: self,
                        rec,
                        line,
                    }));
                }
                Err(error) => {
                    let line = error
                        .position()
                        .map_or(0, |p| self.newlines.line_at(p.byte()));
                    return Some(Err(TableError::Line {
                        path: self.path.clone(),
                        line,
                        error,
                    }));
                }
            }
        }
    }

    /// Calls `f` on every row that is not blank, collecting what it returns; the table must
    /// have at least one row.
    pub fn map_rows<T, E: From<TableError>>(
        mut self,
        mut f: impl FnMut(&Row<'_>) -> Result<Option<T>, E>,
    ) -> Result<Vec<T>, E> {
        let mut out = Vec::new();
        let mut any = false;
        while let Some(row) = self.next_row() {
            let row = row?;
            any = true;
            out.extend(f(&row)?);
        }
        if !any {
            return Err(TableError::NoRows { path: self.path }.into());
        }
        Ok(out)
    }
}

/// One row of a [`Table`].
#[derive(Debug)]
pub struct Row<'t> {
    table: &'t Table,
    rec: csv::StringRecord,
    line: u64,
}

impl Row<'_> {
    /// Every cell of the row as written (not trimmed).
    pub fn cells(&self) -> impl Iterator<Item = &str> {
        self.rec.iter()
    }

    /// The row's line in the file (the header is line 1).
    pub fn line(&self) -> u64 {
        self.line
    }

    /// The trimmed cell of column `c`; empty when the column or the cell is missing.
    pub fn get(&self, c: Option<usize>) -> &str {
        c.and_then(|c| self.rec.get(c)).map_or("", str::trim)
    }

    fn name(&self, c: Option<usize>) -> String {
        c.and_then(|c| self.table.headers.get(c))
            .map_or(String::new(), |h| h.trim().to_string())
    }

    /// The cell of column `c`, which must not be empty.
    pub fn required(&self, c: usize) -> Result<&str, TableError> {
        match self.get(Some(c)) {
            "" => Err(TableError::Empty {
                path: self.table.path.clone(),
                line: self.line,
                column: self.name(Some(c)),
            }),
            s => Ok(s),
        }
    }

    /// A positive finite number, or `None` for an empty (or missing) cell.
    pub fn positive(&self, c: Option<usize>) -> Result<Option<f64>, TableError> {
        match self.get(c) {
            "" => Ok(None),
            s => match s.parse::<f64>() {
                Ok(v) if v.is_finite() && v > 0.0 => Ok(Some(v)),
                _ => Err(TableError::NotPositive {
                    path: self.table.path.clone(),
                    line: self.line,
                    column: self.name(c),
                    value: s.to_string(),
                }),
            },
        }
    }

    /// A pixel size in µm (above 0, at most [`crate::units::MAX_MPP`]), or `None` for an empty
    /// (or missing) cell.
    pub fn pixel_size(&self, c: Option<usize>) -> Result<Option<f64>, TableError> {
        match self.positive(c)? {
            Some(v) if v > crate::units::MAX_MPP => Err(TableError::NotANumber {
                path: self.table.path.clone(),
                line: self.line,
                column: self.name(c),
                value: self.get(c).to_string(),
                expected: "a pixel size in µm per pixel, at most 1000",
            }),
            v => Ok(v),
        }
    }

    /// A whole number ≥ 1, or `None` for an empty (or missing) cell.
    pub fn positive_whole(&self, c: Option<usize>) -> Result<Option<u64>, TableError> {
        match self.get(c) {
            "" => Ok(None),
            s => match s.parse::<u64>() {
                Ok(v) if v > 0 => Ok(Some(v)),
                _ => Err(TableError::NotANumber {
                    path: self.table.path.clone(),
                    line: self.line,
                    column: self.name(c),
                    value: s.to_string(),
                    expected: "a whole number ≥ 1",
                }),
            },
        }
    }

    /// A value of type `T` parsed from the cell of column `c`; `expected` says what it must be.
    pub fn parse<T: FromStr>(&self, c: usize, expected: &'static str) -> Result<T, TableError> {
        let s = self.get(Some(c));
        s.parse().map_err(|_| TableError::NotANumber {
            path: self.table.path.clone(),
            line: self.line,
            column: self.name(Some(c)),
            value: s.to_string(),
            expected,
        })
    }

    /// The cell as a path, relative ones taken from the table's folder; `None` when empty.
    pub fn path(&self, c: Option<usize>) -> Option<PathBuf> {
        Some(self.get(c))
            .filter(|s| !s.is_empty())
            .map(|s| self.table.resolve(s))
    }
}

impl Table {
    /// `s` as a path, relative ones taken from the table's folder.
    pub fn resolve(&self, s: &str) -> PathBuf {
        let p = PathBuf::from(s);
        if p.is_absolute() {
            p
        } else {
            self.base.join(p)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &[u8]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        std::fs::write(&p, text).unwrap();
        (dir, p)
    }

    #[test]
    fn bom_crlf_blank_and_short_rows() {
        let (dir, p) = table(
            b"\xef\xbb\xbfslide , mpp\r\na.svs,0.25\r\n\r\n , \r\nsub/b.svs\r\n\r\n\r\nc.svs\r\n",
        );
        let t = Table::open(&p, "test table").unwrap();
        let (cs, cm) = (t.require("slide", None).unwrap(), t.column("mpp"));
        let rows = t
            .map_rows(|r| {
                Ok::<_, TableError>(Some((
                    r.line(),
                    r.path(Some(cs)).unwrap(),
                    r.pixel_size(cm)?,
                )))
            })
            .unwrap();
        assert_eq!(
            rows,
            vec![
                (2, dir.path().join("a.svs"), Some(0.25)),
                (5, dir.path().join("sub/b.svs"), None),
                (8, dir.path().join("c.svs"), None)
            ]
        );
    }

    #[test]
    fn lines_are_counted_alike_with_lf_and_crlf() {
        for end in ["\n", "\r\n"] {
            let text = ["slide", "a", "", "", "b", "\"c", "c\"", "", "d"].join(end) + end;
            let (_d, p) = table(text.as_bytes());
            let t = Table::open(&p, "test table").unwrap();
            let c = t.column("slide");
            let rows = t
                .map_rows(|r| Ok::<_, TableError>(Some((r.line(), r.get(c).replace('\r', "")))))
                .unwrap();
            let want: Vec<(u64, String)> = [(2, "a"), (5, "b"), (6, "c\nc"), (9, "d")]
                .iter()
                .map(|&(l, s)| (l, s.to_string()))
                .collect();
            assert_eq!(rows, want, "{end:?}");
        }
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let (_d, p) = table(b"slide,mpp,level\na,-1,2\n\"b,0.5,x\n");
        let t = Table::open(&p, "test table").unwrap();
        let e = t.require("truth", Some("the annotations")).unwrap_err();
        assert!(matches!(&e, TableError::MissingColumn { column, .. } if column == "truth"));
        assert!(e
            .to_string()
            .ends_with("no column 'truth' (the annotations); columns: slide, mpp, level"));
        let mut t = Table::open(&p, "test table").unwrap();
        let row = t.next_row().unwrap().unwrap();
        let e = row.positive(Some(1)).unwrap_err();
        assert!(
            matches!(&e, TableError::NotPositive { line: 2, column, value, .. } if column == "mpp" && value == "-1"),
            "{e:?}"
        );
        assert_eq!(row.parse::<u32>(2, "a whole number").unwrap(), 2);
        drop(row);
        // an unterminated quote runs to the end of the file: still a row, one field
        let row = t.next_row().unwrap().unwrap();
        assert!(matches!(
            row.required(1),
            Err(TableError::Empty { line: 3, .. })
        ));
        let (_d, p) = table(b"slide\n\n");
        let e = Table::open(&p, "test table")
            .unwrap()
            .map_rows(|_| Ok::<Option<()>, TableError>(None))
            .unwrap_err();
        assert!(matches!(e, TableError::NoRows { .. }));
    }
}

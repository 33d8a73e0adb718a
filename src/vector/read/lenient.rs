//! JSON as QuPath ≤ 0.4 wrote it, made strict on the fly.

use std::io::Read;

/// A reader that passes JSON through, replacing bare `NaN`, `Infinity` and `-Infinity` tokens
/// outside strings with `null` (QuPath ≤ 0.4 wrote them) and dropping a leading byte-order
/// mark; tokens split across reads are handled.
pub(super) struct Lenient<R> {
    inner: R,
    /// The longest string passed ([`crate::limits::Limit::JsonString`]).
    max_string: u64,
    filter: Filter,
    pos: usize,
    done: bool,
}

/// The rewriting state of [`Lenient`]: what it has produced and where it is in the JSON.
#[derive(Default)]
struct Filter {
    out: Vec<u8>,
    /// Bytes that may be the start of a token.
    partial: Vec<u8>,
    in_str: bool,
    esc: bool,
    /// Bytes of a leading byte-order mark matched so far (3: past the start).
    bom: usize,
    /// Bytes of the string being read (the one last read, outside strings), as written.
    str_len: u64,
    /// Bytes of the longest string ended so far.
    longest: u64,
}

const TOKENS: [&[u8]; 3] = [b"NaN", b"Infinity", b"-Infinity"];
const BOM: [u8; 3] = [0xef, 0xbb, 0xbf];

impl Filter {
    fn push(&mut self, c: u8) {
        if !self.partial.is_empty() {
            self.partial.push(c);
            if TOKENS.contains(&self.partial.as_slice()) {
                self.out.extend_from_slice(b"null");
                self.partial.clear();
                return;
            }
            if TOKENS.iter().any(|t| t.starts_with(&self.partial)) {
                return;
            }
            // not a token: pass the bytes on, the last one afresh
            self.partial.pop();
            self.out.append(&mut self.partial);
        }
        if self.in_str {
            if self.esc {
                self.esc = false;
            } else if c == b'\\' {
                self.esc = true;
            } else if c == b'"' {
                self.in_str = false;
                self.longest = self.longest.max(self.str_len);
            }
            self.str_len += u64::from(self.in_str);
            self.out.push(c);
        } else if c == b'"' {
            self.in_str = true;
            self.str_len = 0;
            self.out.push(c);
        } else if matches!(c, b'N' | b'I' | b'-') {
            self.partial.push(c);
        } else {
            self.out.push(c);
        }
    }

    /// Rewrites `data` onto `out`.
    fn feed(&mut self, data: &[u8]) {
        let n = data.len();
        let mut i = 0;
        while i < n {
            let c = data[i];
            // a leading byte-order mark, possibly split across reads, is dropped
            if self.bom < 3 {
                i += 1;
                if c == BOM[self.bom] {
                    self.bom += 1;
                    continue;
                }
                for &b in &BOM[..self.bom] {
                    self.push(b);
                }
                self.bom = 3;
                self.push(c);
                continue;
            }
            if self.partial.is_empty() && !self.esc {
                // copy the plain stretch up to the next byte that matters, in one go
                let in_str = self.in_str;
                let special = |b: &u8| {
                    if in_str {
                        matches!(b, b'"' | b'\\')
                    } else {
                        matches!(b, b'"' | b'N' | b'I' | b'-')
                    }
                };
                let j = data[i..].iter().position(special).map_or(n, |k| i + k);
                self.out.extend_from_slice(&data[i..j]);
                if in_str {
                    self.str_len += (j - i) as u64;
                }
                i = j;
                if i == n {
                    break;
                }
            }
            self.push(data[i]);
            i += 1;
        }
    }
}

impl<R: std::io::BufRead> Lenient<R> {
    /// Passes `inner` on, failing (with a [`crate::limits::LimitError`] in the io error) on a
    /// string of more than `max_string` bytes.
    pub(super) fn new(inner: R, max_string: u64) -> Self {
        Lenient {
            inner,
            max_string,
            filter: Filter {
                out: Vec::with_capacity(1 << 16),
                ..Filter::default()
            },
            pos: 0,
            done: false,
        }
    }

    /// Refills the output from the inner reader, rewriting its buffer in place; false at the end.
    fn refill(&mut self) -> std::io::Result<bool> {
        let f = &mut self.filter;
        f.out.clear();
        self.pos = 0;
        while f.out.is_empty() && !self.done {
            let buf = self.inner.fill_buf()?;
            if buf.is_empty() {
                self.done = true;
                f.out.append(&mut f.partial);
                break;
            }
            let n = buf.len();
            f.feed(buf);
            self.inner.consume(n);
            if f.longest.max(f.str_len) > self.max_string {
                return Err(std::io::Error::other(crate::limits::LimitError::Exceeded {
                    limit: crate::limits::Limit::JsonString,
                    what: "a JSON string".into(),
                    value: None,
                    max: self.max_string,
                }));
            }
        }
        Ok(!f.out.is_empty())
    }
}

impl<R: std::io::BufRead> Read for Lenient<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.filter.out.len() && !self.refill()? {
            return Ok(0);
        }
        let out = &self.filter.out;
        let n = buf.len().min(out.len() - self.pos);
        buf[..n].copy_from_slice(&out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lenient(s: &str) -> String {
        let mut out = String::new();
        // tiny reads, so tokens straddle buffer ends
        let r = std::io::BufReader::with_capacity(2, s.as_bytes());
        Lenient::new(r, u64::MAX).read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn a_string_over_the_limit_is_refused_and_one_at_it_passes() {
        let text = format!("[\"{}\", \"{}\"]", "a".repeat(10), "b\\\"".repeat(3));
        for max in [10, 11] {
            let r = std::io::BufReader::with_capacity(3, text.as_bytes());
            let mut out = String::new();
            Lenient::new(r, max).read_to_string(&mut out).unwrap();
            assert_eq!(out, text);
        }
        // caught inside the string, and after it when it ends within one read
        for cap in [3, 1000] {
            let r = std::io::BufReader::with_capacity(cap, text.as_bytes());
            let e = Lenient::new(r, 9)
                .read_to_string(&mut String::new())
                .unwrap_err();
            assert!(matches!(
                crate::limits::from_io(&e),
                Some(crate::limits::LimitError::Exceeded { max: 9, .. })
            ));
        }
    }

    #[test]
    fn bare_nan_and_infinity_become_null_outside_strings() {
        // non-ASCII text outside strings must not split a character (regression: it panicked)
        assert_eq!(lenient("µ NaN"), "µ null");
        assert_eq!(
            lenient(r#"{"a": NaN, "b": "NaN", "c": -Infinity}"#),
            r#"{"a": null, "b": "NaN", "c": null}"#
        );
        assert_eq!(
            lenient("\u{feff}[-1, -Infinity, \"a\\\"NaN\", NaN]"),
            "[-1, null, \"a\\\"NaN\", null]"
        );
        assert_eq!(lenient("[N"), "[N", "an unfinished token is passed on");
    }
}

//! Pieces of the self-contained HTML evaluation report: escaping, quantiles and box plots drawn
//! as inline SVG (no scripts, no external resources).

/// Escapes text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// The `p`-quantile (0–1) of sorted values, interpolated linearly (NumPy's default).
pub fn quantile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * p.clamp(0.0, 1.0);
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// A box plot of each group's values on a 0–1 axis: box from the first to the third quartile,
/// median line, whiskers to the furthest values within 1.5 IQR, points beyond them drawn.
pub fn boxplot_svg(title: &str, groups: &[(String, Vec<f64>)]) -> String {
    let (w, h, left, top, bottom) = (
        120.0 * groups.len().max(1) as f64 + 60.0,
        260.0,
        50.0,
        30.0,
        40.0,
    );
    let plot_h = h - top - bottom;
    let y = |v: f64| top + (1.0 - v.clamp(0.0, 1.0)) * plot_h;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"boxplot\" width=\"{w}\" height=\"{h}\" \
         role=\"img\" aria-label=\"{}\"><title>{}</title>\
         <text x=\"{left}\" y=\"16\" font-size=\"13\" font-weight=\"bold\">{}</text>",
        esc(title),
        esc(title),
        esc(title)
    );
    for t in 0..=5 {
        let v = t as f64 / 5.0;
        s += &format!(
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{y0:.1}\" y2=\"{y0:.1}\" stroke=\"#ddd\"/>\
             <text x=\"{}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\">{v:.1}</text>",
            w - 10.0,
            left - 6.0,
            y(v) + 4.0,
            y0 = y(v)
        );
    }
    for (i, (name, vals)) in groups.iter().enumerate() {
        let cx = left + 60.0 + 120.0 * i as f64;
        s += &format!(
            "<text x=\"{cx}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\">{} (n={})</text>",
            h - 12.0,
            esc(name),
            vals.len()
        );
        let mut v: Vec<f64> = vals.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            continue;
        }
        v.sort_by(|a, b| a.total_cmp(b));
        let (q1, med, q3) = (quantile(&v, 0.25), quantile(&v, 0.5), quantile(&v, 0.75));
        let iqr = q3 - q1;
        let lo = v
            .iter()
            .copied()
            .find(|&x| x >= q1 - 1.5 * iqr)
            .unwrap_or(q1);
        let hi = v
            .iter()
            .rev()
            .copied()
            .find(|&x| x <= q3 + 1.5 * iqr)
            .unwrap_or(q3);
        s += &format!(
            "<g class=\"box\" data-group=\"{}\" data-median=\"{med}\">\
             <line x1=\"{cx}\" x2=\"{cx}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#333\"/>\
             <rect x=\"{}\" y=\"{:.1}\" width=\"60\" height=\"{:.1}\" fill=\"#9ecae1\" stroke=\"#333\"/>\
             <line x1=\"{}\" x2=\"{}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#08306b\" stroke-width=\"2\"/>",
            esc(name),
            y(hi),
            y(lo),
            cx - 30.0,
            y(q3),
            (y(q1) - y(q3)).max(1.0),
            cx - 30.0,
            cx + 30.0,
            y(med),
            y(med)
        );
        for &x in v.iter().filter(|&&x| x < lo || x > hi) {
            s += &format!(
                "<circle cx=\"{cx}\" cy=\"{:.1}\" r=\"3\" fill=\"none\" stroke=\"#c00\"/>",
                y(x)
            );
        }
        s += "</g>";
    }
    s + "</svg>"
}

/// Standard base64 (RFC 4648, with padding).
pub fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut o = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= c.len() {
                o.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                o.push('=');
            }
        }
    }
    o
}

/// An RGB picture as PNG bytes.
pub fn png_bytes(w: u32, h: u32, rgb: &[u8]) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut wr = enc.write_header()?;
        wr.write_image_data(rgb)?;
        wr.finish()?;
    }
    Ok(out)
}

/// The boundary of the set cells of a `w × h` grid as an SVG path (unit cells; the edges
/// between a set cell and an unset one or the border).
pub fn outline_path(cells: &[bool], w: usize, h: usize) -> String {
    let at = |x: isize, y: isize| {
        x >= 0
            && y >= 0
            && (x as usize) < w
            && (y as usize) < h
            && cells[y as usize * w + x as usize]
    };
    let mut d = String::new();
    for y in 0..h as isize {
        for x in 0..w as isize {
            if !at(x, y) {
                continue;
            }
            if !at(x, y - 1) {
                d += &format!("M{x} {y}h1");
            }
            if !at(x, y + 1) {
                d += &format!("M{x} {}h1", y + 1);
            }
            if !at(x - 1, y) {
                d += &format!("M{x} {y}v1");
            }
            if !at(x + 1, y) {
                d += &format!("M{} {y}v1", x + 1);
            }
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_and_outlines() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        // a 2 × 1 block has 6 unit edges on its boundary and none inside
        let d = outline_path(&[true, true, false], 3, 1);
        assert_eq!(d.matches('h').count() + d.matches('v').count(), 6);
        assert!(!d.contains("M1 0v1"));
    }

    #[test]
    fn quantiles_match_numpy_linear() {
        let v = [0.1, 0.4, 0.5, 0.9];
        // numpy.quantile([0.1, 0.4, 0.5, 0.9], [0.25, 0.5, 0.75]) = 0.325, 0.45, 0.6
        assert!((quantile(&v, 0.25) - 0.325).abs() < 1e-15);
        assert!((quantile(&v, 0.5) - 0.45).abs() < 1e-15);
        assert!((quantile(&v, 0.75) - 0.6).abs() < 1e-15);
        assert_eq!(quantile(&[0.7], 0.3), 0.7);
    }

    #[test]
    fn box_plots_escape_names_and_mark_outliers() {
        let g = vec![
            ("a<b".to_string(), vec![0.9, 0.91, 0.92, 0.93, 0.1]),
            ("c".to_string(), vec![]),
        ];
        let svg = boxplot_svg("Dice & co", &g);
        assert!(svg.contains("a&lt;b (n=5)") && svg.contains("Dice &amp; co"));
        assert_eq!(svg.matches("<circle").count(), 1, "0.1 is an outlier");
        assert_eq!(
            svg.matches("class=\"box\"").count(),
            1,
            "no box for an empty group"
        );
    }
}

//! The studentized range distribution: the range of `k` independent standard normal values
//! divided by an independent estimate of their standard deviation on `df` degrees of freedom.
//!
//! P(Q ≤ q) = ∫₀^∞ f(s) · W(q·s) ds, where f is the density of √(χ²_df / df) and
//! W(w) = k ∫ φ(z) [Φ(z) − Φ(z − w)]^(k−1) dz is the distribution of the range of k standard
//! normals. The inner integral uses a fixed composite Gauss–Legendre rule (nodes from Newton's
//! method on the Legendre polynomial), the outer one the same rule adaptively, to about 1e-13; for df ≥ 100 000 the outer
//! integral is dropped (s = 1), as SciPy does. The quantile is found by root finding on the CDF.

use std::sync::OnceLock;

/// Gauss–Legendre nodes and weights on [−1, 1] (n = 20), computed once.
fn gauss() -> &'static [(f64, f64)] {
    static NODES: OnceLock<Vec<(f64, f64)>> = OnceLock::new();
    NODES.get_or_init(|| {
        let n = 20usize;
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            // Chebyshev-like first guess, then Newton on P_n
            let mut x = (std::f64::consts::PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
            let mut dp = 0.0;
            for _ in 0..100 {
                let (mut p0, mut p1) = (1.0, x);
                for j in 2..=n {
                    let p2 = ((2 * j - 1) as f64 * x * p1 - (j - 1) as f64 * p0) / j as f64;
                    p0 = p1;
                    p1 = p2;
                }
                dp = n as f64 * (x * p1 - p0) / (x * x - 1.0);
                let dx = p1 / dp;
                x -= dx;
                if dx.abs() < 1e-16 {
                    break;
                }
            }
            out.push((x, 2.0 / ((1.0 - x * x) * dp * dp)));
        }
        out
    })
}

fn gl(f: &mut impl FnMut(f64) -> f64, a: f64, b: f64) -> f64 {
    let (c, h) = (0.5 * (a + b), 0.5 * (b - a));
    h * gauss().iter().map(|&(x, w)| w * f(c + h * x)).sum::<f64>()
}

/// ∫ₐᵇ f, bisecting until the whole and its two halves agree within the share of `tol`
/// (absolute) that their width is of the whole range, or within rounding of the value itself.
fn integrate(f: &mut impl FnMut(f64) -> f64, a: f64, b: f64, tol: f64) -> f64 {
    fn rec(
        f: &mut impl FnMut(f64) -> f64,
        a: f64,
        b: f64,
        whole: f64,
        tol: f64,
        depth: u32,
    ) -> f64 {
        let m = 0.5 * (a + b);
        let (l, r) = (gl(f, a, m), gl(f, m, b));
        let diff = (l + r - whole).abs();
        if depth >= 30 || diff <= tol || diff <= 4.0 * f64::EPSILON * (l + r).abs() {
            return l + r;
        }
        rec(f, a, m, l, 0.5 * tol, depth + 1) + rec(f, m, b, r, 0.5 * tol, depth + 1)
    }
    let whole = gl(f, a, b);
    rec(f, a, b, whole, tol, 0)
}

/// The standard normal CDF.
fn phi_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// Φ(z) − Φ(z − w) for w ≥ 0, without cancellation in either tail.
fn band(z: f64, w: f64) -> f64 {
    if z > 0.0 {
        // upper tail: Φc(z − w) − Φc(z)
        phi_cdf(w - z) - phi_cdf(-z)
    } else {
        phi_cdf(z) - phi_cdf(z - w)
    }
}

/// The CDF of the range of `k` standard normal values, W(w).
fn range_cdf(w: f64, k: f64) -> f64 {
    if w <= 0.0 {
        return 0.0;
    }
    let c = k / (2.0 * std::f64::consts::PI).sqrt();
    let mut f = |z: f64| {
        let b = band(z, w);
        if b <= 0.0 {
            0.0
        } else {
            c * (-0.5 * z * z + (k - 1.0) * b.ln()).exp()
        }
    };
    // φ(z) < 1e-17 beyond |z| = 8.7, and the bracket is at most 1. A fixed composite rule
    // (64 panels of 20 points, far finer than the integrand's features), so that W is a smooth
    // function of w for the outer integral, which an adaptive inner rule would make jitter
    const PANELS: usize = 64;
    let h = 17.4 / PANELS as f64;
    (0..PANELS)
        .map(|i| gl(&mut f, -8.7 + i as f64 * h, -8.7 + (i + 1) as f64 * h))
        .sum::<f64>()
        .clamp(0.0, 1.0)
}

/// ln of the density of s = √(χ²_df / df) at s.
fn ln_scaled_chi(s: f64, df: f64) -> f64 {
    let half = 0.5 * df;
    half * df.ln() - libm::lgamma(half) - (half - 1.0) * std::f64::consts::LN_2
        + (df - 1.0) * s.ln()
        - half * s * s
}

/// P(Q ≤ q) for the studentized range of `k` means on `df` degrees of freedom.
pub fn cdf(q: f64, k: f64, df: f64) -> f64 {
    if q.is_nan() || k.is_nan() || df.is_nan() || k < 2.0 || df <= 0.0 {
        return f64::NAN;
    }
    if q <= 0.0 {
        return 0.0;
    }
    if q.is_infinite() {
        return 1.0;
    }
    if df >= 100_000.0 {
        return range_cdf(q, k);
    }
    // the density of s is negligible (< e^-50 of its peak) outside [lo, hi]
    let mode = if df > 1.0 {
        ((df - 1.0) / df).sqrt()
    } else {
        0.0
    };
    let peak = ln_scaled_chi(mode.max(1e-300), df);
    let step = 0.25 / df.sqrt();
    let mut hi = mode.max(step);
    while ln_scaled_chi(hi, df) > peak - 50.0 {
        hi += step.max(0.05);
    }
    let mut lo = mode;
    while lo > 0.0 && ln_scaled_chi(lo, df) > peak - 50.0 {
        lo = (lo - step).max(0.0);
    }
    let mut f = |s: f64| {
        if s <= 0.0 {
            return 0.0;
        }
        ln_scaled_chi(s, df).exp() * range_cdf(q * s, k)
    };
    // split at the mode so each piece is smooth and one-humped
    let mid = mode.clamp(lo, hi);
    let v = integrate(&mut f, lo, mid, 1e-13) + integrate(&mut f, mid, hi, 1e-13);
    v.clamp(0.0, 1.0)
}

/// P(Q > q) = 1 − P(Q ≤ q) (as SciPy computes it).
pub fn sf(q: f64, k: f64, df: f64) -> f64 {
    1.0 - cdf(q, k, df)
}

/// The q with P(Q ≤ q) = p (to about 1e-13), by the Illinois method on the CDF.
pub fn quantile(p: f64, k: f64, df: f64) -> f64 {
    if !(0.0..1.0).contains(&p) || k < 2.0 || df <= 0.0 {
        return f64::NAN;
    }
    if p == 0.0 {
        return 0.0;
    }
    let (mut lo, mut hi) = (0.0, 1.0);
    while cdf(hi, k, df) < p {
        lo = hi;
        hi *= 2.0;
        if hi > 1e6 {
            return f64::INFINITY;
        }
    }
    // Illinois (regula falsi that halves the stale end's weight): superlinear, always bracketed
    let (mut flo, mut fhi) = (cdf(lo, k, df) - p, cdf(hi, k, df) - p);
    let mut side = 0;
    for _ in 0..200 {
        if hi - lo <= 1e-14 * hi.max(1.0) {
            break;
        }
        let mut m = (lo * fhi - hi * flo) / (fhi - flo);
        if !(m > lo && m < hi) {
            m = 0.5 * (lo + hi);
        }
        let fm = cdf(m, k, df) - p;
        if fm == 0.0 {
            return m;
        }
        if (fm < 0.0) == (flo < 0.0) {
            lo = m;
            flo = fm;
            if side == -1 {
                fhi *= 0.5;
            }
            side = -1;
        } else {
            hi = m;
            fhi = fm;
            if side == 1 {
                flo *= 0.5;
            }
            side = 1;
        }
    }
    if flo.abs() < fhi.abs() {
        lo
    } else {
        hi
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauss_legendre_is_exact_for_polynomials_up_to_degree_39() {
        let mut f = |x: f64| x.powi(38) + 3.0 * x.powi(7);
        assert!((gl(&mut f, -1.0, 1.0) - 2.0 / 39.0).abs() < 1e-15);
        let w: f64 = gauss().iter().map(|p| p.1).sum();
        assert!((w - 2.0).abs() < 1e-14);
    }

    #[test]
    fn range_of_two_normals_has_a_closed_form() {
        // the range of two standard normals is |X − Y| ~ half-normal with σ = √2
        for w in [0.1, 0.5, 1.0, 2.0, 3.7, 6.0] {
            let exact = libm::erf(w / 2.0);
            assert!((range_cdf(w, 2.0) - exact).abs() < 1e-13, "w = {w}");
        }
    }

    #[test]
    fn published_table_values() {
        // upper 5 % points of the studentized range (Harter 1960 tables, to 3 decimals)
        for (k, df, q) in [
            (2.0, 10.0, 3.151),
            (3.0, 20.0, 3.578),
            (5.0, 30.0, 4.102),
            (10.0, 60.0, 4.646),
            (4.0, 120.0, 3.685),
        ] {
            let got = quantile(0.95, k, df);
            assert!((got - q).abs() < 6e-4, "k {k} df {df}: {got} vs {q}");
            assert!((cdf(got, k, df) - 0.95).abs() < 1e-12);
        }
    }

    #[test]
    fn limits_and_bad_parameters() {
        assert_eq!(cdf(0.0, 3.0, 10.0), 0.0);
        assert_eq!(cdf(f64::INFINITY, 3.0, 10.0), 1.0);
        assert!(cdf(1.0, 1.0, 10.0).is_nan());
        assert!(cdf(1.0, 3.0, 0.0).is_nan());
        assert!(sf(40.0, 3.0, 50.0) < 1e-12);
        // monotone in q
        let mut last = 0.0;
        for i in 1..60 {
            let c = cdf(i as f64 * 0.1, 4.0, 7.0);
            assert!(c >= last);
            last = c;
        }
    }
}

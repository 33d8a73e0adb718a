//! The `h2g` Python package's extension module (`h2g._h2g`): thin wrappers over the h2g
//! library. Every call releases the GIL while Rust works, library errors become
//! `h2g.H2gError` (with the command line's message), and a Rust panic becomes a Python
//! exception (PyO3's `PanicException`), never a dead interpreter.

use pyo3::prelude::*;

mod cluster;
mod eval;
mod patches;
mod sampler;
mod slide;
mod vector;

pyo3::create_exception!(
    _h2g,
    H2gError,
    pyo3::exceptions::PyException,
    "An error of the h2g library: bad input, an unreadable file, a limit exceeded. The message \
     names the value and the fix, as the h2g command line does."
);

/// A library error's message and the messages of its causes.
pub(crate) fn message(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let m = s.to_string();
        if !msg.contains(&m) {
            msg.push_str(": ");
            msg.push_str(&m);
        }
        source = s.source();
    }
    msg
}

/// A library error as a Python exception: its message and the messages of its causes.
pub(crate) fn err(e: impl std::error::Error) -> PyErr {
    H2gError::new_err(message(&e))
}

/// Sets `d[name]` to a numpy array of `values`.
pub(crate) fn column<T: numpy::Element>(
    d: &Bound<'_, pyo3::types::PyDict>,
    name: &str,
    values: impl IntoIterator<Item = T>,
) -> PyResult<()> {
    use numpy::IntoPyArray;
    d.set_item(
        name,
        values.into_iter().collect::<Vec<T>>().into_pyarray(d.py()),
    )
}

/// A value as a Python object through JSON (the library's reports are `serde::Serialize`).
pub(crate) fn to_py<'py>(
    py: Python<'py>,
    v: &impl serde::Serialize,
) -> PyResult<Bound<'py, PyAny>> {
    let text = serde_json::to_string(v)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
    py.import("json")?.call_method1("loads", (text,))
}

/// Panics with `message` (for the test that a Rust panic reaches Python as an exception).
#[pyfunction]
#[pyo3(name = "_panic")]
fn panic_for_tests(message: &str) {
    panic!("{message}");
}

#[pymodule]
fn _h2g(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("H2gError", m.py().get_type::<H2gError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("ORT_VERSION", h2g::infer::ORT_VERSION)?;
    m.add_class::<slide::Slide>()?;
    m.add_function(wrap_pyfunction!(patches::patches, m)?)?;
    m.add_function(wrap_pyfunction!(vector::vectorize, m)?)?;
    m.add_function(wrap_pyfunction!(vector::rasterize, m)?)?;
    m.add_function(wrap_pyfunction!(eval::evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(eval::tukey, m)?)?;
    m.add_class::<sampler::Sampler>()?;
    m.add_class::<sampler::EpochIter>()?;
    m.add_function(wrap_pyfunction!(sampler::augment, m)?)?;
    m.add_function(wrap_pyfunction!(panic_for_tests, m)?)?;
    m.add_class::<cluster::FeatureModel>()?;
    m.add_function(wrap_pyfunction!(cluster::fit_clusters, m)?)?;
    m.add_function(wrap_pyfunction!(cluster::assign_clusters, m)?)?;
    m.add_function(wrap_pyfunction!(cluster::cluster_fit_py, m)?)?;
    m.add_function(wrap_pyfunction!(cluster::cluster_assign_py, m)?)?;
    Ok(())
}

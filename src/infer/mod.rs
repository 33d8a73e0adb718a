//! Running ONNX models with ONNX Runtime, loaded at run time from a shared library.
//!
//! The library is never downloaded by the build: `scripts/setup.sh` puts ONNX Runtime 1.31.1
//! (from the PyPI wheel) into `.deps/onnxruntime/lib/`, and [`load_runtime`] finds it there, or
//! where `--ort-lib`, `H2G_ORT_LIB` or `ORT_DYLIB_PATH` say. A missing library is a clear error
//! with the fix, never a panic.

pub mod design;
pub mod fetch;
pub mod heatmap;
pub mod heatmap_run;
pub mod manifest;
pub mod models_text;
mod onnx;
pub mod outputs;
pub mod preannotate;
pub mod refine_input;
pub mod runtime;
pub mod segment;
pub mod segment_run;
pub mod tissue_model;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::session::Session;
use ort::value::{Tensor, ValueType};
use serde::Serialize;

pub use onnx::{read_header, OnnxHeader, OnnxHeaderError};
pub use runtime::{OpenModelError, Runtime};

/// The ONNX Runtime version this build pairs with (`ort` feature `api-31`).
pub const ORT_VERSION: &str = "1.31.1";

/// Errors loading the runtime or running a model.
#[derive(Debug, thiserror::Error)]
pub enum InferError {
    /// No ONNX Runtime library where we looked.
    #[error(
        "ONNX Runtime {ORT_VERSION} was not found (looked in: {}). Run scripts/setup.sh, or point \
         --ort-lib / H2G_ORT_LIB at libonnxruntime.so.{ORT_VERSION} (it ships in the PyPI wheel \
         onnxruntime=={ORT_VERSION} as onnxruntime/capi/libonnxruntime.so.{ORT_VERSION})",
        tried.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    RuntimeMissing { tried: Vec<PathBuf> },
    /// The library exists but could not be loaded (wrong version, wrong architecture).
    #[error("cannot load ONNX Runtime from {}: {detail} (this build needs version {ORT_VERSION})", path.display())]
    RuntimeLoad { path: PathBuf, detail: String },
    /// CUDA was asked for and is not available.
    #[error(
        "--device cuda: the CUDA execution provider is not available ({detail}); the ONNX Runtime \
         from the onnxruntime wheel is CPU-only (use onnxruntime-gpu's library with a CUDA \
         driver), or run with --device cpu"
    )]
    CudaUnavailable { detail: String },
    /// The model file could not be opened as ONNX.
    #[error("cannot open model {}: {detail}", path.display())]
    Model { path: PathBuf, detail: String },
    /// Inference failed.
    #[error("inference with {}: {detail}", path.display())]
    Run { path: PathBuf, detail: String },
    /// The model's inputs or outputs do not fit what the caller feeds it or expects.
    #[error("model {}: {problem}", path.display())]
    Contract {
        /// The model file.
        path: PathBuf,
        /// What does not fit.
        problem: Contract,
    },
}

/// How a model does not fit the stage that runs it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Contract {
    /// A model with several outputs and no `output.tensor` in its manifest.
    #[error(
        "it has {} outputs ({}): set \"tensor\" in the manifest's \"output\" to the index or \
         name of the one to use (or pass --model-output / --refine-output)",
        outputs.len(),
        list_outputs(outputs)
    )]
    OutputChoice {
        /// The model's outputs.
        outputs: Vec<TensorInfo>,
    },
    /// An `output.tensor` the model does not have.
    #[error(
        "the manifest's output \"tensor\" {asked} is not one of its outputs ({}): set it to one \
         of these indices or names",
        list_outputs(outputs)
    )]
    NoSuchOutput {
        /// The choice.
        asked: manifest::OutputRef,
        /// The model's outputs.
        outputs: Vec<TensorInfo>,
    },
    /// The manifest's scaling cannot be used.
    #[error("{0}")]
    Scaling(manifest::ScalingError),
    /// A model without inputs.
    #[error("it has no input")]
    NoInput,
    /// A call with another number of inputs than the model takes.
    #[error("it takes {takes} input(s), {given} given")]
    InputCount {
        /// Inputs the model takes.
        takes: usize,
        /// Inputs given.
        given: usize,
    },
    /// A patch classifier with several inputs.
    #[error("a patch classifier takes one image input; this model has {0}")]
    PatchInputs(usize),
    /// An input that is not `[N, H, W, C]` or `[N, C, H, W]`.
    #[error("input shape {0:?} is not a 4-D image batch")]
    NotAnImageBatch(Vec<i64>),
    /// An input whose size disagrees with the manifest.
    #[error("input shape {shape:?} ({layout:?}) does not fit the manifest '{manifest}' ({size}×{size}×3)")]
    ManifestSize {
        /// The input's shape.
        shape: Vec<i64>,
        /// Its layout.
        layout: manifest::Layout,
        /// The manifest's name.
        manifest: String,
        /// The manifest's patch side.
        size: usize,
    },
    /// A 4-channel (or two-input) refinement run without a heatmap.
    #[error("a {0} refinement needs the heatmap: use --design h2g")]
    NeedsHeatmap(&'static str),
    /// An image-only refinement given a heatmap.
    #[error("this model takes the image alone: use --design unet-lr")]
    ImageAlone,
    /// A one-input refinement whose channels are neither 3 nor 3 + the heatmap's bands.
    #[error(
        "input with {channels} channels: expected 3 (image) or {} (image + the heatmap's {bands} \
         band(s))",
        3 + bands
    )]
    Channels {
        /// The input's channels.
        channels: i64,
        /// The heatmap's bands (1 for a binary classifier, K − 1 for a K-class one).
        bands: usize,
    },
    /// An input of a two-input refinement with neither 3 nor the heatmap's band count.
    #[error(
        "input '{input}' has {channels} channels: expected 3 (image) and {bands} (the heatmap's \
         bands)"
    )]
    InputChannels {
        /// The input's name.
        input: String,
        /// Its channels.
        channels: i64,
        /// The heatmap's bands.
        bands: usize,
    },
    /// A refinement with neither 1 nor 2 inputs.
    #[error("{0} inputs: a refinement model takes 1 or 2")]
    RefineInputs(usize),
    /// No output tensor.
    #[error("no output")]
    NoOutput,
    /// An output that is no `side × side` map with the manifest's channel (or, for a
    /// multiclass model, one channel per class).
    #[error("output shape {shape:?}: expected [1, {side}, {side}, C] or [1, C, {side}, {side}] with {channels}")]
    OutputShape {
        /// The output's shape.
        shape: Vec<usize>,
        /// The side expected.
        side: usize,
        /// The channels expected, in words ("channel 1", "C = 4, one per class").
        channels: String,
    },
}

/// "0 name [shape], 1 name [shape]".
fn list_outputs(outputs: &[TensorInfo]) -> String {
    outputs
        .iter()
        .enumerate()
        .map(|(i, t)| format!("{i} '{}' {:?}", t.name, t.shape))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The index of the output `choice` names among `outputs`: a single output needs no choice.
pub fn select_output(
    outputs: &[TensorInfo],
    choice: Option<&manifest::OutputRef>,
) -> Result<usize, Contract> {
    use manifest::OutputRef;
    match choice {
        None if outputs.len() == 1 => Ok(0),
        None if outputs.is_empty() => Err(Contract::NoOutput),
        None => Err(Contract::OutputChoice {
            outputs: outputs.to_vec(),
        }),
        Some(OutputRef::Index(i)) if *i < outputs.len() => Ok(*i),
        Some(OutputRef::Name(n)) if outputs.iter().any(|t| &t.name == n) => {
            Ok(outputs.iter().position(|t| &t.name == n).unwrap_or(0))
        }
        Some(c) => Err(Contract::NoSuchOutput {
            asked: c.clone(),
            outputs: outputs.to_vec(),
        }),
    }
}

/// The output of `model` its manifest chooses (see [`select_output`]), as a contract error.
pub fn chosen_output(model: &Model, manifest: &manifest::Manifest) -> Result<usize, InferError> {
    select_output(&model.outputs, manifest.output.tensor.as_ref()).map_err(|problem| {
        InferError::Contract {
            path: model.path().into(),
            problem,
        }
    })
}

/// The checked scaling of `manifest`, as a contract error of `model`.
pub fn input_scale(
    manifest: &manifest::Manifest,
    model: &Model,
) -> Result<manifest::InputScale, InferError> {
    manifest.input_scale().map_err(|e| InferError::Contract {
        path: model.path().into(),
        problem: Contract::Scaling(e),
    })
}

/// Why the runtime did not load (kept for every later call in the process).
#[derive(Debug, Clone)]
enum LoadFailure {
    Missing(Vec<PathBuf>),
    Load(PathBuf, String),
}

static LOADED: OnceLock<Result<(PathBuf, ort::environment::Environment), LoadFailure>> =
    OnceLock::new();

/// The places searched for the library, in order.
fn candidates(explicit: Option<&Path>) -> Vec<PathBuf> {
    let name = format!("libonnxruntime.so.{ORT_VERSION}");
    let mut c = Vec::new();
    if let Some(p) = explicit {
        c.push(p.to_path_buf());
        return c;
    }
    for var in ["H2G_ORT_LIB", "ORT_DYLIB_PATH"] {
        if let Some(v) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            c.push(PathBuf::from(v));
        }
    }
    if let Ok(exe) = std::env::current_exe() {
        // target/{release,debug}[/deps]/h2g inside the repository: the set-up's .deps/
        for up in exe.ancestors().skip(1).take(4) {
            c.push(up.join(".deps/onnxruntime/lib").join(&name));
        }
        if let Some(dir) = exe.parent() {
            c.push(dir.join(&name));
        }
    }
    c.push(PathBuf::from(".deps/onnxruntime/lib").join(&name));
    c
}

/// Loads ONNX Runtime once per process (later calls return the first result): the library's
/// path.
pub fn load_runtime(explicit: Option<&Path>) -> Result<PathBuf, InferError> {
    runtime(explicit).map(|(p, _)| p.clone())
}

fn runtime(
    explicit: Option<&Path>,
) -> Result<&'static (PathBuf, ort::environment::Environment), InferError> {
    let r = LOADED.get_or_init(|| {
        let tried = candidates(explicit);
        let Some(path) = tried.iter().find(|p| p.is_file()).cloned() else {
            return Err(LoadFailure::Missing(tried));
        };
        let env = ort::init_from(&path)
            .map_err(|e| e.to_string())
            .and_then(|b| b.with_name("h2g").build().map_err(|e| e.to_string()));
        match env {
            Ok(env) => Ok((path, env)),
            Err(e) => Err(LoadFailure::Load(path, e)),
        }
    });
    match r {
        Ok(loaded) => Ok(loaded),
        Err(LoadFailure::Missing(tried)) => Err(InferError::RuntimeMissing {
            tried: tried.clone(),
        }),
        Err(LoadFailure::Load(path, detail)) => Err(InferError::RuntimeLoad {
            path: path.clone(),
            detail: detail.clone(),
        }),
    }
}

/// Where inference runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Device {
    /// The CPU execution provider.
    #[default]
    Cpu,
    /// NVIDIA CUDA; an error when the library or the machine lacks it (never a silent fallback).
    Cuda,
}

/// One input or output of a model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TensorInfo {
    /// Its name in the graph.
    pub name: String,
    /// Element type (e.g. "f32").
    pub element: String,
    /// Shape; -1 for a dynamic dimension.
    pub shape: Vec<i64>,
}

fn infos(outlets: &[ort::value::Outlet]) -> Vec<TensorInfo> {
    outlets
        .iter()
        .map(|o| match o.dtype() {
            ValueType::Tensor { ty, shape, .. } => TensorInfo {
                name: o.name().to_string(),
                element: format!("{ty}"),
                shape: shape.to_vec(),
            },
            other => TensorInfo {
                name: o.name().to_string(),
                element: format!("{other}"),
                shape: Vec::new(),
            },
        })
        .collect()
}

/// A loaded model, ready to run.
pub struct Model {
    path: PathBuf,
    session: Session,
    /// Its inputs.
    pub inputs: Vec<TensorInfo>,
    /// Its outputs.
    pub outputs: Vec<TensorInfo>,
    /// The execution provider it runs on.
    pub device: Device,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("path", &self.path)
            .field("inputs", &self.inputs)
            .field("outputs", &self.outputs)
            .field("device", &self.device)
            .finish()
    }
}

impl Model {
    /// Opens `path` with `threads` intra-op threads (0: ONNX Runtime's default) on `device`.
    pub fn open(path: &Path, threads: usize, device: Device) -> Result<Model, InferError> {
        Model::open_with(path, threads, device, true)
    }

    /// [`Model::open`] choosing whether ONNX Runtime's idle threads spin (`spin = false` frees
    /// the cores for work running beside inference, such as reading the next patches; set
    /// `H2G_ORT_SPINNING=1` or `0` to override).
    pub fn open_with(
        path: &Path,
        threads: usize,
        device: Device,
        spin: bool,
    ) -> Result<Model, InferError> {
        let spin = match std::env::var("H2G_ORT_SPINNING").as_deref() {
            Ok("1") => true,
            Ok("0") => false,
            _ => spin,
        };
        let (_, env) = runtime(None)?;
        let bad = |e: &dyn std::fmt::Display| InferError::Model {
            path: path.into(),
            detail: e.to_string(),
        };
        if !path.is_file() {
            return Err(bad(&"no such file"));
        }
        crate::guard::register_input(path);
        let mut b = Session::builder(env).map_err(|e| bad(&e))?;
        if threads > 0 {
            b = b.with_intra_threads(threads).map_err(|e| bad(&e))?;
        }
        b = b.with_intra_op_spinning(spin).map_err(|e| bad(&e))?;
        if device == Device::Cuda {
            let ep = ort::ep::CUDA::default().build().error_on_failure();
            b = b
                .with_execution_providers([ep])
                .map_err(|e| InferError::CudaUnavailable {
                    detail: e.to_string(),
                })?;
        }
        let session = b.commit_from_file(path).map_err(|e| bad(&e))?;
        let inputs = infos(session.inputs());
        let outputs = infos(session.outputs());
        Ok(Model {
            path: path.into(),
            session,
            inputs,
            outputs,
            device,
        })
    }

    /// The model file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs the model on float32 inputs (one `(shape, data)` per model input, in order) and
    /// returns every output as `(shape, data)`.
    #[allow(clippy::type_complexity)]
    pub fn run(
        &mut self,
        inputs: Vec<(Vec<usize>, Vec<f32>)>,
    ) -> Result<Vec<(Vec<usize>, Vec<f32>)>, InferError> {
        let path = self.path.clone();
        let err = move |e: &dyn std::fmt::Display| InferError::Run {
            path: path.clone(),
            detail: e.to_string(),
        };
        if inputs.len() != self.inputs.len() {
            return Err(InferError::Contract {
                path: self.path.clone(),
                problem: Contract::InputCount {
                    takes: self.inputs.len(),
                    given: inputs.len(),
                },
            });
        }
        let mut values = Vec::with_capacity(inputs.len());
        for ((shape, data), info) in inputs.into_iter().zip(&self.inputs) {
            let t = Tensor::from_array((shape, data)).map_err(|e| err(&e))?;
            values.push((info.name.clone(), t));
        }
        let outs = self.session.run(values).map_err(|e| err(&e))?;
        let mut res = Vec::new();
        for (_, v) in outs.iter() {
            let (shape, data) = v.try_extract_tensor::<f32>().map_err(|e| err(&e))?;
            res.push((
                shape.iter().map(|&d| d.max(0) as usize).collect(),
                data.to_vec(),
            ));
        }
        Ok(res)
    }
}

/// What `models inspect` reports of a file.
#[derive(Debug, Clone, Serialize)]
pub struct ModelInfo {
    /// The file.
    pub path: PathBuf,
    /// From the file's header: IR version, producer, opsets.
    pub header: OnnxHeader,
    /// Inputs, as ONNX Runtime sees them.
    pub inputs: Vec<TensorInfo>,
    /// Outputs.
    pub outputs: Vec<TensorInfo>,
}

/// Opens `path` and describes it.
pub fn inspect(path: &Path) -> Result<ModelInfo, InferError> {
    let header = read_header(path).map_err(|e| InferError::Model {
        path: path.into(),
        detail: e.to_string(),
    })?;
    let m = Model::open(path, 1, Device::Cpu)?;
    Ok(ModelInfo {
        path: path.into(),
        header,
        inputs: m.inputs.clone(),
        outputs: m.outputs.clone(),
    })
}

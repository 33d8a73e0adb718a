//! How a model stage uses the machine: cores split between ONNX Runtime and the patch readers,
//! the device, the runtime library, and opening a model of a given role with them.

use std::path::PathBuf;

use super::manifest::{resolve, ContractOverrides, Manifest, Role};
use super::{load_runtime, Device, InferError, Model};

/// The machine settings of a stage that runs a model (the command line's `--threads`,
/// `--read-threads`, `--device`, `--ort-lib`).
#[derive(Debug, Clone, Default)]
pub struct Runtime {
    /// Cores to use, for ONNX Runtime and the patch readers together (0: all cores).
    pub threads: usize,
    /// Patch reader threads kept apart from inference (taken from `threads`); `Some(0)` lets
    /// readers share every core with inference; `None`: one per 8 cores from 8 cores up, else 0.
    pub read_threads: Option<usize>,
    /// Where inference runs.
    pub device: Device,
    /// The ONNX Runtime shared library (default: the set-up's, `H2G_ORT_LIB`, `ORT_DYLIB_PATH`).
    pub ort_lib: Option<PathBuf>,
    /// Changes to the manifests of the models opened (`--model-scaling`, `--refine-output`, …),
    /// applied by [`Runtime::open_model`].
    pub overrides: ContractOverrides,
}

/// Why a model could not be opened for a stage.
#[derive(Debug, thiserror::Error)]
pub enum OpenModelError {
    /// The runtime did not load, or the model file did not open.
    #[error(transparent)]
    Infer(#[from] InferError),
    /// The name is neither a built-in model nor a usable `.onnx` file (the detail says which
    /// and what to pass instead).
    #[error("{error}")]
    Resolve {
        /// The name or path given.
        name: String,
        /// Why it did not resolve, with the fix.
        error: super::manifest::ResolveError,
    },
    /// The model exists but plays another part (a refinement network given as a patch
    /// classifier, say).
    #[error("{flag} {name}: a {} model, not a {} model", words(*is), words(*wanted))]
    WrongRole {
        /// The option that named it.
        flag: String,
        /// The name or path given.
        name: String,
        /// Its manifest's role.
        is: Role,
        /// The role the stage needs.
        wanted: Role,
    },
}

/// A role as words ("patch classifier").
fn words(r: Role) -> String {
    serde_json::to_value(r)
        .ok()
        .and_then(|v| v.as_str().map(|s| s.replace('-', " ")))
        .unwrap_or_default()
}

impl Runtime {
    /// This runtime with `overrides` applied to the manifests of the models it opens.
    pub fn with_overrides(mut self, overrides: ContractOverrides) -> Runtime {
        self.overrides = overrides;
        self
    }

    /// The cores given (`threads`, else all).
    pub fn cores(&self) -> usize {
        if self.threads > 0 {
            self.threads
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }
    }

    /// Patch reader threads of their own, or `None` when readers share the cores. The default
    /// gives readers one core in 8 from 8 cores up (one in 4 when patches are read through
    /// OpenSlide, which costs several times more per patch than the direct JPEG reader).
    pub fn readers(&self, direct: bool) -> Option<usize> {
        let cores = self.cores();
        let share = if direct { 8 } else { 4 };
        let r = self
            .read_threads
            .unwrap_or(if cores >= 8 { cores / share } else { 0 });
        (r > 0 && cores > 1).then(|| r.min(cores - 1))
    }

    /// ONNX Runtime's threads: the cores less the readers' own.
    pub fn inference_threads(&self, direct: bool) -> usize {
        self.cores() - self.readers(direct).unwrap_or(0)
    }

    /// Loads ONNX Runtime (once per process): the library's path.
    pub fn load(&self) -> Result<PathBuf, InferError> {
        load_runtime(self.ort_lib.as_deref())
    }

    /// Loads ONNX Runtime and opens the model `name` (built-in name or .onnx path, given by
    /// the option `flag`), which must have `role`, its manifest changed by the overrides for
    /// `role`, with the threads left to inference beside
    /// patch readers (`direct`: patches of the slide are read directly). Its idle threads spin
    /// only when the readers have cores of their own; sharing cores, a spinning thread would
    /// take them from the readers.
    pub fn open_model(
        &self,
        name: &str,
        role: Role,
        flag: &str,
        direct: bool,
    ) -> Result<(Model, Manifest), OpenModelError> {
        self.load()?;
        let (mut m, path) = resolve(name).map_err(|error| OpenModelError::Resolve {
            name: name.to_string(),
            error,
        })?;
        if m.role != role {
            return Err(OpenModelError::WrongRole {
                flag: flag.to_string(),
                name: name.to_string(),
                is: m.role,
                wanted: role,
            });
        }
        self.overrides.for_role(role).apply(&mut m);
        let model = Model::open_with(
            &path,
            self.inference_threads(direct),
            self.device,
            self.readers(direct).is_some(),
        )?;
        Ok((model, m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(threads: usize, read_threads: Option<usize>) -> Runtime {
        Runtime {
            threads,
            read_threads,
            ..Runtime::default()
        }
    }

    /// (readers, inference threads), worked out by hand from the rule in the docs.
    fn split(threads: usize, read_threads: Option<usize>, direct: bool) -> (Option<usize>, usize) {
        let r = rt(threads, read_threads);
        (r.readers(direct), r.inference_threads(direct))
    }

    #[test]
    fn cores_are_split_between_readers_and_inference() {
        // below 8 cores readers share them all
        assert_eq!(split(2, None, true), (None, 2));
        assert_eq!(split(7, None, false), (None, 7));
        // from 8 up: one reader core in 8 (direct JPEG) or in 4 (through OpenSlide)
        assert_eq!(split(8, None, true), (Some(1), 7));
        assert_eq!(split(16, None, true), (Some(2), 14));
        assert_eq!(split(16, None, false), (Some(4), 12));
        // explicit: 0 shares, too many leaves inference one core, one core never splits
        assert_eq!(split(16, Some(0), true), (None, 16));
        assert_eq!(split(16, Some(40), true), (Some(15), 1));
        assert_eq!(split(1, Some(3), true), (None, 1));
        assert_eq!(split(4, Some(1), true), (Some(1), 3));
    }

    #[test]
    fn a_model_of_another_role_is_named_with_both_roles() {
        let e = OpenModelError::WrongRole {
            flag: "--model".into(),
            name: "r.onnx".into(),
            is: Role::Refinement,
            wanted: Role::PatchClassifier,
        };
        assert_eq!(
            e.to_string(),
            "--model r.onnx: a refinement model, not a patch classifier model"
        );
    }
}

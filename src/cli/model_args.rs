//! Flag groups of the commands that run models: the design, the networks and their
//! contracts, ONNX Runtime and its threads.

use std::path::PathBuf;

use super::args::{positive_f64, threads};

/// A design of the paper, its networks and the resolution of its mask.
#[derive(Debug, clap::Args)]
pub struct DesignArgs {
    /// Which design of the paper's ablation study.
    #[arg(long, value_enum, default_value_t = h2g::infer::segment::Design::H2g)]
    pub design: h2g::infer::segment::Design,
    /// The design's label, which names its outputs (`STEM.segment-LABEL.*`) and its rows in the
    /// evaluation (default: the design's name), e.g. mob-km-pw.
    #[arg(long)]
    pub label: Option<String>,
    #[command(flatten)]
    pub models: ModelArgs,
    /// Pyramid level the refinement network reads: auto (the coarsest level of at least
    /// 1024 × 1024, the paper's rule; level 0 when none is), lowest (FAST's published
    /// pipeline, whatever its size) or a level number.
    #[arg(long, default_value_t = h2g::infer::refine_input::RefineLevel::Auto)]
    pub refine_level: h2g::infer::refine_input::RefineLevel,
    /// Level-0 pixels per pixel of the full-frame mask.
    #[arg(long, default_value_t = 4.0, value_parser = positive_f64)]
    pub mask_downsample: f64,
}

/// The two networks of the designs of the paper.
#[derive(Debug, clap::Args)]
pub struct ModelArgs {
    /// Patch classifier (designs h2g, pw): a built-in name or an .onnx path.
    #[arg(long)]
    pub model: Option<String>,
    /// Refinement network (designs h2g, unet-lr): a built-in name or an .onnx path.
    #[arg(long)]
    pub refine_model: Option<String>,
    #[command(flatten)]
    pub contract: ContractArgs,
}

/// Parses an output choice: a whole number is an index, anything else a name.
fn output_ref(s: &str) -> Result<h2g::infer::manifest::OutputRef, String> {
    s.parse()
        .map_err(|e: std::convert::Infallible| e.to_string())
}

/// Overrides of the models' manifests: how pixels are scaled, the channel order, which output
/// is used (`--model-*`: the patch classifier, or the tissue model; `--refine-*`: the
/// refinement network).
#[derive(Debug, Clone, clap::Args)]
pub struct ContractArgs {
    /// Override the patch classifier's (tissue model's) pixel scaling.
    #[arg(long, value_enum, value_name = "SCALING")]
    pub model_scaling: Option<h2g::infer::manifest::Scaling>,
    /// Per-channel means for --model-scaling meanstd, 0-1 scale, in the model's channel order.
    #[arg(long, value_delimiter = ',', num_args = 1.., value_name = "M,M,M")]
    pub model_mean: Option<Vec<f64>>,
    /// Per-channel standard deviations for --model-scaling meanstd (0-1 scale, each > 0).
    #[arg(long, value_delimiter = ',', num_args = 1.., value_name = "S,S,S")]
    pub model_std: Option<Vec<f64>>,
    /// Override the patch classifier's (tissue model's) colour channel order.
    #[arg(long, value_enum, value_name = "ORDER")]
    pub model_channel_order: Option<h2g::infer::manifest::ChannelOrder>,
    /// Which output of the patch classifier (tissue model) to use: its index or its name.
    #[arg(long, value_parser = output_ref, value_name = "NAME|INDEX")]
    pub model_output: Option<h2g::infer::manifest::OutputRef>,
    /// Override the refinement network's pixel scaling.
    #[arg(long, value_enum, value_name = "SCALING")]
    pub refine_scaling: Option<h2g::infer::manifest::Scaling>,
    /// Per-channel means for --refine-scaling meanstd, 0-1 scale, in the model's channel order.
    #[arg(long, value_delimiter = ',', num_args = 1.., value_name = "M,M,M")]
    pub refine_mean: Option<Vec<f64>>,
    /// Per-channel standard deviations for --refine-scaling meanstd (0-1 scale, each > 0).
    #[arg(long, value_delimiter = ',', num_args = 1.., value_name = "S,S,S")]
    pub refine_std: Option<Vec<f64>>,
    /// Override the refinement network's colour channel order.
    #[arg(long, value_enum, value_name = "ORDER")]
    pub refine_channel_order: Option<h2g::infer::manifest::ChannelOrder>,
    /// Which output of the refinement network to use: its index or its name (DoubleU-Net: 1).
    #[arg(long, value_parser = output_ref, value_name = "NAME|INDEX")]
    pub refine_output: Option<h2g::infer::manifest::OutputRef>,
}

impl ContractArgs {
    /// The library's form; `refinement`: whether the command runs a refinement network (the
    /// `--refine-*` flags are an error where it does not).
    pub fn overrides(
        &self,
        refinement: bool,
    ) -> anyhow::Result<h2g::infer::manifest::ContractOverrides> {
        use h2g::infer::manifest::{ContractOverrides, ManifestOverrides};
        let refine = ManifestOverrides {
            scaling: self.refine_scaling,
            mean: self.refine_mean.clone(),
            std: self.refine_std.clone(),
            channel_order: self.refine_channel_order,
            output: self.refine_output.clone(),
        };
        if !refinement && !refine.is_empty() {
            anyhow::bail!(
                "--refine-scaling, --refine-mean, --refine-std, --refine-channel-order and \
                 --refine-output apply to the refinement network, which this command does not \
                 run: use --model-* for its model"
            );
        }
        Ok(ContractOverrides {
            model: ManifestOverrides {
                scaling: self.model_scaling,
                mean: self.model_mean.clone(),
                std: self.model_std.clone(),
                channel_order: self.model_channel_order,
                output: self.model_output.clone(),
            },
            refine,
        })
    }
}

/// The ONNX Runtime library.
#[derive(Debug, clap::Args)]
pub struct OrtLibArg {
    /// The ONNX Runtime shared library (default: the set-up's, H2G_ORT_LIB, ORT_DYLIB_PATH).
    #[arg(long)]
    pub ort_lib: Option<PathBuf>,
}

/// Options of every command that runs a model beside patch readers.
#[derive(Debug, clap::Args)]
pub struct RuntimeArgs {
    /// Cores to use, for ONNX Runtime and the patch readers together (0: all cores).
    #[arg(long, default_value_t = 0, value_parser = threads)]
    pub threads: usize,
    /// Patch reader threads kept apart from inference (taken from --threads); 0 lets readers
    /// share every core with inference. Default: one per 8 cores from 8 cores up, else 0.
    #[arg(long)]
    pub read_threads: Option<usize>,
    /// Where inference runs; cuda fails clearly when unavailable (never a silent CPU run).
    #[arg(long, value_enum, default_value_t = h2g::infer::Device::Cpu)]
    pub device: h2g::infer::Device,
    #[command(flatten)]
    pub lib: OrtLibArg,
}

impl RuntimeArgs {
    /// The library's form of these options.
    pub fn runtime(&self) -> h2g::infer::Runtime {
        h2g::infer::Runtime {
            threads: self.threads,
            read_threads: self.read_threads,
            device: self.device,
            ort_lib: self.lib.ort_lib.clone(),
            ..Default::default()
        }
    }
}

/// The closing of design I (`segment --design otsu`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OtsuClosing {
    /// None: the paper's design I (1024 × 1024 thumbnail, HSV, Otsu on saturation).
    None,
    /// A disk of radius 5: the variant the authors evaluated.
    Disk5,
}

/// `--otsu-closing` for design I.
#[derive(Debug, clap::Args)]
pub struct OtsuClosingArg {
    /// Closing after Otsu for --design otsu.
    #[arg(long, value_enum, default_value_t = OtsuClosing::None)]
    pub otsu_closing: OtsuClosing,
}

impl OtsuClosingArg {
    /// The library's closing.
    pub fn closing(&self) -> h2g::tissue::Closing {
        match self.otsu_closing {
            OtsuClosing::None => h2g::tissue::Closing::None,
            OtsuClosing::Disk5 => h2g::tissue::Closing::Disk5,
        }
    }
}

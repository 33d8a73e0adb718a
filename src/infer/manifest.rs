//! Model manifests: what a model expects and what its output means (`models/*.json`, built into
//! the binary), and where its file is found.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What a model is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Stage 1: a patch classifier (one probability per patch).
    PatchClassifier,
    /// Stage 2: the refinement network (low-resolution image + heatmap → mask).
    Refinement,
    /// A tissue segmenter.
    Tissue,
    /// A feature extractor (one vector per patch), for the clustering stage.
    FeatureExtractor,
}

/// Tensor layout of image inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// From the model: last dimension 1–4 → channels-last, else channels-first (FAST's rule).
    #[default]
    Auto,
    /// Batch, height, width, channels.
    Nhwc,
    /// Batch, channels, height, width.
    Nchw,
}

/// How pixel values (0–255) become model inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Scaling {
    /// x / 255: [0, 1].
    Div255,
    /// (x − min) / (max − min) over all pixels and channels of the image (a flat image maps its
    /// value to 0).
    Minmax,
    /// x / 127.5 − 1: [−1, 1] (Keras' MobileNetV2 and InceptionV3 `preprocess_input`).
    Symmetric,
    /// (x / 255 − mean\[c\]) / std\[c\] per channel, with the manifest's `mean` and `std` on the
    /// 0–1 scale (ImageNet's: mean 0.485, 0.456, 0.406; std 0.229, 0.224, 0.225), listed in the
    /// model's channel order.
    Meanstd,
}

impl Scaling {
    /// The name in manifests and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Scaling::Div255 => "div255",
            Scaling::Minmax => "minmax",
            Scaling::Symmetric => "symmetric",
            Scaling::Meanstd => "meanstd",
        }
    }
}

/// The order of the colour channels in a model's image input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum ChannelOrder {
    /// Red, green, blue (the slide's order).
    #[default]
    Rgb,
    /// Blue, green, red (OpenCV- and Caffe-trained models).
    Bgr,
}

impl ChannelOrder {
    /// The RGB channel (0 red, 1 green, 2 blue) that the model's colour channel `k` (0–2)
    /// holds.
    pub fn source(self, k: usize) -> usize {
        match self {
            ChannelOrder::Rgb => k,
            ChannelOrder::Bgr => 2 - k.min(2),
        }
    }

    /// The name in manifests and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ChannelOrder::Rgb => "rgb",
            ChannelOrder::Bgr => "bgr",
        }
    }
}

impl Layout {
    /// The layout of an input of `shape` under this setting: `Auto` follows FAST's rule (last
    /// dimension 1–4 → channels-last, else channels-first), except that a 4-D shape whose
    /// middle dimensions are equal and differ from the last (`[1, 1024, 1024, 6]`, a multiclass
    /// refinement's image and heatmap bands) is channels-last.
    pub fn resolve(self, shape: &[i64]) -> Layout {
        match self {
            Layout::Auto if matches!(shape.last(), Some(1..=4)) => Layout::Nhwc,
            // more channels than FAST's rule knows (a multiclass refinement's image and
            // heatmap bands): the two equal sides of the square input tell where they are
            Layout::Auto => match shape {
                [_, h, w, c] if h == w && h != c => Layout::Nhwc,
                _ => Layout::Nchw,
            },
            l => l,
        }
    }
}

/// Why a manifest's scaling cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScalingError {
    /// `meanstd` without `mean` or `std`.
    #[error(
        "scaling meanstd needs \"mean\" and \"std\" in the manifest (one value per colour \
         channel, in the model's channel order, on the 0–1 scale; e.g. ImageNet's \
         [0.485, 0.456, 0.406] and [0.229, 0.224, 0.225])"
    )]
    MeanStdMissing,
    /// `mean` or `std` with another count than the colour channels.
    #[error(
        "manifest \"{field}\" has {len} value(s) but the image has {channels} colour channels: \
         give one per channel"
    )]
    Length {
        /// "mean" or "std".
        field: &'static str,
        /// Values given.
        len: usize,
        /// Colour channels of the image input.
        channels: usize,
    },
    /// A `std` value that is not a positive finite number.
    #[error("manifest \"std\" value {value} (channel {channel}) must be a finite number > 0")]
    StdNotPositive {
        /// The model's channel.
        channel: usize,
        /// The value given.
        value: f64,
    },
    /// A `mean` value that is not finite.
    #[error("manifest \"mean\" value {value} (channel {channel}) must be a finite number")]
    MeanNotFinite {
        /// The model's channel.
        channel: usize,
        /// The value given.
        value: f64,
    },
}

/// A manifest's scaling, validated ([`Manifest::input_scale`]); [`InputScale::map_for`] gives
/// the map of one image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InputScale {
    scaling: Scaling,
    /// Mean and std per RGB channel (red first, whatever the model's order).
    mean: [f32; 3],
    std: [f32; 3],
}

/// How one image's pixel values become the model's inputs ([`PixelMap::apply`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PixelMap {
    /// (x − lo) / range (`div255`: 0 and 255; `minmax`: the image's min, and max − min).
    Range {
        /// Mapped to 0.
        lo: f32,
        /// Mapped to 1 above `lo`.
        range: f32,
    },
    /// x / 127.5 − 1.
    Symmetric,
    /// (x / 255 − mean\[c\]) / std\[c\], per RGB channel.
    MeanStd {
        /// Per RGB channel.
        mean: [f32; 3],
        /// Per RGB channel.
        std: [f32; 3],
    },
}

impl InputScale {
    /// A scale without parameters (every scaling but `meanstd`, which falls back to mean 0 and
    /// std 1 here: use [`Manifest::input_scale`] for it).
    pub fn plain(scaling: Scaling) -> InputScale {
        InputScale {
            scaling,
            mean: [0.0; 3],
            std: [1.0; 3],
        }
    }

    /// The map of the 8-bit interleaved RGB image `data` (minmax takes its min and max over
    /// all pixels and channels; the other scalings do not look at it).
    pub fn map_for(&self, data: &[u8]) -> PixelMap {
        match self.scaling {
            Scaling::Div255 => PixelMap::Range {
                lo: 0.0,
                range: 255.0,
            },
            Scaling::Minmax => {
                let (a, b) = data
                    .iter()
                    .fold((255u8, 0u8), |(a, b), &v| (a.min(v), b.max(v)));
                let lo = a.min(b) as f32;
                PixelMap::Range {
                    lo,
                    range: (b as f32).max(lo + 1.0) - lo,
                }
            }
            Scaling::Symmetric => PixelMap::Symmetric,
            Scaling::Meanstd => PixelMap::MeanStd {
                mean: self.mean,
                std: self.std,
            },
        }
    }

    /// The scaling.
    pub fn scaling(&self) -> Scaling {
        self.scaling
    }
}

impl PixelMap {
    /// The model input of pixel value `v` of RGB channel `c` (0 red, 1 green, 2 blue).
    pub fn apply(&self, v: u8, c: usize) -> f32 {
        match *self {
            // a division, as x / 255 is written in the reference pipelines (bit-identical inputs)
            PixelMap::Range { lo, range } => (v as f32 - lo) / range,
            PixelMap::Symmetric => v as f32 / 127.5 - 1.0,
            PixelMap::MeanStd { mean, std } => {
                let c = c.min(2);
                (v as f32 / 255.0 - mean[c]) / std[c]
            }
        }
    }
}

/// Which of a model's outputs holds the map: its index (0-based) or its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OutputRef {
    /// The output's position among the model's outputs.
    Index(usize),
    /// The output's name in the graph.
    Name(String),
}

impl std::fmt::Display for OutputRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OutputRef::Index(i) => write!(f, "{i}"),
            OutputRef::Name(n) => write!(f, "\"{n}\""),
        }
    }
}

impl std::str::FromStr for OutputRef {
    type Err = std::convert::Infallible;

    /// A whole number is an index, anything else a name.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim().parse::<usize>() {
            Ok(i) => OutputRef::Index(i),
            Err(_) => OutputRef::Name(s.to_string()),
        })
    }
}

/// One input of the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputSpec {
    /// Channel count.
    pub channels: u32,
    /// "image", "heatmap" or "image+heatmap".
    pub role: String,
}

/// The meaning of the output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputSpec {
    /// "softmax" or "sigmoid".
    pub kind: String,
    /// The channel holding the probability of interest.
    pub channel: usize,
    /// In words.
    pub meaning: String,
    /// Which of the model's outputs holds the map (`"tensor": 1` or `"tensor": "name"`):
    /// needed when the model has more than one output (deep supervision: 0, the full
    /// resolution; DoubleU-Net: 1, the second network's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tensor: Option<OutputRef>,
}

/// An output of the model file, as listed in a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedOutput {
    /// Its name in the graph.
    pub name: String,
    /// Its shape (-1: dynamic).
    pub shape: Vec<i64>,
}

/// A model manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Short name (`--model NAME`).
    pub name: String,
    /// What it is for.
    pub role: Role,
    /// Whether it is a trained model (false: the project's own test stand-ins).
    pub trained: bool,
    /// File name (relative to a models folder).
    pub file: String,
    /// SHA-256 of the file, when pinned.
    pub sha256: Option<String>,
    /// Where it can be downloaded.
    pub urls: Vec<String>,
    /// Its licence.
    pub licence: String,
    /// Input layout.
    pub layout: Layout,
    /// Input side in pixels (square).
    pub size: u32,
    /// Inputs, in the order the model declares them (matched by channel count).
    pub inputs: Vec<InputSpec>,
    /// Channel order of image inputs.
    pub channel_order: ChannelOrder,
    /// Pixel scaling.
    pub scaling: Scaling,
    /// Per-channel means for `meanstd` scaling, on the 0–1 scale, in the model's channel order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean: Option<Vec<f64>>,
    /// Per-channel standard deviations for `meanstd` scaling (0–1 scale, each > 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub std: Option<Vec<f64>>,
    /// Objective magnification the model expects (patch classifiers).
    pub magnification: Option<f64>,
    /// Output meaning.
    pub output: OutputSpec,
    /// The model file's outputs as `h2g models init` read them (name and shape; -1 dynamic),
    /// for reference: `output.tensor` picks one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<ListedOutput>,
    /// Decision threshold.
    pub threshold: f64,
    /// The classes of a multiclass model, one per output channel in channel order, the first
    /// the background (`[{"name": "Background"}, {"name": "Tumor", "color": [200, 0, 0]}, …]`).
    /// Empty for a binary model, whose `output.channel` holds P(tumour).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<ClassDef>,
    /// How a multiclass output becomes labels (`argmax`, the default, or `fast`); binary
    /// models keep FAST's two-class rule whatever this says.
    #[serde(default, skip_serializing_if = "ClassRule::is_default")]
    pub class_rule: ClassRule,
    /// Free notes.
    pub notes: String,
}

/// The most classes (background included) a multiclass model may have: labels are 8-bit and
/// every class adds a band to the heatmap and a mask to the outputs.
pub const MAX_CLASSES: usize = 64;

/// One class of a multiclass model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassDef {
    /// Its QuPath class name (letters, digits, spaces, `-`, `_`; at most 64 characters).
    pub name: String,
    /// Its QuPath colour (default: one of a fixed palette, by index).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<[u8; 3]>,
}

/// How a multiclass model's per-pixel probabilities become a label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum ClassRule {
    /// The class of the largest probability, background included (the first on ties).
    #[default]
    Argmax,
    /// FAST's TensorToSegmentation: the foreground class of the largest probability among
    /// those above the threshold and at least the background's (the later on ties); background
    /// when none is above the threshold.
    Fast,
}

impl ClassRule {
    fn is_default(&self) -> bool {
        *self == ClassRule::Argmax
    }

    /// The rule's name.
    pub fn name(self) -> &'static str {
        match self {
            ClassRule::Argmax => "argmax",
            ClassRule::Fast => "fast",
        }
    }
}

/// The colour of class `k` (1-based foreground index) when its manifest gives none: QuPath's
/// Tumor red first, then well-separated hues.
pub fn default_class_color(k: usize) -> [u8; 3] {
    const PALETTE: [[u8; 3]; 8] = [
        [200, 0, 0],
        [0, 150, 255],
        [255, 200, 0],
        [150, 0, 200],
        [0, 180, 80],
        [255, 100, 180],
        [120, 80, 40],
        [0, 200, 200],
    ];
    PALETTE[k.saturating_sub(1) % PALETTE.len()]
}

/// Why a manifest's classes cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ClassesError {
    /// One class, or more than [`MAX_CLASSES`].
    #[error(
        "manifest \"classes\" lists {0} class(es): give the background first and then at least one \
         class, {MAX_CLASSES} at most (or leave \"classes\" out for a binary model)"
    )]
    Count(usize),
    /// A name that is empty, too long or has characters other than letters, digits, spaces,
    /// `-` and `_`.
    #[error(
        "manifest class name {0:?}: use 1 to 64 letters, digits, spaces, '-' or '_' (it names \
         QuPath classes and files)"
    )]
    Name(String),
    /// Two classes whose names are the same (ignoring case, spaces as `-`).
    #[error("manifest classes {0:?} and {1:?} name the same file: give each class its own name")]
    Duplicate(String, String),
    /// `output.channel` set for a multiclass model, whose classes are its channels.
    #[error(
        "manifest output.channel is {0}, but a model with \"classes\" uses channel k for class k: \
         set output.channel to 1 or remove \"classes\""
    )]
    Channel(usize),
}

/// A class of a model's result, as the outputs name it: its label value in masks, QuPath name
/// and colour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResultClass {
    /// Its value in the label masks (1, 2, …; 0 is the background).
    pub value: u8,
    /// Its QuPath class name.
    pub name: String,
    /// Its QuPath colour.
    pub color: [u8; 3],
}

impl ClassDef {
    /// The class name as a file-name part: lower case, spaces as `-`.
    pub fn file_part(name: &str) -> String {
        name.trim().to_lowercase().replace(' ', "-")
    }
}

impl Manifest {
    /// Whether the model is multiclass (it lists `classes`).
    pub fn is_multiclass(&self) -> bool {
        !self.classes.is_empty()
    }

    /// The output channels that carry the heatmap's (or the probability map's) bands: the
    /// binary model's `output.channel`, or channels 1..K of a multiclass one.
    pub fn bands(&self) -> Vec<usize> {
        if self.is_multiclass() {
            (1..self.classes.len()).collect()
        } else {
            vec![self.output.channel]
        }
    }

    /// The foreground classes of the result: the manifest's classes after the background, or
    /// the one class `binary` (e.g. `("Tumor", [200, 0, 0])`) of a binary model.
    pub fn result_classes(&self, binary: (&str, [u8; 3])) -> Vec<ResultClass> {
        if !self.is_multiclass() {
            return vec![ResultClass {
                value: 1,
                name: binary.0.into(),
                color: binary.1,
            }];
        }
        self.classes
            .iter()
            .enumerate()
            .skip(1)
            .map(|(k, c)| ResultClass {
                value: k as u8,
                name: c.name.trim().to_string(),
                color: c.color.unwrap_or_else(|| default_class_color(k)),
            })
            .collect()
    }

    /// Checks the classes: none (binary), or 2 to [`MAX_CLASSES`] with valid, distinct names,
    /// and `output.channel` left at 1.
    pub fn check_classes(&self) -> Result<(), ClassesError> {
        if self.classes.is_empty() {
            return Ok(());
        }
        let k = self.classes.len();
        if !(2..=MAX_CLASSES).contains(&k) {
            return Err(ClassesError::Count(k));
        }
        let mut seen: Vec<(String, &str)> = Vec::new();
        for c in &self.classes {
            let n = c.name.trim();
            let ok = !n.is_empty()
                && n.chars().count() <= 64
                && n.chars()
                    .all(|ch| ch.is_alphanumeric() || matches!(ch, ' ' | '-' | '_'));
            if !ok {
                return Err(ClassesError::Name(c.name.clone()));
            }
            let f = ClassDef::file_part(n);
            if let Some((_, first)) = seen.iter().find(|(g, _)| *g == f) {
                return Err(ClassesError::Duplicate(first.to_string(), n.to_string()));
            }
            seen.push((f, n));
        }
        if self.output.channel != 1 {
            return Err(ClassesError::Channel(self.output.channel));
        }
        Ok(())
    }

    /// The scaling of the image input, checked: `meanstd` needs `mean` and `std` with one value
    /// per colour channel (3) and every std > 0.
    pub fn input_scale(&self) -> Result<InputScale, ScalingError> {
        if self.scaling != Scaling::Meanstd {
            return Ok(InputScale::plain(self.scaling));
        }
        let (Some(mean), Some(std)) = (&self.mean, &self.std) else {
            return Err(ScalingError::MeanStdMissing);
        };
        for (field, v) in [("mean", mean), ("std", std)] {
            if v.len() != 3 {
                return Err(ScalingError::Length {
                    field,
                    len: v.len(),
                    channels: 3,
                });
            }
        }
        let mut scale = InputScale::plain(Scaling::Meanstd);
        for k in 0..3 {
            if !mean[k].is_finite() {
                return Err(ScalingError::MeanNotFinite {
                    channel: k,
                    value: mean[k],
                });
            }
            if !(std[k].is_finite() && std[k] > 0.0) {
                return Err(ScalingError::StdNotPositive {
                    channel: k,
                    value: std[k],
                });
            }
            // stored per RGB channel: the model's channel k holds RGB channel source(k)
            let c = self.channel_order.source(k);
            scale.mean[c] = mean[k] as f32;
            scale.std[c] = std[k] as f32;
        }
        Ok(scale)
    }
}

/// Changes to a loaded manifest from the command line (`--model-scaling`, `--refine-output`,
/// …): each field given replaces the manifest's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ManifestOverrides {
    /// Replaces `scaling`.
    pub scaling: Option<Scaling>,
    /// Replaces `mean`.
    pub mean: Option<Vec<f64>>,
    /// Replaces `std`.
    pub std: Option<Vec<f64>>,
    /// Replaces `channel_order`.
    pub channel_order: Option<ChannelOrder>,
    /// Replaces `output.tensor`.
    pub output: Option<OutputRef>,
}

impl ManifestOverrides {
    /// Whether nothing is overridden.
    pub fn is_empty(&self) -> bool {
        *self == ManifestOverrides::default()
    }

    /// Applies the overrides to `m`.
    pub fn apply(&self, m: &mut Manifest) {
        if let Some(s) = self.scaling {
            m.scaling = s;
        }
        if let Some(v) = &self.mean {
            m.mean = Some(v.clone());
        }
        if let Some(v) = &self.std {
            m.std = Some(v.clone());
        }
        if let Some(o) = self.channel_order {
            m.channel_order = o;
        }
        if let Some(o) = &self.output {
            m.output.tensor = Some(o.clone());
        }
    }
}

/// Overrides for the models of a run: the patch classifier's (also the tissue model's) and the
/// refinement network's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContractOverrides {
    /// For the patch classifier and the tissue model (`--model-*`).
    pub model: ManifestOverrides,
    /// For the refinement network (`--refine-*`).
    pub refine: ManifestOverrides,
}

impl ContractOverrides {
    /// The overrides for a model of `role`.
    pub fn for_role(&self, role: Role) -> &ManifestOverrides {
        match role {
            Role::Refinement => &self.refine,
            Role::PatchClassifier | Role::Tissue | Role::FeatureExtractor => &self.model,
        }
    }
}

const BUILT_IN: [(&str, &str); 23] = [
    (
        "h2g-patch-mobilenetv2",
        include_str!("../../models/h2g-patch-mobilenetv2.json"),
    ),
    (
        "h2g-refinement-unet",
        include_str!("../../models/h2g-refinement-unet.json"),
    ),
    (
        "superfast-tissue",
        include_str!("../../models/superfast-tissue.json"),
    ),
    (
        "test-patch-classifier",
        include_str!("../../models/test-patch-classifier.json"),
    ),
    (
        "test-refinement-2in",
        include_str!("../../models/test-refinement-2in.json"),
    ),
    (
        "test-refinement-4ch",
        include_str!("../../models/test-refinement-4ch.json"),
    ),
    (
        "test-unet-lr",
        include_str!("../../models/test-unet-lr.json"),
    ),
    (
        "test-patch-classifier-nchw",
        include_str!("../../models/test-patch-classifier-nchw.json"),
    ),
    (
        "test-refinement-2in-nchw",
        include_str!("../../models/test-refinement-2in-nchw.json"),
    ),
    (
        "test-refinement-4ch-nchw",
        include_str!("../../models/test-refinement-4ch-nchw.json"),
    ),
    (
        "test-unet-lr-nchw",
        include_str!("../../models/test-unet-lr-nchw.json"),
    ),
    (
        "test-contract-unet-2in",
        include_str!("../../models/test-contract-unet-2in.json"),
    ),
    (
        "test-contract-unet-4ch",
        include_str!("../../models/test-contract-unet-4ch.json"),
    ),
    (
        "test-contract-agunet",
        include_str!("../../models/test-contract-agunet.json"),
    ),
    (
        "test-contract-doubleunet",
        include_str!("../../models/test-contract-doubleunet.json"),
    ),
    (
        "test-contract-inceptionv3",
        include_str!("../../models/test-contract-inceptionv3.json"),
    ),
    (
        "test-contract-mobilenetv2",
        include_str!("../../models/test-contract-mobilenetv2.json"),
    ),
    (
        "test-contract-patch-bgr",
        include_str!("../../models/test-contract-patch-bgr.json"),
    ),
    (
        "test-contract-patch-meanstd",
        include_str!("../../models/test-contract-patch-meanstd.json"),
    ),
    (
        "test-contract-tissue-2out",
        include_str!("../../models/test-contract-tissue-2out.json"),
    ),
    (
        "test-contract-patch-4class",
        include_str!("../../models/test-contract-patch-4class.json"),
    ),
    (
        "test-contract-refine-4class",
        include_str!("../../models/test-contract-refine-4class.json"),
    ),
    (
        "test-feature-vgg16",
        include_str!("../../models/test-feature-vgg16.json"),
    ),
];

/// The manifests built into the binary.
pub fn built_in() -> Vec<Manifest> {
    BUILT_IN
        .iter()
        .filter_map(|(_, text)| serde_json::from_str(text).ok())
        .collect()
}

/// The built-in manifest called `name`.
pub fn find(name: &str) -> Option<Manifest> {
    built_in().into_iter().find(|m| m.name == name)
}

/// Folders searched for model files, in order: `$H2G_MODELS`, `models/` and `.deps/models/` of
/// the repository the binary was built in (found from the executable), then of the current
/// directory.
pub fn search_dirs() -> Vec<PathBuf> {
    let mut d = Vec::new();
    if let Some(v) = std::env::var_os("H2G_MODELS").filter(|v| !v.is_empty()) {
        d.extend(std::env::split_paths(&v));
    }
    if let Ok(exe) = std::env::current_exe() {
        for up in exe.ancestors().skip(1).take(4) {
            if up.join("Cargo.toml").is_file() {
                d.push(up.join("models"));
                d.push(up.join(".deps/models"));
            }
        }
    }
    d.push(PathBuf::from("models"));
    d.push(PathBuf::from(".deps/models"));
    d
}

/// Where `m`'s file is, if anywhere in the search folders.
pub fn locate(m: &Manifest) -> Option<PathBuf> {
    search_dirs()
        .into_iter()
        .map(|d| d.join(&m.file))
        .find(|p| p.is_file())
}

/// Why a model named on the command line cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// A path ending in `.onnx` that is not a file.
    #[error("model file {0} does not exist")]
    NoFile(String),
    /// The manifest beside the model cannot be read.
    #[error("manifest {}: {cause}", path.display())]
    ReadManifest {
        /// The manifest file.
        path: PathBuf,
        /// Why.
        cause: std::io::Error,
    },
    /// The manifest beside the model is not a valid manifest.
    #[error("manifest {}: {cause}", path.display())]
    BadManifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong.
        cause: serde_json::Error,
    },
    /// An `.onnx` file with no manifest beside it and no built-in one of its file name.
    #[error(
        "no manifest for {model}: put one beside it as {} (see models/*.json), or name a \
         built-in model ({built_in})",
        beside.display()
    )]
    NoManifest {
        /// The model as given.
        model: String,
        /// Where its manifest would be.
        beside: PathBuf,
        /// The built-in names.
        built_in: String,
    },
    /// A manifest whose classes cannot be used.
    #[error("{}: {problem}", manifest.display())]
    Classes {
        /// The manifest file.
        manifest: PathBuf,
        /// What is wrong.
        problem: ClassesError,
    },
    /// A name that is no built-in model.
    #[error("unknown model '{name}' (built in: {built_in})")]
    Unknown {
        /// The name given.
        name: String,
        /// The built-in names.
        built_in: String,
    },
    /// A built-in model whose file is in none of the search folders.
    #[error("model '{name}' ({file}) is not in {searched}; pass --model PATH/TO/{file}")]
    NotInstalled {
        /// The model's name.
        name: String,
        /// Its file name.
        file: String,
        /// The folders searched, comma-separated.
        searched: String,
    },
}

/// A model given on the command line: a built-in name, or a path to an `.onnx` file (with its
/// manifest from a `FILE.json` beside it, or the built-in manifest whose file name matches).
pub fn resolve(arg: &str) -> Result<(Manifest, PathBuf), ResolveError> {
    let p = Path::new(arg);
    if p.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("onnx"))
        || p.is_file()
    {
        if !p.is_file() {
            return Err(ResolveError::NoFile(arg.to_string()));
        }
        let side = p.with_extension("json");
        if side.is_file() {
            let text =
                std::fs::read_to_string(&side).map_err(|source| ResolveError::ReadManifest {
                    path: side.clone(),
                    cause: source,
                })?;
            let m: Manifest =
                serde_json::from_str(&text).map_err(|source| ResolveError::BadManifest {
                    path: side.clone(),
                    cause: source,
                })?;
            m.check_classes().map_err(|problem| ResolveError::Classes {
                manifest: side.clone(),
                problem,
            })?;
            return Ok((m, p.to_path_buf()));
        }
        let fname = p.file_name().and_then(|f| f.to_str()).unwrap_or("");
        return built_in()
            .into_iter()
            .find(|m| Path::new(&m.file).file_name().and_then(|f| f.to_str()) == Some(fname))
            .map(|m| (m, p.to_path_buf()))
            .ok_or_else(|| ResolveError::NoManifest {
                model: arg.to_string(),
                beside: side.clone(),
                built_in: names(),
            });
    }
    let m = find(arg).ok_or_else(|| ResolveError::Unknown {
        name: arg.to_string(),
        built_in: names(),
    })?;
    let path = locate(&m).ok_or_else(|| ResolveError::NotInstalled {
        name: m.name.clone(),
        file: m.file.clone(),
        searched: search_dirs()
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
    })?;
    Ok((m, path))
}

fn names() -> String {
    built_in()
        .iter()
        .map(|m| m.name.clone())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why `h2g models init` cannot describe a model.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// A model without inputs or outputs.
    #[error("{model}: the model has no {what}")]
    Empty {
        /// The file.
        model: String,
        /// "input" or "output".
        what: &'static str,
    },
    /// An input that is no 4-D image batch with 1–4 channels first or last.
    #[error(
        "{model}: input '{input}' has shape {shape:?}: expected [N, H, W, C] or [N, C, H, W] with \
         C of 1 to 4; write its manifest by hand (docs/models.md)"
    )]
    Shape {
        /// The file.
        model: String,
        /// The input's name.
        input: String,
        /// Its shape.
        shape: Vec<i64>,
    },
    /// Fixed height and width that differ (manifests describe square inputs).
    #[error("{model}: input '{input}' is {h} × {w}; h2g runs square inputs only")]
    NotSquare {
        /// The file.
        model: String,
        /// The input's name.
        input: String,
        /// Height.
        h: i64,
        /// Width.
        w: i64,
    },
    /// Inputs that do not fit the role (a patch classifier takes one 3-channel image; a
    /// refinement one 3- or 4-channel input or a 3-channel image and a 1-channel heatmap).
    #[error("{model}: inputs with {channels:?} channels do not fit a {role} model ({expected})")]
    Inputs {
        /// The file.
        model: String,
        /// Channels per input.
        channels: Vec<i64>,
        /// The role asked for.
        role: &'static str,
        /// What the role takes.
        expected: &'static str,
    },
}

/// A manifest drafted from a model file, and what in it was not read from the file.
#[derive(Debug, Clone)]
pub struct Draft {
    /// The manifest.
    pub manifest: Manifest,
    /// "field: value (why)" for each value set by default: check these.
    pub check: Vec<String>,
}

/// The layout and the (H, W, C) of an input shape; `None` when it is no image batch.
fn image_dims(shape: &[i64]) -> Option<(Layout, i64, i64, i64)> {
    let fits = |c: i64| (1..=MAX_INPUT_CHANNELS as i64).contains(&c);
    match (Layout::Auto.resolve(shape), shape) {
        (Layout::Nhwc, [_, h, w, c]) if fits(*c) => Some((Layout::Nhwc, *h, *w, *c)),
        (Layout::Nchw, [_, c, h, w]) if fits(*c) => Some((Layout::Nchw, *h, *w, *c)),
        _ => None,
    }
}

/// The most channels an input may have: the image's 3 and one heatmap band per foreground
/// class of a [`MAX_CLASSES`]-class model.
pub const MAX_INPUT_CHANNELS: usize = 3 + MAX_CLASSES - 1;

/// Drafts the manifest of the model described by `info` (its inputs and outputs as ONNX
/// Runtime reads them), for `role`, called `name`: layout, size, inputs and outputs from the
/// file; scaling (div255), magnification (10× for patch classifiers), threshold (0.5),
/// channel order (rgb), output kind and channel, trained and licence set by default and listed
/// in [`Draft::check`].
pub fn draft(info: &super::ModelInfo, role: Role, name: &str) -> Result<Draft, InitError> {
    let model = info.path.display().to_string();
    let first = info.inputs.first().ok_or_else(|| InitError::Empty {
        model: model.clone(),
        what: "input",
    })?;
    if info.outputs.is_empty() {
        return Err(InitError::Empty {
            model,
            what: "output",
        });
    }
    let mut dims = Vec::new();
    for t in &info.inputs {
        let d = image_dims(&t.shape).ok_or_else(|| InitError::Shape {
            model: model.clone(),
            input: t.name.clone(),
            shape: t.shape.clone(),
        })?;
        dims.push(d);
    }
    let (layout, h, w, _) = dims[0];
    let mut check = Vec::new();
    let size = match (h, w) {
        (h, w) if h > 0 && w > 0 && h != w => {
            return Err(InitError::NotSquare {
                model,
                input: first.name.clone(),
                h,
                w,
            })
        }
        (h, _) if h > 0 => h as u32,
        (_, w) if w > 0 => w as u32,
        _ => {
            let d = match role {
                Role::PatchClassifier => 256,
                Role::Refinement => 1024,
                Role::Tissue => 512,
                Role::FeatureExtractor => 224,
            };
            check.push(format!(
                "size: {d} (the input's height and width are dynamic: set the side the model \
                 was trained at, e.g. 299 for InceptionV3, 224 for MobileNetV2)"
            ));
            d
        }
    };
    let channels: Vec<i64> = dims.iter().map(|d| d.3).collect();
    let role_name = match role {
        Role::PatchClassifier => "patch classifier",
        Role::Refinement => "refinement",
        Role::Tissue => "tissue",
        Role::FeatureExtractor => "feature extractor",
    };
    let bad = |expected| InitError::Inputs {
        model: model.clone(),
        channels: channels.clone(),
        role: role_name,
        expected,
    };
    let roles: Vec<&str> =
        match (role, channels.as_slice()) {
            (Role::PatchClassifier | Role::Tissue | Role::FeatureExtractor, [3]) => vec!["image"],
            (Role::PatchClassifier | Role::Tissue | Role::FeatureExtractor, _) => {
                return Err(bad("one 3-channel image"))
            }
            (Role::Refinement, [3]) => vec!["image"],
            (Role::Refinement, [c]) if *c > 3 => vec!["image+heatmap"],
            (Role::Refinement, [3, _]) => vec!["image", "heatmap"],
            (Role::Refinement, [_, 3]) => vec!["heatmap", "image"],
            (Role::Refinement, _) => return Err(bad(
                "one input of the image's 3 channels (and the heatmap's bands), or a 3-channel \
                 image and a heatmap",
            )),
        };
    let inputs = roles
        .iter()
        .zip(&channels)
        .map(|(r, &c)| InputSpec {
            channels: c as u32,
            role: r.to_string(),
        })
        .collect();
    let outputs: Vec<ListedOutput> = info
        .outputs
        .iter()
        .map(|t| ListedOutput {
            name: t.name.clone(),
            shape: t.shape.clone(),
        })
        .collect();
    if outputs.len() > 1 {
        check.push(format!(
            "output.tensor: not set: the model has {} outputs ({}); set it to the index or name \
             of the one to use (deep supervision, AGU-Net/DAGU-Net: 0, full resolution; \
             DoubleU-Net: 1)",
            outputs.len(),
            outputs
                .iter()
                .enumerate()
                .map(|(i, o)| format!("{i} '{}' {:?}", o.name, o.shape))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    // the classes of the first output: [N, C], or its channels by the layout rule
    let oshape = &info.outputs[0].shape;
    let classes = match oshape.as_slice() {
        [_, c] => *c,
        s @ [_, c, _, _] if Layout::Auto.resolve(s) == Layout::Nchw => *c,
        s => s.last().copied().unwrap_or(-1),
    };
    let (kind, channel) = if classes == 1 {
        ("sigmoid", 0)
    } else {
        ("softmax", 1)
    };
    check.push(format!(
        "output.kind, output.channel: {kind}, {channel} (the class of interest; from {classes} \
         output channel(s))"
    ));
    // more than two output channels: a multiclass model, one class per channel
    let drafted_classes: Vec<ClassDef> = if classes > 2 && classes as usize <= MAX_CLASSES {
        let v: Vec<ClassDef> = (0..classes as usize)
            .map(|k| ClassDef {
                name: if k == 0 {
                    "Background".into()
                } else {
                    format!("Class {k}")
                },
                color: None,
            })
            .collect();
        check.push(format!(
            "classes: Background, Class 1 … Class {} (one per output channel, the background \
             first): name them as your QuPath classes",
            classes - 1
        ));
        v
    } else {
        Vec::new()
    };
    check.push(
        "scaling: div255 (x / 255; see docs/models.md for minmax, symmetric, meanstd)".into(),
    );
    check.push("channel_order: rgb".into());
    let magnification = match role {
        Role::PatchClassifier => {
            check.push("magnification: 10 (the objective power the patches are read at)".into());
            Some(10.0)
        }
        _ => None,
    };
    check.push("threshold: 0.5".into());
    check.push("trained: true, licence: unknown".into());
    let file = info
        .path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let sha256 = std::fs::read(&info.path)
        .ok()
        .map(|b| crate::digest::sha256_hex(&b));
    Ok(Draft {
        manifest: Manifest {
            name: name.to_string(),
            role,
            trained: true,
            file,
            sha256,
            urls: Vec::new(),
            licence: "unknown".into(),
            layout,
            size,
            inputs,
            channel_order: ChannelOrder::Rgb,
            scaling: Scaling::Div255,
            mean: None,
            std: None,
            magnification,
            output: OutputSpec {
                kind: kind.into(),
                channel,
                meaning: "check: what the output channel means".into(),
                tensor: None,
            },
            outputs,
            threshold: 0.5,
            classes: drafted_classes,
            class_rule: ClassRule::Argmax,
            notes: "drafted by h2g models init from the file's inputs and outputs".into(),
        },
        check,
    })
}

/// Why a manifest was not written.
#[derive(Debug, thiserror::Error)]
pub enum WriteManifestError {
    /// The file exists and `force` was not given.
    #[error("{} exists: pass --force to replace it", path.display())]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// Something that is not a regular file is there (a directory, a link, a device).
    #[error("{} exists and is not a regular file: refusing to write over it", path.display())]
    NotRegular {
        /// The path.
        path: PathBuf,
    },
    /// Writing failed.
    #[error("writing {}: {cause}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        cause: std::io::Error,
    },
}

/// Writes `m` as pretty JSON to `path`: never over anything but a regular file, and over one
/// only with `force` (then through a temporary file beside it, renamed into place).
pub fn write_manifest(path: &Path, m: &Manifest, force: bool) -> Result<(), WriteManifestError> {
    use std::io::Write;
    let io = |cause| WriteManifestError::Io {
        path: path.to_path_buf(),
        cause,
    };
    let mut text = serde_json::to_string_pretty(m).map_err(|e| io(std::io::Error::other(e)))?;
    text.push('\n');
    match std::fs::symlink_metadata(path) {
        Ok(md) if !md.file_type().is_file() => Err(WriteManifestError::NotRegular {
            path: path.to_path_buf(),
        }),
        Ok(_) if !force => Err(WriteManifestError::Exists {
            path: path.to_path_buf(),
        }),
        // replaced through the shared atomic writer, which refuses an input of the command
        Ok(_) => crate::output::write_file(path, |w| w.write_all(text.as_bytes())).map_err(io),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // create_new: a file (or link) that appeared meanwhile is not written through
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
                .map_err(|e| {
                    if e.kind() == std::io::ErrorKind::AlreadyExists {
                        WriteManifestError::Exists {
                            path: path.to_path_buf(),
                        }
                    } else {
                        io(e)
                    }
                })?;
            f.write_all(text.as_bytes()).map_err(io)
        }
        Err(e) => Err(io(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_manifest_parses() {
        assert_eq!(built_in().len(), BUILT_IN.len());
        for (name, _) in BUILT_IN {
            assert_eq!(find(name).map(|m| m.name), Some(name.to_string()));
        }
        for m in built_in() {
            m.check_classes().unwrap();
        }
        let r = find("h2g-refinement-unet").unwrap();
        assert_eq!(r.inputs.len(), 2);
        assert_eq!(r.scaling, Scaling::Minmax);
    }

    #[test]
    fn classes_are_checked_and_name_their_fault() {
        let mut m = find("test-contract-refine-4class").unwrap();
        assert_eq!(m.bands(), vec![1, 2, 3]);
        let rc = m.result_classes(("Tumor", [1, 2, 3]));
        // the manifest's colours, and the palette's third for "In situ", which has none
        assert_eq!(
            rc.iter()
                .map(|c| (c.value, c.name.as_str(), c.color))
                .collect::<Vec<_>>(),
            vec![
                (1, "Tumor", [200, 0, 0]),
                (2, "Benign", [0, 150, 255]),
                (3, "In situ", [255, 200, 0])
            ]
        );
        let named = |n: &str| ClassDef {
            name: n.into(),
            color: None,
        };
        m.classes.push(named("in-situ"));
        assert!(matches!(
            m.check_classes(),
            Err(ClassesError::Duplicate(a, b)) if a == "In situ" && b == "in-situ"
        ));
        m.classes.truncate(1);
        assert!(matches!(m.check_classes(), Err(ClassesError::Count(1))));
        m.classes = vec![named("Background"), named("Tumor/DCIS")];
        assert!(matches!(m.check_classes(), Err(ClassesError::Name(n)) if n == "Tumor/DCIS"));
        m.classes = vec![named("Background"), named("Tumor")];
        m.output.channel = 0;
        assert!(matches!(m.check_classes(), Err(ClassesError::Channel(0))));
        m.classes.clear();
        assert!(m.check_classes().is_ok());
        assert_eq!(m.bands(), vec![0]);
        assert_eq!(
            m.result_classes(("Tumor", [200, 0, 0]))[0].name,
            "Tumor".to_string()
        );
    }

    #[test]
    fn auto_layout_follows_fast_and_the_square_sides_beyond_four_channels() {
        let r = |s: &[i64]| Layout::Auto.resolve(s);
        assert_eq!(r(&[1, 1024, 1024, 4]), Layout::Nhwc);
        assert_eq!(r(&[1, 4, 1024, 1024]), Layout::Nchw);
        assert_eq!(r(&[1, 1024, 1024, 6]), Layout::Nhwc);
        assert_eq!(r(&[1, 6, 1024, 1024]), Layout::Nchw);
        assert_eq!(r(&[-1, -1, -1, 6]), Layout::Nhwc);
        assert_eq!(r(&[-1, 6, -1, -1]), Layout::Nchw);
    }

    #[test]
    fn test_models_are_found_and_match_their_pinned_sha256() {
        for name in [
            "test-patch-classifier",
            "test-refinement-2in",
            "test-refinement-4ch",
            "test-unet-lr",
            "test-patch-classifier-nchw",
            "test-refinement-2in-nchw",
            "test-refinement-4ch-nchw",
            "test-unet-lr-nchw",
            "test-contract-patch-4class",
            "test-contract-refine-4class",
        ] {
            let (m, path) = resolve(name).unwrap();
            assert!(!m.trained);
            let bytes = std::fs::read(&path).unwrap();
            assert_eq!(Some(crate::digest::sha256_hex(&bytes)), m.sha256, "{name}");
        }
        assert!(matches!(
            resolve("no-such-model"),
            Err(ResolveError::Unknown { name, .. }) if name == "no-such-model"
        ));
        assert!(matches!(
            resolve("missing/model.onnx"),
            Err(ResolveError::NoFile(f)) if f == "missing/model.onnx"
        ));
    }
}

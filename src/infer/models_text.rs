//! The text `h2g models list|show|inspect|init` prints for people: the known manifests one line
//! each, one manifest in full, what an ONNX file holds, and what a drafted manifest leaves to
//! check. Each function returns whole lines, each ending in a newline.

use std::fmt::Write as _;
use std::path::Path;

use super::manifest::{locate, Manifest};
use super::ModelInfo;

/// The manifest's role as manifests spell it (`patch-classifier`, `refinement`, `tissue`).
fn role_name(m: &Manifest) -> String {
    serde_json::to_value(m.role)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn trained_word(m: &Manifest) -> &'static str {
    if m.trained {
        "trained"
    } else {
        "UNTRAINED"
    }
}

/// The manifest's output choice, scaling and channel order, in words ("output 1, symmetric,
/// bgr"; mean and std with `meanstd`).
pub fn contract_words(m: &Manifest) -> String {
    let out = match &m.output.tensor {
        Some(t) => format!("output {t}"),
        None => "single output".into(),
    };
    let scaling = match (&m.mean, &m.std) {
        (Some(mean), Some(std)) => format!("{} mean {mean:?} std {std:?}", m.scaling.name()),
        _ => m.scaling.name().to_string(),
    };
    format!("{out}, {scaling}, {}", m.channel_order.name())
}

/// `models list`: one line per manifest: name, role, trained or not, input side, contract,
/// magnification, and where its file was found ([`locate`]).
pub fn list_text(manifests: &[Manifest]) -> String {
    let mut s = String::new();
    for m in manifests {
        let found = locate(m)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "not found (pass --model PATH)".into());
        let _ = writeln!(
            s,
            "{:<28} {:<17} {:<9} {}×{} {}, {}{}",
            m.name,
            role_name(m),
            trained_word(m),
            m.size,
            m.size,
            contract_words(m),
            m.magnification
                .map(|x| format!("{x}x, "))
                .unwrap_or_default(),
            found
        );
    }
    s
}

/// `models show`: manifest `m` of the model file at `path`: role, layout, inputs, contract, the
/// output used and its threshold, the file's outputs, magnification.
pub fn show_text(m: &Manifest, path: &Path) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{} ({})", m.name, path.display());
    let _ = writeln!(
        s,
        "  role {}, {}, layout {:?}, {}×{}",
        role_name(m),
        trained_word(m),
        m.layout,
        m.size,
        m.size
    );
    for (i, inp) in m.inputs.iter().enumerate() {
        let _ = writeln!(s, "  input {i}: {} channel(s), {}", inp.channels, inp.role);
    }
    let _ = writeln!(s, "  scaling and channels: {}", contract_words(m));
    if m.is_multiclass() {
        let names: Vec<&str> = m.classes.iter().map(|c| c.name.as_str()).collect();
        let _ = writeln!(
            s,
            "  output: {} over {} classes ({}), one per channel; labels by {}, threshold {}",
            m.output.kind,
            m.classes.len(),
            names.join(", "),
            m.class_rule.name(),
            m.threshold
        );
    } else {
        let _ = writeln!(
            s,
            "  output: {} channel {} ({}), threshold {}",
            m.output.kind, m.output.channel, m.output.meaning, m.threshold
        );
    }
    for (i, o) in m.outputs.iter().enumerate() {
        let _ = writeln!(s, "  file output {i}: '{}' {:?}", o.name, o.shape);
    }
    if let Some(x) = m.magnification {
        let _ = writeln!(s, "  magnification {x}x");
    }
    s
}

/// `models inspect`: the file, its IR version, producer and opsets, then each input and output
/// with its element type and shape.
pub fn inspect_text(info: &ModelInfo) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}", info.path.display());
    let opsets: Vec<String> = info
        .header
        .opsets
        .iter()
        .map(|(d, v)| format!("{d} {v}"))
        .collect();
    let _ = writeln!(
        s,
        "  IR version {}, producer '{}', opsets {}",
        info.header.ir_version,
        info.header.producer,
        opsets.join(", ")
    );
    for (what, list) in [("input ", &info.inputs), ("output", &info.outputs)] {
        for t in list {
            let _ = writeln!(s, "  {what} {:<24} {} {:?}", t.name, t.element, t.shape);
        }
    }
    s
}

/// The name `models init` gives the manifest of `model` when none is asked for: the file's stem
/// (`model` for a path without one).
pub fn default_name(model: &Path) -> String {
    model
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into())
}

/// What `models init` says once the manifest drafted from `model` is written to `output`: the
/// values `check` lists were set by default, and `--model MODEL` finds a manifest only as
/// MODEL.json beside it.
pub fn init_text(model: &Path, output: &Path, check: &[String]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "wrote {}; check these (set by default, not read from the file):",
        output.display()
    );
    for c in check {
        let _ = writeln!(s, "  {c}");
    }
    let beside = model.with_extension("json");
    if output != beside {
        let _ = writeln!(
            s,
            "(--model {} finds a manifest only as {})",
            model.display(),
            beside.display()
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::manifest::find;

    #[test]
    fn show_text_spells_out_the_manifest_file() {
        // written from models/test-refinement-2in.json by hand
        let m = find("test-refinement-2in").unwrap();
        assert_eq!(
            show_text(&m, Path::new("m.onnx")),
            "test-refinement-2in (m.onnx)\n\
             \x20 role refinement, UNTRAINED, layout Auto, 1024×1024\n\
             \x20 input 0: 3 channel(s), image\n\
             \x20 input 1: 1 channel(s), heatmap\n\
             \x20 scaling and channels: single output, minmax, rgb\n\
             \x20 output: softmax channel 1 (UNTRAINED stand-in for P(tumour) per pixel), \
             threshold 0.5\n"
        );
        // models/test-contract-patch-meanstd.json: ImageNet's mean and std, 20×
        let m = find("test-contract-patch-meanstd").unwrap();
        assert_eq!(
            contract_words(&m),
            "single output, meanstd mean [0.485, 0.456, 0.406] std [0.229, 0.224, 0.225], rgb"
        );
        assert!(show_text(&m, Path::new("x")).ends_with("  magnification 20x\n"));
    }

    #[test]
    fn init_text_names_the_manifest_place_only_when_it_is_not_beside_the_model() {
        let check = vec!["threshold: 0.5".to_string()];
        let head = "wrote m/a.json; check these (set by default, not read from the file):\n  \
                    threshold: 0.5\n";
        assert_eq!(
            init_text(Path::new("m/a.onnx"), Path::new("m/a.json"), &check),
            head
        );
        assert_eq!(
            init_text(Path::new("n/a.onnx"), Path::new("m/a.json"), &check),
            format!("{head}(--model n/a.onnx finds a manifest only as n/a.json)\n")
        );
        assert_eq!(default_name(Path::new("dir/net.v2.onnx")), "net.v2");
        assert_eq!(default_name(Path::new("")), "model");
    }
}

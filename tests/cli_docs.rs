//! `h2g completions` and `h2g man`: generated from the command-line definitions, checked against
//! what `--help` prints and by the shell that will load them.

mod common;

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_h2g");

fn out(args: &[&str]) -> String {
    let o = Command::new(BIN).args(args).output().unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// The subcommands `h2g --help` lists.
fn subcommands() -> Vec<String> {
    let help = out(&["--help"]);
    let list = help.split("Commands:").nth(1).unwrap();
    let list = list.split("Options:").next().unwrap();
    list.lines()
        .filter_map(|l| l.strip_prefix("  "))
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| *n != "help")
        .map(String::from)
        .collect()
}

/// The long options `h2g SUB --help` shows.
fn long_flags(sub: &str) -> Vec<String> {
    out(&[sub, "--help"])
        .split_whitespace()
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(|w| {
            w.trim_end_matches([',', '.', ')', ';', ':'])
                .split(['=', '<', '[', '\''])
                .next()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[test]
fn man_pages_cover_every_subcommand_and_option() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(BIN)
        .args(["man", "-o"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let subs = subcommands();
    assert!(subs.len() >= 17, "{subs:?}");
    let top = std::fs::read_to_string(dir.path().join("h2g.1")).unwrap();
    assert!(top.starts_with(".ie") || top.contains(".TH"), "not roff");
    for sub in &subs {
        let page = std::fs::read_to_string(dir.path().join(format!("h2g-{sub}.1")))
            .unwrap_or_else(|e| panic!("h2g-{sub}.1: {e}"));
        assert!(page.contains(".TH"), "h2g-{sub}.1 has no title");
        // roff escapes the hyphens of options as \-
        let page = page.replace("\\-", "-");
        for flag in long_flags(sub) {
            assert!(page.contains(&flag), "h2g-{sub}.1 lacks {flag}");
        }
    }
    // no page for a subcommand that does not exist
    let pages = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(pages, subs.len() + 1);
}

#[test]
fn bash_completion_parses_and_names_every_subcommand() {
    let script = out(&["completions", "bash"]);
    for sub in subcommands() {
        assert!(script.contains(&sub), "bash completion lacks {sub}");
    }
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), &script).unwrap();
    let o = Command::new("bash")
        .arg("-n")
        .arg(f.path())
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    // completing `h2g ev` in bash offers evaluate
    let probe = format!(
        "source {}; COMP_WORDS=(h2g ev); COMP_CWORD=1; _h2g h2g ev h2g; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        f.path().display()
    );
    let o = Command::new("bash").args(["-c", &probe]).output().unwrap();
    let offered = String::from_utf8_lossy(&o.stdout);
    assert_eq!(offered.trim(), "evaluate", "{offered}");
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        assert!(out(&["completions", shell]).contains("evaluate"), "{shell}");
    }
}

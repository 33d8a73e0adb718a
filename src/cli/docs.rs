//! `h2g completions SHELL` and `h2g man -o DIR`: shell completions and man pages generated from
//! the command-line definitions themselves, so they never drift from `--help`.

use super::out::noteln;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::CommandFactory;

#[derive(Debug, clap::Args)]
pub struct CompletionArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Folder for h2g.1 and one h2g-SUBCOMMAND.1 per subcommand (created if missing).
    #[arg(short, long)]
    output: PathBuf,
}

pub fn completions(a: CompletionArgs) -> anyhow::Result<ExitCode> {
    let mut cmd = super::Cli::command();
    // into memory first: clap_complete panics when its writer fails
    let mut script = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "h2g", &mut script);
    super::out::out_bytes(&script)?;
    Ok(ExitCode::SUCCESS)
}

pub fn man(a: ManArgs) -> anyhow::Result<ExitCode> {
    h2g::naming::create_output_dir(&a.output)?;
    let cmd = super::Cli::command();
    let mut pages = vec![("h2g".to_string(), cmd.clone())];
    for sub in cmd.get_subcommands() {
        let name = format!("h2g-{}", sub.get_name());
        // the page's own name and version, as `man` shows them
        let sub = sub
            .clone()
            .name(name.clone())
            .version(env!("CARGO_PKG_VERSION"));
        pages.push((name, sub));
    }
    for (name, page) in &pages {
        let path = a.output.join(format!("{name}.1"));
        h2g::output::write_file(&path, |w| clap_mangen::Man::new(page.clone()).render(w))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    noteln!("{} man pages → {}", pages.len(), a.output.display());
    Ok(ExitCode::SUCCESS)
}

//! Writes the seed corpus (`corpus-seed/<target>/`) from the project's encoders.
//! Usage: `cargo run -p sssd-fuzz --bin fuzz-seeds [DIR]` (default: the committed folder).

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(sssd_fuzz::seeds::corpus_dir);
    match sssd_fuzz::seeds::write_all(&dir) {
        Ok(n) => {
            println!("wrote {n} seeds under {}", dir.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("fuzz-seeds: writing under {}: {e}", dir.display());
            ExitCode::FAILURE
        }
    }
}

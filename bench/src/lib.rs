//! Benchmarks of the identity and authentication paths, run side by side against our daemon
//! and Debian's sssd. This library holds what the bench drivers share: finding the loop
//! binaries, reading the command line and the loops' output (Debian's unpacked sssd is
//! [`sssd_tests::interop::debian_root`]).

pub mod mc;
pub mod nss;

use anyhow::{Context, Result, bail};
use sssd_tests::stage;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Figures of one implementation, by name.
pub type Figures = BTreeMap<&'static str, f64>;

/// The release build of the loop binary `name` (`nss_loop`, `mc_loop`, `pam_loop`).
pub fn loop_binary(name: &str) -> Result<PathBuf> {
    let p = stage::artifacts_dir().join(name);
    if !p.exists() {
        bail!(
            "{} missing: cargo build --release -p sssd-bench",
            p.display()
        );
    }
    Ok(p)
}

/// The word after `option` on the command line (`--seconds 5` → `5`).
pub fn option_value<'a>(args: &'a [String], option: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == option)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

/// The number after `key=` in a loop's `key=value ...` output line.
pub fn field(line: &str, key: &str) -> Result<f64> {
    for kv in line.split_whitespace() {
        if let Some(v) = kv.strip_prefix(key).and_then(|r| r.strip_prefix('=')) {
            return v.parse().with_context(|| format!("bad {key} in {line:?}"));
        }
    }
    bail!("no {key} in {line:?}")
}

/// The median of `values` (the mean of the middle two for an even count); NaN when empty.
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match (v.get(n / 2), n.checked_sub(1).and_then(|m| v.get(m / 2))) {
        (Some(hi), Some(lo)) if n.is_multiple_of(2) => (hi + lo) / 2.0,
        (Some(mid), _) => *mid,
        _ => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[7.0]), 7.0);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn field_reads_the_named_value_only() {
        let line = "auths=10 failures=0 auths_per_s=12.5 last_status=0";
        assert_eq!(field(line, "auths_per_s").ok(), Some(12.5));
        assert_eq!(field(line, "auths").ok(), Some(10.0));
        assert!(field(line, "auths_per").is_err());
        assert!(field("us=x", "us").is_err());
    }

    #[test]
    fn option_value_takes_the_next_word() {
        let args: Vec<String> = ["b", "--seconds", "3"].map(String::from).to_vec();
        assert_eq!(option_value(&args, "--seconds"), Some("3"));
        assert_eq!(option_value(&args, "--other"), None);
    }
}

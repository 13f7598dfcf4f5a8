//! Authenticates once through libpam and prints the PAM environment afterwards, which
//! pamtester cannot show (e.g. the `KRB5CCNAME` that pam_sss sets with `pam_putenv`).
//!
//! ```text
//! pam-env SERVICE USER        (the password is the first line of stdin)
//! ```
//! Output: `status=<pam_authenticate result>`, then one `NAME=VALUE` line per PAM
//! environment variable. Exit code 0 when the transaction ran, 2 on bad usage or when
//! `pam_start` fails.

use std::ffi::CString;
use std::io::BufRead;

use anyhow::{Context, Result, bail};
use sssd_tests::pam_app::PamTransaction;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, service, user] = args.as_slice() else {
        eprintln!("usage: pam-env SERVICE USER (password on stdin)");
        std::process::exit(2);
    };
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = CString::new(line.trim_end_matches('\n')).context("password has a NUL")?;
    let service = CString::new(service.as_str())?;
    let user = CString::new(user.as_str())?;
    let mut tx = match PamTransaction::start(&service, &user, &password) {
        Ok(tx) => tx,
        Err(rc) => bail!("pam_start failed: {rc}"),
    };
    let status = tx.authenticate();
    println!("status={status}");
    for var in tx.env() {
        println!("{var}");
    }
    Ok(())
}

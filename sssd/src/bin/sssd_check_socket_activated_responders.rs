//! `sssd_check_socket_activated_responders -r NAME`: run by the socket units
//! (`ExecStartPre=`) before systemd listens for a responder. Fails (status 1) when `NAME`
//! is also in `[sssd] services`, where the monitor starts it itself and the two would
//! compete for the socket; succeeds without a `services` line, as SSSD's helper does.

use sssd::args::Args;
use sssd::config::Config;

fn usage() -> ! {
    eprintln!("Usage: sssd_check_socket_activated_responders -r|--responders NAME");
    std::process::exit(1);
}

fn main() {
    let mut args = Args::new(std::env::args().skip(1));
    let mut responder = None;
    while let Some(opt) = args.next_option() {
        match opt.as_str() {
            "-r" | "--responders" => match args.value() {
                Ok(v) => responder = Some(v),
                Err(e) => {
                    eprintln!("{e}");
                    usage();
                }
            },
            "-h" | "--help" | "-?" => usage(),
            _ => {
                eprintln!("{}", args.unknown());
                usage();
            }
        }
    }
    let Some(responder) = responder.filter(|r| !r.is_empty()) else {
        usage();
    };
    let paths = sssd::service::paths_from_env();
    let file = paths.config_file.clone();
    let cfg = match Config::load(&file, Some(&paths.config_snippets)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("Failed to read configuration: {}: {e}", file.display());
            std::process::exit(1);
        }
    };
    if cfg.services().contains(&responder) {
        let f = file.display();
        eprintln!(
            "Misconfiguration found for the {responder} responder.\n\
             The {responder} responder has been configured to be socket-activated but it's \
             still mentioned in the services' line in {f}.\n\
             Please, consider either adjusting your services' line in {f} or disabling the \
             {responder}'s socket by calling:\n\
             \"systemctl disable sssd-{responder}.socket\""
        );
        std::process::exit(1);
    }
}

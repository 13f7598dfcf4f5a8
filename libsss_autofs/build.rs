fn main() {
    // Exported: exactly the five `_sss_*` functions of SSSD's sss_autofs.exports (rustc's
    // own version script keeps everything else local). They carry no symbol version:
    // rustc's script binds them to the base version, and autofs resolves them by plain
    // name with dlsym.
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libsss_autofs.so");
}

//! Links MIT libkrb5 (libkrb5-dev).
fn main() {
    println!("cargo:rustc-link-lib=krb5");
    println!("cargo:rustc-link-lib=k5crypto");
    println!("cargo:rustc-link-lib=com_err");
}

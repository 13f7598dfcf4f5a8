fn main() {
    println!("cargo:rustc-link-lib=pam");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,pam_sss.so");
}

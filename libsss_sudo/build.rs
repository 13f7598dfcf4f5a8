fn main() {
    // sudo dlopens "<libdir>/libsss_sudo.so" by that exact name, as SSSD ships it.
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libsss_sudo.so");
}

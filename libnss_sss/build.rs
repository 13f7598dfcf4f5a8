fn main() {
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libnss_sss.so.2");
}

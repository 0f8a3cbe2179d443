//! Build script: lets host binaries and tests find the prebuilt libduckdb at run time.
//!
//! `libduckdb-sys` links against `$DUCKDB_LIB_DIR/libduckdb.so` (set in .cargo/config.toml to
//! the npm package that ships it). An rpath to that folder means `cargo test`, `cargo leptos`
//! and `target/*/omnikpi` run without LD_LIBRARY_PATH. The browser (wasm) build links nothing.

fn main() {
    println!("cargo:rerun-if-env-changed=DUCKDB_LIB_DIR");
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.starts_with("wasm32") {
        return;
    }
    if let Ok(dir) = std::env::var("DUCKDB_LIB_DIR") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}

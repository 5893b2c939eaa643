//! Compiles a spec folder and prints the generated Rust, or the spec errors (for spec authors
//! and compiler debugging): `cargo run -p zoo-spec --example zoo-compile -- zoo`.

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "zoo".into());
    let root = std::path::Path::new(&dir);
    let base = root.parent().unwrap_or(root);
    match zoo_spec::compile_dir(root, base) {
        Ok(c) => print!("{}", c.rust),
        Err(errors) => {
            for e in errors {
                eprintln!("error: {e}");
            }
            std::process::exit(1);
        }
    }
}

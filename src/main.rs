fn main() {
    std::process::exit(zoo::cli::main());
}

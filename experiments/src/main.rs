fn main() { eprintln!("experiments: not implemented yet"); std::process::exit(2); }

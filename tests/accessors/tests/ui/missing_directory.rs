flags_macros::flags!("ui/flags/no_such_directory");

fn main() {
    let flags = flags::load(flags::DIR, flags::Statics {}).unwrap();
    let _ = flags.rt.status();
}

//! Generated accessors shared by this package's tests and benchmarks.
//!
//! `examples/flags` in dynamic mode and in static mode for every combination of its static
//! attributes, and `flags/awkward` (names that collide with the generated module's own) in
//! both modes. The tests live in `tests/`, the benchmarks in `benches/`.
#![forbid(unsafe_code)]

/// `examples/flags`, dynamic mode.
pub mod examples {
    flags_macros::flags!("../../examples/flags");
}

/// `examples/flags` compiled for each static combination (static mode).
pub mod examples_static {
    /// `env = "development", region = "eu"`.
    pub mod development_eu {
        flags_macros::flags!("../../examples/flags", env = "development", region = "eu");
    }
    /// `env = "development", region = "us"`.
    pub mod development_us {
        flags_macros::flags!("../../examples/flags", env = "development", region = "us");
    }
    /// `env = "staging", region = "eu"`.
    pub mod staging_eu {
        flags_macros::flags!("../../examples/flags", env = "staging", region = "eu");
    }
    /// `env = "staging", region = "us"`.
    pub mod staging_us {
        flags_macros::flags!("../../examples/flags", env = "staging", region = "us");
    }
    /// `env = "production", region = "eu"`.
    pub mod production_eu {
        flags_macros::flags!("../../examples/flags", env = "production", region = "eu");
    }
    /// `env = "production", region = "us"`.
    pub mod production_us {
        flags_macros::flags!("../../examples/flags", env = "production", region = "us");
    }
}

/// `flags/awkward`, dynamic mode.
pub mod awkward {
    flags_macros::flags!("flags/awkward");
}

/// `flags/awkward` compiled for `env = "prod", flags = "on"`.
pub mod awkward_static {
    flags_macros::flags!("flags/awkward", env = "prod", flags = "on");
}

/// `flagc generate ../../examples/flags`, checked in (`generated/`): printed code builds.
pub mod checked_in_dynamic {
    include!("../generated/examples_dynamic.rs");
}

/// `flagc generate ../../examples/flags --static env=production --static region=eu`,
/// checked in.
pub mod checked_in_production_eu {
    include!("../generated/examples_production_eu.rs");
}

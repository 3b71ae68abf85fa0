//! Generated accessors shared by this package's tests and benchmarks.
//!
//! `examples/flags` in dynamic mode and in static mode for every combination of its static
//! attributes; `flags/awkward` (names that collide with the generated module's own) and
//! `flags/patterns` (`matches` patterns of every shape) in both modes. The tests live in
//! `tests/`, the benchmarks in `benches/`.
#![forbid(unsafe_code)]

/// A deterministic generator for the tests' inputs, so that a failure reproduces.
pub mod rng {
    /// splitmix64: small, deterministic, good enough to pick test values.
    pub struct Rng(pub u64);

    impl Rng {
        /// The next 64 random bits.
        pub fn bits(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        /// A number below `n` (0 when `n` is 0).
        pub fn below(&mut self, n: usize) -> usize {
            (self.bits() % n.max(1) as u64) as usize
        }

        /// `true` `percent` times in a hundred.
        pub fn chance(&mut self, percent: u64) -> bool {
            self.bits() % 100 < percent
        }

        /// One of `items`, `None` if there are none.
        pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
            if items.is_empty() {
                None
            } else {
                items.get(self.below(items.len()))
            }
        }
    }
}

/// `examples/flags`, dynamic mode.
pub mod examples {
    flags_macros::flags!("../../examples/flags");
}

/// `examples/flags` for production/eu in both modes, as the benchmarks and the profiling
/// example compare them: loaded from the directory (dynamic) and compiled in (static).
pub fn production_eu() -> (
    examples::flags::Flags,
    examples_static::production_eu::flags::Flags,
) {
    use examples::flags as dynamic;
    use examples_static::production_eu::flags as compiled;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/flags");
    let live = dynamic::load(
        dir,
        dynamic::Statics {
            env: dynamic::Env::Production,
            region: dynamic::Region::Eu,
        },
    )
    .expect("examples/flags loads");
    let fixed = compiled::load(
        "",
        compiled::Statics {
            env: compiled::Env::Production,
            region: compiled::Region::Eu,
        },
    )
    .expect("the compiled-in statics");
    (live, fixed)
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

/// `flags/patterns` (one flag per `matches` pattern), dynamic mode.
pub mod patterns {
    flags_macros::flags!("flags/patterns");
}

/// `flags/patterns`, static mode: most of its patterns become native slice patterns.
pub mod patterns_static {
    flags_macros::flags!("flags/patterns", static);
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

/// A large, realistic flag directory for measuring expansion.
pub mod many_flags {
    use std::fmt::Write as _;
    use std::path::Path;

    /// The manifest: the attributes the flags test.
    pub const MANIFEST: &str = r#"format = 1

[static]
env = ["development", "staging", "production"]
region = ["eu", "us"]

[context]
user_id = "string"
email = "string"
country = "string"
plan = ["free", "pro", "enterprise"]
app_version = "semver"
account_age_days = "int"
cart_total = "float"
groups = "string[]"

[rollout]
by = "user_id"

[segments]
internal = { email = { ends_with = "@example.com" } }
"#;

    /// The flag files for `n` flags, 100 a file: bool, int, float, string and enum flags
    /// with one to three rules each (static conditions, segments, lists, comparisons,
    /// rollouts).
    pub fn files(n: usize) -> Vec<(String, String)> {
        let mut files = Vec::new();
        let mut text = String::new();
        for i in 0..n {
            let key = format!("flag_{i:04}");
            let head = format!(
                "[{key}]\ndescription = \"Flag number {i}\"\nowner = \"team-{}\"\nexpires = 2099-01-01\n",
                i % 7
            );
            text.push_str(&head);
            let body = match i % 5 {
                0 => format!(
                    "default = false\n\n[[{key}.rules]]\nwhen = {{ env = \"development\" }}\nvalue = true\n\n\
                     [[{key}.rules]]\nwhen = {{ segment = \"internal\" }}\nvalue = true\n\n\
                     [[{key}.rules]]\nwhen = {{ env = \"production\", country = [\"US\", \"CA\"] }}\nrollout = {}\n",
                    i % 100
                ),
                1 => format!(
                    "default = {i}\n\n[[{key}.rules]]\nwhen = {{ plan = \"enterprise\" }}\nvalue = {}\n",
                    i * 2
                ),
                2 => format!(
                    "default = 0.5\n\n[[{key}.rules]]\nwhen = {{ cart_total = {{ gte = {i}.5 }}, account_age_days = {{ lt = 30 }} }}\nvalue = 0.25\n"
                ),
                3 => format!(
                    "default = \"v{i}\"\n\n[[{key}.rules]]\nwhen = {{ region = \"eu\", groups = \"beta\" }}\nvalue = \"beta-{i}\"\n"
                ),
                _ => format!(
                    "variants = [\"a\", \"b\", \"c\"]\ndefault = \"a\"\n\n[[{key}.rules]]\n\
                     when = {{ app_version = {{ gte = \"{}.0.0\" }} }}\nrollout = {{ a = 20, b = 30, c = 50 }}\n",
                    i % 9
                ),
            };
            text.push_str(&body);
            text.push('\n');
            if i % 100 == 99 || i + 1 == n {
                let mut name = String::new();
                let _ = write!(name, "team_{:02}.toml", i / 100);
                files.push((name, std::mem::take(&mut text)));
            }
        }
        files
    }

    /// Writes the manifest and [`files`] into `dir`.
    pub fn write(dir: &Path, n: usize) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("flagc.toml"), MANIFEST)?;
        for (name, text) in files(n) {
            std::fs::write(dir.join(name), text)?;
        }
        Ok(())
    }
}

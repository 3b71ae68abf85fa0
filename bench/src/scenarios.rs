//! The scenarios, the contexts they are evaluated with, and what an answer is.

/// How a scenario's answers are compared across engines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Every engine must give flagc's value for every context.
    Exact,
    /// Every engine must split a sample of ids within one percentage point of the shares
    /// (each engine hashes differently, so individual ids land differently).
    Rollout,
    /// The flag does not exist in any engine.
    Unknown,
}

/// One evaluation scenario: a flag of `bench/flags` (or a key that is in no engine).
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    /// The criterion group name.
    pub name: &'static str,
    /// The flag key.
    pub key: &'static str,
    /// How answers are compared.
    pub kind: Kind,
    /// For rollouts: each variant's intended share in percent (for bool flags, `true` then
    /// `false`).
    pub shares: &'static [(&'static str, f64)],
}

/// Every evaluation scenario, in the order of the report.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "no_rules",
        key: "no_rules",
        kind: Kind::Exact,
        shares: &[],
    },
    Scenario {
        name: "user_in_list_of_100",
        key: "user_in_list",
        kind: Kind::Exact,
        shares: &[],
    },
    Scenario {
        name: "two_conditions",
        key: "two_conditions",
        kind: Kind::Exact,
        shares: &[],
    },
    Scenario {
        name: "starts_with",
        key: "starts_with",
        kind: Kind::Exact,
        shares: &[],
    },
    Scenario {
        name: "semver_gt",
        key: "semver_gt",
        kind: Kind::Exact,
        shares: &[],
    },
    Scenario {
        name: "rollout_50_percent",
        key: "rollout_50",
        kind: Kind::Rollout,
        shares: &[("true", 50.0), ("false", 50.0)],
    },
    Scenario {
        name: "three_way_split",
        key: "three_way_split",
        kind: Kind::Rollout,
        shares: &[("classic", 34.0), ("one_page", 33.0), ("wizard", 33.0)],
    },
    Scenario {
        name: "unknown_flag",
        key: "no_such_flag",
        kind: Kind::Unknown,
        shares: &[],
    },
];

/// A flag's answer, in terms every engine can be compared in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A bool flag's value.
    Bool(bool),
    /// An enum flag's variant (a string flag's value in the peers' terms).
    Variant(String),
    /// The engine has no such flag (the application's fallback applies).
    NotFound,
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Answer::Bool(b) => write!(f, "{b}"),
            Answer::Variant(v) => f.write_str(v),
            Answer::NotFound => f.write_str("not found"),
        }
    }
}

/// One context, as plain values; each engine builds its own context from it (outside the
/// timed loop). `user_id` is every engine's identity: LaunchDarkly's context key, Unleash's
/// `userId`, flagd's `targetingKey`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Person {
    /// The user id (always set: LaunchDarkly needs a key).
    pub user_id: String,
    /// Email address.
    pub email: Option<String>,
    /// ISO country code.
    pub country: Option<String>,
    /// `free`, `pro` or `enterprise`.
    pub plan: Option<String>,
    /// The app's semantic version.
    pub app_version: Option<String>,
}

impl Person {
    /// A person with only a user id.
    pub fn id(user_id: impl Into<String>) -> Person {
        Person {
            user_id: user_id.into(),
            ..Person::default()
        }
    }

    /// The attributes other than the user id that are set, by manifest name.
    pub fn attributes(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("email", self.email.as_deref()),
            ("country", self.country.as_deref()),
            ("plan", self.plan.as_deref()),
            ("app_version", self.app_version.as_deref()),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
    }
}

fn person(
    user_id: &str,
    email: Option<&str>,
    country: Option<&str>,
    plan: Option<&str>,
    app_version: Option<&str>,
) -> Person {
    Person {
        user_id: user_id.to_owned(),
        email: email.map(str::to_owned),
        country: country.map(str::to_owned),
        plan: plan.map(str::to_owned),
        app_version: app_version.map(str::to_owned),
    }
}

/// The context every scenario is timed with. It reaches every flag's rule: the id is in the
/// middle of the list of 100 (so list scans pay an average search), both conditions hold,
/// the email starts with `test+`, the version is above 3.2.0.
pub fn bench_person() -> Person {
    person(
        "user-00100",
        Some("test+ana@example.com"),
        Some("US"),
        Some("pro"),
        Some("4.1.0"),
    )
}

/// The contexts the agreement check evaluates every non-rollout scenario with: the bench
/// context, and others that miss each rule in a different way (unset attributes, the first
/// condition holding but not the second, semver ordering that string ordering gets wrong,
/// pre-releases).
pub fn agreement_people() -> Vec<Person> {
    vec![
        bench_person(),
        person(
            "user-00101",
            Some("ana@example.com"),
            Some("DE"),
            Some("free"),
            Some("3.2.0"),
        ),
        person(
            "user-00000",
            Some("test@example.com"),
            Some("CA"),
            Some("enterprise"),
            Some("3.2.1"),
        ),
        person("user-00198", None, Some("US"), Some("free"), Some("3.10.0")),
        person(
            "user-00199",
            Some("test+bo@example.com"),
            None,
            Some("pro"),
            Some("3.2.1-beta.1"),
        ),
        person(
            "user-00050",
            Some("Test+cy@example.com"),
            Some("MX"),
            None,
            Some("3.1.9"),
        ),
        person("user-00200", None, None, None, None),
        person("u", Some("test+"), Some("CA"), Some("pro"), Some("10.0.0")),
    ]
}

/// Number of ids each engine's rollouts are sampled with.
pub const ROLLOUT_SAMPLE: usize = 100_000;

/// The `i`th id of the rollout sample.
pub fn sample_id(i: usize) -> String {
    format!("user-{i:06}")
}

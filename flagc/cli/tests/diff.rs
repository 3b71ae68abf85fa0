//! `flagc diff REV [DIR]` end to end, on real git repositories built in temporary
//! directories: each test commits a starting point, commits (or leaves in the working tree) a
//! change, runs the binary and asserts the JSON it prints, field by field. The Markdown (the
//! pull-request comment) is snapshot-tested.
//!
//! Needs `git` on `PATH`. No global or system git configuration is read: every git command,
//! the ones flagc runs included, gets `GIT_CONFIG_NOSYSTEM=1` and `GIT_CONFIG_GLOBAL=/dev/null`,
//! and the repository's own `user.name`/`user.email`. Commit dates are fixed, so hashes are
//! too.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// A git repository in a temporary directory.
struct Repo {
    tmp: tempfile::TempDir,
}

fn isolate(c: &mut Command) -> &mut Command {
    c.env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_DATE", "2026-01-01T12:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-01-01T12:00:00Z")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("CLICOLOR_FORCE")
        .env("NO_COLOR", "1")
}

impl Repo {
    fn new() -> Repo {
        let tmp = tempfile::tempdir().expect("temp dir");
        let repo = Repo { tmp };
        repo.git(&["init", "-q", "-b", "main"]);
        repo.git(&["config", "user.name", "Flag Tester"]);
        repo.git(&["config", "user.email", "tester@example.invalid"]);
        repo.git(&["config", "commit.gpgsign", "false"]);
        repo
    }

    fn path(&self) -> &Path {
        self.tmp.path()
    }

    fn git(&self, args: &[&str]) -> String {
        let out = isolate(&mut Command::new("git"))
            .args(args)
            .current_dir(self.path())
            .output()
            .expect("`git` must be installed to run these tests");
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    fn write(&self, path: &str, text: &str) -> &Self {
        let p = self.path().join(path);
        fs::create_dir_all(p.parent().expect("a parent")).expect("mkdir");
        fs::write(p, text).expect("write");
        self
    }

    fn remove(&self, path: &str) -> &Self {
        fs::remove_file(self.path().join(path)).expect("remove");
        self
    }

    fn commit(&self, message: &str) -> &Self {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self
    }

    fn flagc(&self, args: &[&str]) -> Output {
        self.flagc_in(self.path().to_path_buf(), args)
    }

    fn flagc_in(&self, cwd: PathBuf, args: &[&str]) -> Output {
        isolate(&mut Command::new(env!("CARGO_BIN_EXE_flagc")))
            .args(args)
            .current_dir(cwd)
            .output()
            .expect("the flagc binary runs")
    }

    /// `flagc diff REV --format json`, which must succeed, parsed.
    fn diff_json(&self, rev: &str) -> Value {
        let out = self.flagc(&["diff", rev, "--format", "json"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "stdout:\n{}\nstderr:\n{}",
            stdout(&out),
            stderr(&out)
        );
        serde_json::from_str(&stdout(&out)).expect("one JSON value")
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("stderr is UTF-8")
}

/// The flag with `key` in a diff's JSON.
fn flag<'a>(diff: &'a Value, key: &str) -> &'a Value {
    diff["flags"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["key"] == key))
        .unwrap_or_else(|| panic!("no flag `{key}` in {diff:#}"))
}

/// The effect group labelled `label` of a flag.
fn effect<'a>(flag: &'a Value, label: &str) -> &'a Value {
    flag["effects"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["label"] == label))
        .unwrap_or_else(|| panic!("no effect `{label}` in {flag:#}"))
}

fn texts(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|a| {
            a.iter()
                .map(|x| x["text"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

const MANIFEST: &str = r#"format = 1

[static]
env = ["development", "staging", "production"]

[context]
user_id = "string"
email = "string"
country = "string"
plan = ["free", "pro"]

[rollout]
by = "user_id"

[segments]
internal = { email = { ends_with = "@example.com" } }
"#;

const CHECKOUT: &str = r#"[new_checkout]
description = "One-page checkout"
owner = "payments"
expires = 2027-03-01
default = false

[[new_checkout.rules]]
id = "dev"
when = { env = "development" }
value = true

[[new_checkout.rules]]
id = "staff"
when = { segment = "internal" }
value = true

[[new_checkout.rules]]
id = "na"
when = { env = "production", country = ["US", "CA"] }
rollout = 25

[express_button]
description = "Express checkout button"
owner = "payments"
expires = 2027-06-30
default = false

[[express_button.rules]]
when = { env = "production" }
rollout = 10

[legacy_cart]
description = "The old cart"
owner = "cart"
expires = 2026-12-31
default = true

[page_size]
description = "Results per page"
owner = "search"
permanent = true
default = 20

[[page_size.rules]]
when = { plan = "pro" }
value = 50
"#;

/// A repository whose `main` has the manifest and `checkout.toml`.
fn base() -> Repo {
    let repo = Repo::new();
    repo.write("flags/flagc.toml", MANIFEST)
        .write("flags/checkout.toml", CHECKOUT)
        .commit("flags");
    repo
}

#[test]
fn rollout_increase_is_stated_per_static_combination() {
    let repo = base();
    repo.write(
        "flags/checkout.toml",
        &CHECKOUT.replace("rollout = 25", "rollout = 50"),
    )
    .commit("ramp up");
    let d = repo.diff_json("HEAD~1");
    assert_eq!(d["format"], 1);
    assert_eq!(d["dir"], "flags");
    assert_eq!(d["base"]["rev"], "HEAD~1");
    assert_eq!(d["base"]["has_flags"], true);
    assert_eq!(
        d["base"]["commit"].as_str().map(str::len),
        Some(40),
        "a full hash"
    );
    assert_eq!(d["summary"]["changed"], 1);
    assert_eq!(d["summary"]["unchanged"], 3);
    assert_eq!(d["summary"]["differences"], true);
    assert_eq!(d["summary"]["risks"], 0, "an increase moves nobody out");

    let f = flag(&d, "new_checkout");
    assert_eq!(f["change"], "changed");
    assert_eq!(f["file"], "checkout.toml");
    assert_eq!(f["line"], 1);
    assert_eq!(f["owner"], "payments");
    assert_eq!(f["rules"][0]["change"], "changed");
    assert_eq!(f["rules"][0]["rule"], "rule `na`");
    assert_eq!(
        f["rules"][0]["before"]["outcome"],
        serde_json::json!({"rollout": {"true": 25.0, "false": 75.0}, "by": "user_id"})
    );
    assert_eq!(f["rules"][0]["after"]["outcome"]["rollout"]["true"], 50.0);

    // Only production changes: development is decided by `dev`, staging has no rollout.
    let effects = f["effects"].as_array().expect("effects");
    assert_eq!(effects.len(), 1, "{effects:#?}");
    let e = effect(f, "production");
    assert_eq!(e["statics"], serde_json::json!([{"env": "production"}]));
    let c = &e["changes"][0];
    assert_eq!(c["kind"], "rollout");
    assert_eq!(c["rule"], "rule `na`");
    assert_eq!(c["when"], "country in [US, CA]");
    assert_eq!(
        c["moved"],
        serde_json::json!([{"from": "false", "to": "true", "percent": 25.0}])
    );
    assert_eq!(c["reshuffled"], false);
    assert_eq!(
        c["text"],
        "25 % → 50 % of users matching country in [US, CA] (25 % of them move from false to true)"
    );
}

#[test]
fn a_lower_percentage_is_a_risk() {
    let repo = base();
    repo.write(
        "flags/checkout.toml",
        &CHECKOUT.replace("rollout = 10", "rollout = 2.5"),
    );
    let d = repo.diff_json("main");
    let f = flag(&d, "express_button");
    let c = &effect(f, "production")["changes"][0];
    assert_eq!(
        c["text"],
        "10 % → 2.5 % of users (7.5 % of them move from true to false)"
    );
    assert_eq!(f["risks"][0]["level"], "warning");
    assert_eq!(f["risks"][0]["kind"], "users_move_out");
    assert_eq!(
        f["risks"][0]["text"],
        "production, rule #1: 7.5 % of users move from true to false"
    );
    assert_eq!(d["summary"]["risks"], 1);
}

#[test]
fn reordered_rules_are_moves_and_change_precedence() {
    let repo = base();
    let reordered = CHECKOUT.replace(
        "[[new_checkout.rules]]\nid = \"dev\"\nwhen = { env = \"development\" }\nvalue = true\n\n\
         [[new_checkout.rules]]\nid = \"staff\"\nwhen = { segment = \"internal\" }\nvalue = true\n",
        "[[new_checkout.rules]]\nid = \"staff\"\nwhen = { segment = \"internal\" }\nvalue = false\n\n\
         [[new_checkout.rules]]\nid = \"dev\"\nwhen = { env = \"development\" }\nvalue = true\n",
    );
    assert_ne!(reordered, CHECKOUT);
    repo.write("flags/checkout.toml", &reordered)
        .commit("staff see the old checkout, first");
    let d = repo.diff_json("HEAD~1");
    let f = flag(&d, "new_checkout");
    let rules = &f["rules"];
    assert_eq!(rules.as_array().map(Vec::len), Some(1), "{rules:#}");
    assert_eq!(rules[0]["change"], "changed");
    assert_eq!(rules[0]["rule"], "rule `staff`");
    assert_eq!(rules[0]["before"]["position"], 2);
    assert_eq!(rules[0]["after"]["position"], 1);
    assert_eq!(
        rules[0]["text"],
        "rule `staff`: true → false; moved #2 → #1"
    );

    // In development `dev` used to decide for everyone; now staff are decided first.
    let dev = effect(f, "development");
    assert_eq!(dev["changes"][0]["kind"], "added");
    assert_eq!(
        dev["changes"][0]["text"],
        "now: users matching segment internal get false"
    );
    let rest = effect(f, "staging, production");
    assert_eq!(rest["changes"][0]["kind"], "value");
    assert_eq!(
        rest["changes"][0]["text"],
        "users matching segment internal: true → false"
    );
}

#[test]
fn a_pure_reorder_is_a_move_with_its_precedence_effect() {
    let repo = Repo::new();
    let flags = |first: &str, second: &str| {
        format!(
            "[banner]\ndescription = \"Banner\"\nowner = \"web\"\nexpires = 2027-01-01\ndefault = \"none\"\n\n{first}\n{second}"
        )
    };
    let by_country = "[[banner.rules]]\nwhen = { country = \"DE\" }\nvalue = \"de\"\n";
    let staff = "[[banner.rules]]\nwhen = { segment = \"internal\" }\nvalue = \"staff\"\n";
    repo.write("flags/flagc.toml", MANIFEST)
        .write("flags/web.toml", &flags(by_country, staff))
        .commit("banner");
    repo.write("flags/web.toml", &flags(staff, by_country))
        .commit("staff first");
    let d = repo.diff_json("HEAD~1");
    let f = flag(&d, "banner");
    assert_eq!(f["rules"][0]["change"], "moved");
    assert_eq!(f["rules"][0]["text"], "rule #1: moved #2 → #1");
    let c = &effect(f, "everywhere")["changes"][0];
    assert_eq!(c["kind"], "reordered");
    assert_eq!(
        c["text"],
        "users matching segment internal (\"staff\"): now decided before users matching country = DE (\"de\")"
    );
}

#[test]
fn rename_with_salt_keeps_buckets_and_without_it_reshuffles() {
    let repo = base();
    let renamed = CHECKOUT
        .replace(
            "[express_button]\n",
            "[express_pay]\nsalt = \"express_button\"\n",
        )
        .replace("[[express_button.rules]]", "[[express_pay.rules]]");
    repo.write("flags/checkout.toml", &renamed)
        .commit("rename, keeping buckets");
    let d = repo.diff_json("HEAD~1");
    assert_eq!(d["summary"]["renamed"], 1);
    assert_eq!(d["summary"]["added"], 0);
    assert_eq!(d["summary"]["removed"], 0);
    let f = flag(&d, "express_pay");
    assert_eq!(f["change"], "renamed");
    assert_eq!(f["renamed_from"], "express_button");
    assert_eq!(f["buckets_preserved"], true);
    assert_eq!(
        f["fields"],
        serde_json::json!([]),
        "the salt is the old key either way"
    );
    assert_eq!(f["effects"], serde_json::json!([]), "nobody moves");
    let kinds: Vec<&str> = f["risks"]
        .as_array()
        .map(|r| r.iter().filter_map(|r| r["kind"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(kinds, ["flag_renamed"]);

    // The same rename without the salt: recognised by its definition, but users move.
    let unsalted = CHECKOUT
        .replace("[express_button]\n", "[express_pay]\n")
        .replace("[[express_button.rules]]", "[[express_pay.rules]]");
    repo.write("flags/checkout.toml", &unsalted);
    let d = repo.diff_json("HEAD~1");
    let f = flag(&d, "express_pay");
    assert_eq!(f["change"], "renamed");
    assert_eq!(f["buckets_preserved"], false);
    let kinds: Vec<&str> = f["risks"]
        .as_array()
        .map(|r| r.iter().filter_map(|r| r["kind"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(kinds, ["flag_renamed", "rename_rebuckets"]);
    let c = &effect(f, "production")["changes"];
    assert_eq!(c[0]["kind"], "rebucket");
}

#[test]
fn removed_added_and_changed_flags_with_their_risks() {
    let repo = base();
    let changed = CHECKOUT
        .replace(
            "[legacy_cart]\ndescription = \"The old cart\"\nowner = \"cart\"\nexpires = 2026-12-31\ndefault = true\n",
            "",
        )
        .replace("owner = \"search\"", "owner = \"discovery\"")
        .replace("default = 20", "default = 25")
        + "\n[gift_wrap]\ndescription = \"Offer gift wrapping\"\nowner = \"cart\"\nexpires = 2027-12-31\ndefault = false\n\n\
           [[gift_wrap.rules]]\nwhen = { env = [\"development\", \"staging\"] }\nvalue = true\n";
    repo.write("flags/checkout.toml", &changed)
        .commit("cleanup");

    let d = repo.diff_json("HEAD~1");
    assert_eq!(d["summary"]["added"], 1);
    assert_eq!(d["summary"]["removed"], 1);
    assert_eq!(d["summary"]["changed"], 1);
    assert_eq!(d["summary"]["breaking"], 1);
    let keys: Vec<&str> = d["flags"]
        .as_array()
        .map(|f| f.iter().filter_map(|f| f["key"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(keys, ["gift_wrap", "legacy_cart", "page_size"], "by key");

    let removed = flag(&d, "legacy_cart");
    assert_eq!(removed["change"], "removed");
    assert_eq!(removed["file"], Value::Null);
    assert_eq!(removed["before_file"], "checkout.toml");
    assert_eq!(removed["risks"][0]["level"], "breaking");
    assert_eq!(removed["risks"][0]["kind"], "flag_removed");
    assert_eq!(
        texts(&effect(removed, "everywhere")["changes"]),
        ["was always true"]
    );

    let added = flag(&d, "gift_wrap");
    assert_eq!(added["change"], "added");
    assert_eq!(added["description"], "Offer gift wrapping");
    assert_eq!(added["expires"], "2027-12-31");
    assert_eq!(
        texts(&effect(added, "development, staging")["changes"]),
        ["always true"]
    );
    assert_eq!(
        texts(&effect(added, "production")["changes"]),
        ["always false"]
    );

    let changed = flag(&d, "page_size");
    let fields: Vec<&str> = changed["fields"]
        .as_array()
        .map(|f| f.iter().filter_map(|f| f["field"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(fields, ["owner", "default"]);
    assert_eq!(changed["fields"][0]["text"], "owner: search → discovery");
    assert_eq!(changed["fields"][1]["before"], 20);
    assert_eq!(changed["fields"][1]["after"], 25);
    assert_eq!(
        texts(&effect(changed, "everywhere")["changes"]),
        ["everyone else: 20 → 25"]
    );
}

#[test]
fn type_change_and_changed_salt_are_risks() {
    let repo = base();
    let changed = CHECKOUT
        .replace(
            "[express_button]\n",
            "[express_button]\nsalt = \"express-v2\"\n",
        )
        .replace("default = true\n", "default = \"on\"\n");
    repo.write("flags/checkout.toml", &changed);
    let d = repo.diff_json("main");
    let salted = flag(&d, "express_button");
    assert_eq!(salted["risks"][0]["kind"], "salt_changed");
    assert_eq!(salted["risks"][0]["level"], "rebucket");
    let typed = flag(&d, "legacy_cart");
    assert_eq!(typed["risks"][0]["kind"], "type_changed");
    assert_eq!(typed["risks"][0]["level"], "breaking");
    assert_eq!(
        texts(&effect(typed, "everywhere")["changes"]),
        ["always true → always \"on\""]
    );
}

#[test]
fn manifest_changes_and_flags_changed_through_a_segment() {
    let repo = base();
    let manifest = MANIFEST
        .replace(
            "env = [\"development\", \"staging\", \"production\"]",
            "env = [\"development\", \"production\"]",
        )
        .replace(
            "plan = [\"free\", \"pro\"]",
            "plan = [\"free\", \"pro\", \"team\"]\nemployee = \"bool\"",
        )
        .replace(
            "internal = { email = { ends_with = \"@example.com\" } }",
            "internal = { email = { ends_with = \"@example.com\" }, employee = true }",
        );
    repo.write("flags/flagc.toml", &manifest)
        .commit("staff only, no staging");
    let d = repo.diff_json("HEAD~1");
    let kinds: Vec<&str> = d["manifest"]
        .as_array()
        .map(|m| m.iter().filter_map(|m| m["kind"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(kinds, ["static_values", "context_type", "context_added"]);
    assert_eq!(d["manifest"][0]["text"], "static `env`: removed staging");
    assert_eq!(d["manifest"][0]["risk"]["kind"], "static_value_removed");
    assert_eq!(
        d["manifest"][1]["risk"],
        Value::Null,
        "adding an enum value breaks nothing"
    );

    let seg = &d["segments"][0];
    assert_eq!(seg["name"], "internal");
    assert_eq!(seg["change"], "changed");
    assert_eq!(seg["before"], "email ends with \"@example.com\"");
    assert_eq!(
        seg["after"],
        "email ends with \"@example.com\" and employee = true"
    );
    assert_eq!(seg["flags"], serde_json::json!(["new_checkout"]));

    let f = flag(&d, "new_checkout");
    assert_eq!(f["change"], "changed");
    assert_eq!(f["segments"], serde_json::json!(["internal"]));
    assert_eq!(
        f["rules"],
        serde_json::json!([]),
        "its own rules did not change"
    );
    let c = &effect(f, "production")["changes"][0];
    assert_eq!(c["kind"], "segment");
    assert_eq!(
        c["text"],
        "users matching segment internal get true; `internal` now means email ends with \
         \"@example.com\" and employee = true (was: email ends with \"@example.com\")"
    );
    // Staging is gone: what the flag did there is described as before-only.
    let gone = effect(f, "staging");
    assert_eq!(gone["changes"][0]["after"], Value::Null);
}

#[test]
fn a_revision_without_flags_shows_everything_added() {
    let repo = Repo::new();
    repo.write("README.md", "hello\n").commit("first");
    repo.write("flags/flagc.toml", MANIFEST)
        .write("flags/checkout.toml", CHECKOUT)
        // The directory loader's rules: dot-entries and other files are not flags.
        .write("flags/.flagc/ignored.toml", "not = [valid")
        .write("flags/notes.md", "# notes\n");
    let d = repo.diff_json("HEAD");
    assert_eq!(d["base"]["has_flags"], false);
    assert_eq!(d["summary"]["added"], 4);
    assert_eq!(d["summary"]["removed"], 0);
    let statics: Vec<&str> = d["manifest"]
        .as_array()
        .map(|m| m.iter().filter_map(|m| m["kind"].as_str()).collect())
        .unwrap_or_default();
    assert!(statics.contains(&"static_added"), "{statics:?}");
    assert_eq!(d["summary"]["breaking"], 0, "nothing existed to break");
    assert_eq!(d["segments"][0]["change"], "added");
    assert!(
        d["flags"]
            .as_array()
            .is_some_and(|f| f.iter().all(|f| f["change"] == "added"))
    );
    let f = flag(&d, "new_checkout");
    assert_eq!(
        texts(&effect(f, "production")["changes"]),
        [
            "users matching segment internal get true",
            "25 % of users matching country in [US, CA] get true (the rest false)",
            "everyone else: false"
        ]
    );
}

#[test]
fn dot_entries_and_other_files_at_the_revision_are_skipped() {
    let repo = base();
    repo.write("flags/.flagc/schema.toml", "broken = [")
        .write("flags/README.md", "not toml")
        .commit("extras");
    repo.write("flags/.flagc/schema.toml", "still = [broken");
    let d = repo.diff_json("HEAD");
    assert_eq!(d["summary"]["differences"], false);
}

#[test]
fn unknown_revision_exits_2_and_says_so() {
    let repo = base();
    let out = repo.flagc(&["diff", "no-such-branch"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).is_empty());
    let err = stderr(&out);
    assert!(
        err.starts_with("error: unknown revision `no-such-branch`"),
        "{err}"
    );
    let out = repo.flagc(&["diff", "--", "--help"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown revision `--help`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn outside_a_repository_is_an_error() {
    let tmp = tempfile::tempdir().expect("temp dir");
    fs::create_dir(tmp.path().join("flags")).expect("mkdir");
    let out = isolate(&mut Command::new(env!("CARGO_BIN_EXE_flagc")))
        .args(["diff", "main"])
        .current_dir(tmp.path())
        .env("GIT_CEILING_DIRECTORIES", tmp.path())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("is not inside a git repository"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn invalid_flags_on_either_side_exit_2_with_diagnostics() {
    let repo = base();
    repo.write("flags/broken.toml", "[oops]\ndescription = \"x\"\n")
        .commit("broken");
    repo.remove("flags/broken.toml");
    let out = repo.flagc(&["diff", "HEAD"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).is_empty());
    let err = stderr(&out);
    assert!(err.contains("HEAD:flags/broken.toml"), "{err}");
    assert!(err.contains("the flags at `HEAD` are invalid"), "{err}");

    repo.write("flags/broken.toml", "[oops]\n");
    let out = repo.flagc(&["diff", "HEAD~1"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("flags/broken.toml"), "{err}");
    assert!(
        err.contains("the flags in the working tree are invalid"),
        "{err}"
    );
}

#[test]
fn exit_code_flag_reports_differences_as_git_diff_does() {
    let repo = base();
    let same = repo.flagc(&["diff", "HEAD", "--exit-code"]);
    assert_eq!(same.status.code(), Some(0), "{}", stderr(&same));
    assert!(
        stdout(&same).contains("no flag changes"),
        "{}",
        stdout(&same)
    );

    repo.write(
        "flags/checkout.toml",
        &CHECKOUT.replace("owner = \"cart\"", "owner = \"basket\""),
    );
    assert_eq!(repo.flagc(&["diff", "HEAD"]).status.code(), Some(0));
    assert_eq!(
        repo.flagc(&["diff", "HEAD", "--exit-code"]).status.code(),
        Some(1)
    );
}

#[test]
fn moving_a_flag_between_files_is_noted_and_changes_nothing() {
    let repo = base();
    let (first, rest) = CHECKOUT.split_at(CHECKOUT.find("[express_button]").expect("there"));
    repo.write("flags/checkout.toml", first)
        .write("flags/more/express.toml", rest)
        .commit("split");
    let d = repo.diff_json("HEAD~1");
    assert_eq!(d["summary"]["changed"], 3);
    let f = flag(&d, "express_button");
    assert_eq!(f["fields"][0]["field"], "file");
    assert_eq!(f["file"], "more/express.toml");
    assert_eq!(f["line"], 1);
    assert_eq!(f["before_line"], 22);
    assert_eq!(f["effects"], serde_json::json!([]));
    assert_eq!(f["risks"], serde_json::json!([]));
}

#[test]
fn works_from_a_subdirectory_and_with_a_nested_flag_directory() {
    let repo = Repo::new();
    repo.write("services/shop/flags/flagc.toml", MANIFEST)
        .write("services/shop/flags/checkout.toml", CHECKOUT)
        .commit("shop flags");
    repo.write(
        "services/shop/flags/checkout.toml",
        &CHECKOUT.replace("rollout = 10", "rollout = 20"),
    );
    let from_root = repo.flagc(&["diff", "HEAD", "services/shop/flags", "--format", "json"]);
    assert_eq!(from_root.status.code(), Some(0), "{}", stderr(&from_root));
    let d: Value = serde_json::from_str(&stdout(&from_root)).expect("JSON");
    assert_eq!(d["dir"], "services/shop/flags");
    assert_eq!(d["summary"]["changed"], 1);

    let inside = repo.flagc_in(
        repo.path().join("services/shop"),
        &["diff", "HEAD", "--format", "json"],
    );
    assert_eq!(inside.status.code(), Some(0), "{}", stderr(&inside));
    let d2: Value = serde_json::from_str(&stdout(&inside)).expect("JSON");
    assert_eq!(d2["flags"], d["flags"]);
}

#[test]
fn markdown_comment() {
    let repo = base();
    let changed = CHECKOUT
        .replace("rollout = 25", "rollout = 50")
        .replace("rollout = 10", "rollout = 5")
        .replace(
            "[legacy_cart]\ndescription = \"The old cart\"\nowner = \"cart\"\nexpires = 2026-12-31\ndefault = true\n",
            "",
        )
        .replace("owner = \"search\"", "owner = \"discovery\"")
        + "\n[gift_wrap]\ndescription = \"Offer gift wrapping\"\nowner = \"cart\"\nexpires = 2027-12-31\ndefault = false\n\n\
           [[gift_wrap.rules]]\nwhen = { env = [\"development\", \"staging\"] }\nvalue = true\n";
    repo.write("flags/checkout.toml", &changed).commit("the PR");
    let out = repo.flagc(&["diff", "HEAD~1", "--format", "markdown"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let base = repo.git(&["rev-parse", "--short=7", "HEAD~1"]);
    let text = stdout(&out).replace(&base, "<commit>");
    insta::assert_snapshot!(text);

    let out = repo.flagc(&["diff", "HEAD~1"]);
    let text = stdout(&out).replace(&base, "<commit>");
    insta::assert_snapshot!("human", text);
}

#[test]
fn a_deleted_flag_directory_shows_everything_removed() {
    let repo = base();
    repo.git(&["tag", "v1"]);
    fs::remove_dir_all(repo.path().join("flags")).expect("rm -r flags");
    let d = repo.diff_json("v1");
    assert_eq!(d["summary"]["removed"], 4);
    assert_eq!(
        d["summary"]["breaking"], 9,
        "4 flags, 1 static and 4 context attributes"
    );
    assert!(
        d["manifest"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["kind"] == "static_removed")),
        "{:#}",
        d["manifest"]
    );

    let short = repo.git(&["rev-parse", "--short", "HEAD"]);
    let out = repo.flagc(&["diff", &short]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with(&format!("flagc diff: flags at {short} → working tree")),
        "{}",
        stdout(&out)
    );

    let out = repo.flagc(&["diff", "v1", "elsewhere"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("neither in the working tree nor at `v1`"),
        "{}",
        stderr(&out)
    );
}

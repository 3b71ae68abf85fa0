//! Hot reload through the watcher, on real temporary directories: every way a flag file
//! reaches a running service, and every way it can go wrong, ends with the latest good
//! content live and the last good snapshot served in between.
#![allow(clippy::unwrap_used)]

mod reload_support;

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::symlink;
use std::time::Duration;

use flagc::Code;
use flagc::ir::Value;
use flagc::runtime::{Reload, Reloaded};
use flagc::watch::WatchOptions;
use reload_support::{ConfigMap, Fixture, flag, ints, options, rename_save};

fn fixture() -> Fixture {
    Fixture::new(&[("a.toml", &ints(&[("kill_switch", 0), ("page_size", 10)]))])
}

fn rejected(e: &flagc::runtime::ReloadEvent) -> bool {
    matches!(e.outcome, Reload::Rejected(_))
}

#[test]
fn in_place_write_goes_live() {
    let f = fixture();
    let _w = f.rt.watch(options()).unwrap();
    fs::write(
        f.path("a.toml"),
        ints(&[("kill_switch", 0), ("page_size", 20)]),
    )
    .unwrap();
    let seen = f.wait_value("page_size", Value::Int(20));
    let last = seen.last().unwrap();
    assert_eq!(last.changed(), ["page_size"]);
    assert_eq!(last.reloaded, Reloaded::Flags);
    assert!(f.rt.status().last_error.is_none());
    // Our own reads of the directory are events too (opens): they must not loop.
    f.drain(Duration::from_millis(300));
    let attempts = f.rt.reload_attempts();
    assert!(f.drain(Duration::from_millis(300)).is_empty());
    assert_eq!(f.rt.reload_attempts(), attempts);
}

#[test]
fn rename_saves_of_every_editor_go_live() {
    let f = fixture();
    let _w = f.rt.watch(options()).unwrap();
    let a = f.path("a.toml");
    let text = |n| ints(&[("kill_switch", 0), ("page_size", n)]);

    // Most tools: a temporary file, renamed over the original.
    rename_save(&a, &text(11));
    f.wait_value("page_size", Value::Int(11));

    // vim (`backupcopy=no`): the original renamed to a backup, the new file written, the
    // backup deleted.
    let backup = f.path("a.toml~");
    fs::rename(&a, &backup).unwrap();
    fs::write(&a, text(12)).unwrap();
    fs::remove_file(&backup).unwrap();
    f.wait_value("page_size", Value::Int(12));

    // JetBrains "safe write": `___jb_tmp___` written, the original renamed to `___jb_old___`,
    // the temporary renamed into place, the old one deleted.
    let jb_tmp = f.path("a.toml___jb_tmp___");
    let jb_old = f.path("a.toml___jb_old___");
    fs::write(&jb_tmp, text(13)).unwrap();
    fs::rename(&a, &jb_old).unwrap();
    fs::rename(&jb_tmp, &a).unwrap();
    fs::remove_file(&jb_old).unwrap();
    f.wait_value("page_size", Value::Int(13));
    assert!(f.rt.status().last_error.is_none());
    assert!(f.rt.status().kept.is_empty(), "{:?}", f.rt.status().kept);
}

#[test]
fn a_file_truncated_and_written_in_two_steps_is_rejected_then_live() {
    let f = fixture();
    let _w = f.rt.watch(options()).unwrap();
    let text = ints(&[("kill_switch", 1), ("page_size", 30)]);
    let (first, second) = text.split_at(text.find("owner").unwrap());
    let mut file = OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(f.path("a.toml"))
        .unwrap();
    file.write_all(first.as_bytes()).unwrap();
    file.flush().unwrap();
    // Half a file: invalid, rejected; the old flags stay.
    f.wait_event("the half-written file rejected", rejected);
    assert_eq!(f.value("page_size"), Value::Int(10));
    assert!(f.rt.status().last_error.is_some());

    file.write_all(second.as_bytes()).unwrap();
    file.flush().unwrap();
    drop(file);
    f.wait_value("page_size", Value::Int(30));
    assert_eq!(f.value("kill_switch"), Value::Int(1));
    assert!(f.rt.status().last_error.is_none());
}

#[test]
fn an_empty_file_is_rejected_and_the_last_good_flags_stay() {
    let f = fixture();
    let _w = f.rt.watch(options()).unwrap();
    fs::write(f.path("a.toml"), "").unwrap();
    let seen = f.wait_event("the empty file rejected", rejected);
    let e = seen.last().unwrap();
    assert!(!e.ok());
    assert_eq!(e.diagnostics[0].code, Code::EmptyFile);
    assert_eq!(f.value("page_size"), Value::Int(10));
    let status = f.rt.status();
    let error = status.last_error.expect("the error is in the status");
    assert_eq!(error.diagnostics()[0].code, Code::EmptyFile);

    fs::write(
        f.path("a.toml"),
        ints(&[("kill_switch", 0), ("page_size", 40)]),
    )
    .unwrap();
    f.wait_value("page_size", Value::Int(40));
    assert!(f.rt.status().last_error.is_none());
}

#[test]
fn a_burst_of_a_thousand_saves_is_debounced_and_the_last_content_wins() {
    let f = fixture();
    let _w = f.rt.watch(options()).unwrap();
    let a = f.path("a.toml");
    for i in 1..=1000 {
        fs::write(&a, ints(&[("kill_switch", 0), ("page_size", 1000 + i)])).unwrap();
        // A thousand saves spread over about a second.
        std::thread::sleep(Duration::from_micros(900));
    }
    let seen = f.wait_value("page_size", Value::Int(2000));
    // Debounced: far fewer reloads than saves.
    assert!(seen.len() < 300, "{} reloads for 1000 saves", seen.len());
    // And nothing after it replaces the last content.
    let after = f.drain(Duration::from_millis(300));
    assert!(after.iter().all(|e| e.changed().is_empty()), "{after:#?}");
    assert_eq!(f.value("page_size"), Value::Int(2000));
    assert!(f.rt.status().last_error.is_none());

    // The same with rename-saves: the debouncer waits for the file to settle.
    for i in 1..=300 {
        rename_save(&a, &ints(&[("kill_switch", 0), ("page_size", 3000 + i)]));
    }
    let seen = f.wait_value("page_size", Value::Int(3300));
    assert!(seen.len() < 100, "{} reloads for 300 saves", seen.len());
}

#[test]
fn a_file_deleted_and_recreated_goes_live() {
    let f = Fixture::new(&[
        ("a.toml", &ints(&[("kill_switch", 0)])),
        ("b.toml", &ints(&[("page_size", 10)])),
    ]);
    let _w = f.rt.watch(options()).unwrap();
    fs::remove_file(f.path("b.toml")).unwrap();
    // Removed from the files: this binary keeps its definition, with a warning.
    f.wait_for(|rt, _| !rt.status().kept.is_empty(), "page_size kept");
    assert_eq!(f.value("page_size"), Value::Int(10));
    fs::write(f.path("b.toml"), ints(&[("page_size", 50)])).unwrap();
    f.wait_value("page_size", Value::Int(50));
    assert!(f.rt.status().kept.is_empty());
}

#[test]
fn the_whole_directory_deleted_and_recreated_goes_live() {
    let f = fixture();
    let _w = f.rt.watch(options()).unwrap();
    let recreate = |n: i64| {
        fs::create_dir(&f.dir).unwrap();
        fs::write(f.path("flagc.toml"), reload_support::MANIFEST).unwrap();
        fs::write(
            f.path("a.toml"),
            ints(&[("kill_switch", 0), ("page_size", n)]),
        )
        .unwrap();
    };

    // Gone for a while: an error, the last good flags stay.
    fs::remove_dir_all(&f.dir).unwrap();
    f.wait_event("the missing directory rejected", rejected);
    assert_eq!(f.value("page_size"), Value::Int(10));
    recreate(60);
    f.wait_value("page_size", Value::Int(60));

    // A git checkout: deleted and recreated at once, several times.
    for n in 61..=63 {
        fs::remove_dir_all(&f.dir).unwrap();
        recreate(n);
    }
    f.wait_value("page_size", Value::Int(63));
    assert!(f.rt.status().last_error.is_none());

    // Renamed into place (a directory swap).
    let next = f.tmp.path().join("flags.next");
    fs::create_dir(&next).unwrap();
    fs::write(next.join("flagc.toml"), reload_support::MANIFEST).unwrap();
    fs::write(
        next.join("a.toml"),
        ints(&[("kill_switch", 0), ("page_size", 64)]),
    )
    .unwrap();
    fs::rename(&f.dir, f.tmp.path().join("flags.old")).unwrap();
    fs::rename(&next, &f.dir).unwrap();
    f.wait_value("page_size", Value::Int(64));
    // And the new directory is watched in its turn.
    fs::write(
        f.path("a.toml"),
        ints(&[("kill_switch", 0), ("page_size", 65)]),
    )
    .unwrap();
    f.wait_value("page_size", Value::Int(65));
}

#[test]
fn a_kubernetes_configmap_update_goes_live() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("flags");
    let files = |n: i64| {
        vec![
            ("flagc.toml", reload_support::MANIFEST.to_owned()),
            ("a.toml", ints(&[("kill_switch", 0), ("page_size", n)])),
        ]
    };
    let mut cm = ConfigMap::create(&dir, &files(10));
    let f = Fixture::at(tmp, dir);
    let _w = f.rt.watch(options()).unwrap();
    for n in 11..=13 {
        cm.update(&files(n));
        f.wait_value("page_size", Value::Int(n));
    }
    assert!(f.rt.status().last_error.is_none());
}

#[test]
fn an_invalid_edit_is_rejected_with_diagnostics_then_a_valid_one_goes_live() {
    let f = fixture();
    let _w = f.rt.watch(options()).unwrap();
    // Valid TOML, invalid flags: an unknown field and a missing owner.
    let bad =
        "[page_size]\ndescription = \"x\"\nowher = \"tests\"\npermanent = true\ndefault = 99\n";
    rename_save(&f.path("a.toml"), bad);
    let seen = f.wait_event("the invalid edit rejected", rejected);
    let e = seen.last().unwrap();
    assert!(!e.diagnostics.is_empty());
    assert!(
        e.diagnostics
            .iter()
            .all(|d| d.file.as_deref() == Some("a.toml"))
    );
    assert!(f.rt.status().last_error.is_some());
    assert_eq!(f.value("page_size"), Value::Int(10));

    rename_save(
        &f.path("a.toml"),
        &ints(&[("kill_switch", 0), ("page_size", 70)]),
    );
    f.wait_value("page_size", Value::Int(70));
    assert!(f.rt.status().last_error.is_none());
}

#[test]
fn a_flag_whose_type_changed_keeps_its_definition_and_the_rest_goes_live() {
    let f = fixture();
    let _w = f.rt.watch(options()).unwrap();
    let text = flag("kill_switch", "1") + &flag("page_size", "\"twenty\"");
    rename_save(&f.path("a.toml"), &text);
    let seen = f.wait_value("kill_switch", Value::Int(1));
    assert_eq!(f.value("page_size"), Value::Int(10));
    let status = f.rt.status();
    assert_eq!(status.kept.len(), 1, "{:?}", status.kept);
    assert!(status.kept[0].contains("page_size"));
    assert!(status.last_error.is_none());
    assert_eq!(seen.last().unwrap().kept, status.kept);
}

#[test]
fn a_removed_flag_keeps_its_definition_and_the_rest_goes_live() {
    let f = fixture();
    let _w = f.rt.watch(options()).unwrap();
    rename_save(&f.path("a.toml"), &ints(&[("kill_switch", 1)]));
    let seen = f.wait_value("kill_switch", Value::Int(1));
    assert_eq!(f.value("page_size"), Value::Int(10));
    assert_eq!(seen.last().unwrap().changed(), ["kill_switch", "page_size"]);
    let kept = f.rt.status().kept;
    assert!(kept.len() == 1 && kept[0].contains("removed"), "{kept:?}");
}

#[test]
fn an_override_file_added_made_invalid_and_removed() {
    let f = fixture();
    let file = f.tmp.path().join("overrides.toml");
    let _w = f.rt.watch(options().overrides(&file)).unwrap();
    assert!(f.rt.break_glass().active.is_empty());

    rename_save(
        &file,
        "reason = \"INC-7: page size melts the search cluster\"\n[overrides]\npage_size = 5\n",
    );
    let seen = f.wait_value("page_size", Value::Int(5));
    let e = seen.last().unwrap();
    assert!(matches!(&e.reloaded, Reloaded::Overrides(p) if *p == file));
    assert_eq!(e.changed(), ["page_size"]);
    assert_eq!(f.rt.status().overrides, ["page_size"]);
    let glass = f.rt.break_glass();
    assert_eq!(glass.active[0].key, "page_size");
    assert_eq!(
        glass.active[0].reason.as_deref(),
        Some("INC-7: page size melts the search cluster")
    );
    assert_eq!(glass.file.as_deref(), Some(file.as_path()));

    // A flag-file change goes live under the override: the override still wins.
    rename_save(
        &f.path("a.toml"),
        &ints(&[("kill_switch", 1), ("page_size", 10)]),
    );
    f.wait_value("kill_switch", Value::Int(1));
    assert_eq!(f.value("page_size"), Value::Int(5));

    // Invalid (a string for an int flag, an unknown flag): rejected, nothing changes.
    rename_save(&file, "[overrides]\npage_size = \"5\"\nkill_swich = 1\n");
    let seen = f.wait_event("the invalid override file rejected", rejected);
    let codes: Vec<Code> = seen
        .last()
        .unwrap()
        .diagnostics
        .iter()
        .map(|d| d.code)
        .collect();
    assert_eq!(codes, [Code::TypeMismatch, Code::UnknownFlag]);
    assert_eq!(f.value("page_size"), Value::Int(5));
    assert!(f.rt.break_glass().error.is_some());
    assert_eq!(f.rt.status().overrides, ["page_size"]);

    // Removed: the files' value is back.
    fs::remove_file(&file).unwrap();
    f.wait_value("page_size", Value::Int(10));
    let glass = f.rt.break_glass();
    assert!(glass.active.is_empty() && glass.error.is_none());
    assert!(f.rt.status().overrides.is_empty());
}

#[test]
fn an_override_stops_applying_at_its_until() {
    let f = fixture();
    let file = f.tmp.path().join("overrides.toml");
    let until = jiff::Timestamp::now() + jiff::SignedDuration::from_millis(1500);
    fs::write(
        &file,
        format!("[overrides]\npage_size = {{ value = 3, until = {until} }}\n"),
    )
    .unwrap();
    let _w = f.rt.watch(options().overrides(&file)).unwrap();
    assert_eq!(f.value("page_size"), Value::Int(3));
    let seen = f.wait_value("page_size", Value::Int(10));
    assert!(jiff::Timestamp::now() >= until);
    assert_eq!(seen.last().unwrap().changed(), ["page_size"]);
    assert!(f.rt.break_glass().active.is_empty());
}

#[test]
fn changes_no_event_reports_are_found_by_the_periodic_rescan() {
    // A flag file symlinked from outside the watched tree: writing to its target sends no
    // event to the flag directory's watches, as on filesystems without events.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("flags");
    let outside = tmp.path().join("elsewhere");
    fs::create_dir(&dir).unwrap();
    fs::create_dir(&outside).unwrap();
    fs::write(dir.join("flagc.toml"), reload_support::MANIFEST).unwrap();
    fs::write(dir.join("a.toml"), ints(&[("kill_switch", 0)])).unwrap();
    fs::write(outside.join("b.toml"), ints(&[("page_size", 10)])).unwrap();
    symlink(outside.join("b.toml"), dir.join("b.toml")).unwrap();
    let f = Fixture::at(tmp, dir);

    let _w =
        f.rt.watch(options().rescan(Some(Duration::from_millis(200))))
            .unwrap();
    fs::write(outside.join("b.toml"), ints(&[("page_size", 80)])).unwrap();
    f.wait_value("page_size", Value::Int(80));
}

#[test]
fn watching_needs_a_directory() {
    let rt = flagc::runtime::Runtime::embedded(
        flagc::runtime::Spec {
            flags: Vec::new(),
            layout: flagc::ir::Layout::new([]),
            embedded: &[("flagc.toml", "format = 1\n")],
        },
        Vec::new(),
        None,
    )
    .unwrap();
    assert!(matches!(
        rt.watch(WatchOptions::default()),
        Err(flagc::watch::WatchError::NoDirectory)
    ));
}

#[test]
fn a_symlink_loop_is_rejected_not_a_hang() {
    let f = fixture();
    let _w = f.rt.watch(options()).unwrap();
    symlink("..", f.path("loop")).unwrap();
    let seen = f.wait_event("the symlink loop rejected", rejected);
    let codes: Vec<Code> = seen
        .last()
        .unwrap()
        .diagnostics
        .iter()
        .map(|d| d.code)
        .collect();
    assert!(codes.contains(&Code::SymlinkLoop), "{codes:?}");
    assert_eq!(f.value("page_size"), Value::Int(10));
    fs::remove_file(f.path("loop")).unwrap();
    f.wait_for(|rt, _| rt.status().last_error.is_none(), "the loop gone");
}

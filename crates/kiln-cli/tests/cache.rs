//! The binary cache against a real S3 server: SeaweedFS on loopback, started by the test
//! (`support/weed.rs`). Slow: a fresh store builds the minimal installer's ISO and pushes its
//! closure; fresh stores then build the same profile from the cache. Each store in turn lives
//! at the same path, and is moved aside when done: a step's key covers its inputs' store paths,
//! so a cache serves stores at one root (as Nix's serve `/nix/store`), apart from downloads
//! (fixed outputs), which any store takes.
//!
//! - `kiln build --push` uploads the closure; a fresh store builds nothing: every step comes
//!   from the cache, the ISO has the same bytes, and `kiln store verify` is clean. The cache
//!   settings come from flags, then from the configuration file, then from the environment.
//! - Tampering: an archive with a flipped byte, a manifest signed by an untrusted key, and a
//!   deleted manifest are each refused (the first two with a warning naming the entry) and
//!   built locally; the ISO and `verify` are as before.
//! - The server killed in the middle of a substituting build: one warning, and the build
//!   finishes locally.
//! - A push killed in the middle leaves only complete entries visible (every manifest's
//!   archive is whole), and a second push completes it; so does a push whose server is killed
//!   in the middle, which fails with a diagnostic, and a push once the server is back.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

#[path = "support/weed.rs"]
mod weed;

use kiln_testkit::{shared_store, workspace};
use weed::Weed;

const KILN: &str = env!("CARGO_BIN_EXE_kiln");

/// The two tests move gigabytes; one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn kiln(store: &Path) -> Command {
    let mut command = Command::new(KILN);
    command
        .current_dir(workspace())
        .env("KILN_STORE", store)
        // No configuration of the machine's reaches the test: only the flags it gives.
        .env("XDG_CONFIG_HOME", store.with_extension("no-config"))
        .env_remove("KILN_SUBSTITUTERS")
        .env_remove("KILN_TRUSTED_PUBLIC_KEYS")
        .env_remove("KILN_SECRET_KEY_FILE")
        .env_remove("KILN_PUSH_TO");
    command
}

/// Runs `command`, asserting success; (stdout, stderr).
fn run(mut command: Command, what: &str) -> (String, String) {
    let out = command.output().expect("run kiln");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{what} failed:\n{stderr}");
    (stdout, stderr)
}

/// `kiln build` of the minimal installer's ISO; (ISO path, stderr).
fn build(store: &Path, extra: &[&str]) -> (PathBuf, String) {
    let mut command = kiln(store);
    command.args(["build", "--locked", "--no-link"]).args(extra);
    let (stdout, stderr) = run(command, "kiln build");
    let entry = PathBuf::from(stdout.lines().last().expect("the result's path").trim());
    (entry.join("iso/kiln-installer-minimal.iso"), stderr)
}

fn substituting(weed: &Weed, public: &str) -> Vec<String> {
    vec![
        "--substituters".into(),
        weed.url(""),
        "--trusted-public-keys".into(),
        public.into(),
    ]
}

/// The steps a build's stderr says it built (its plain, non-terminal progress lines).
fn built_steps(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter_map(|line| line.strip_prefix("building "))
        .collect()
}

fn verify_clean(store: &Path) {
    let mut command = kiln(store);
    command.args(["store", "verify"]);
    let (_, stderr) = run(command, "kiln store verify");
    assert!(stderr.contains("no damage"), "{stderr}");
}

fn same_file(a: &Path, b: &Path) -> bool {
    std::fs::read(a).expect("read ISO") == std::fs::read(b).expect("read ISO")
}

/// The entries `kiln store ls --remote` lists (first column).
fn remote_entries(store: &Path, url: &str) -> Vec<String> {
    let mut command = kiln(store);
    command.args(["store", "ls", "--remote", url]);
    let (stdout, _) = run(command, "kiln store ls --remote");
    stdout
        .lines()
        .map(|line| line.split('\t').next().unwrap().to_string())
        .collect()
}

fn class() -> &'static str {
    if kiln_testkit::is_root() {
        "root"
    } else {
        "user"
    }
}

/// A manifest's field (the first line starting with `name `).
fn field(manifest: &[u8], name: &str) -> String {
    String::from_utf8_lossy(manifest)
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")).map(str::to_string))
        .unwrap_or_else(|| panic!("no `{name}` in the manifest"))
}

fn keygen(dir: &Path, name: &str) -> (PathBuf, String) {
    let secret = dir.join(format!("{name}.secret"));
    let mut command = Command::new(KILN);
    command
        .args(["store", "keygen", name])
        .arg(&secret)
        .arg(dir.join(format!("{name}.public")));
    let (stdout, _) = run(command, "kiln store keygen");
    (secret, stdout.trim().to_string())
}

#[test]
fn a_store_built_from_the_cache_builds_nothing_and_refuses_what_it_cannot_verify() {
    if !kiln_testkit::slow("binary cache on SeaweedFS", &["weed", "curl", "bwrap"]) {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut weed = Weed::start();
    let dir = kiln_testkit::tempdir().unwrap();
    let (secret, public) = keygen(dir.path(), "kiln-test-1");
    let (untrusted, _) = keygen(dir.path(), "stranger-1");
    assert!(
        std::fs::read_to_string(dir.path().join("kiln-test-1.public"))
            .unwrap()
            .starts_with("kiln-test-1:")
    );

    // Store A builds the ISO and pushes its closure.
    let store = dir.path().join("store");
    let url = weed.url("");
    let secret_text = secret.to_str().unwrap();
    let (iso, pushed) = build(
        &store,
        &["--push", "--push-to", &url, "--secret-key", secret_text],
    );
    let result = iso.parent().unwrap().parent().unwrap().to_path_buf();
    assert!(pushed.contains("pushed "), "{pushed}");
    let entries = remote_entries(&store, &weed.url(""));
    assert!(entries.len() > 100, "{} entries pushed", entries.len());
    // A second push has nothing to do.
    let mut again = kiln(&store);
    again
        .args(["store", "push", "--to", &weed.url(""), "--secret-key"])
        .arg(&secret)
        .arg(&result);
    let (_, again) = run(again, "kiln store push (again)");
    assert!(again.contains("pushed 0 entries"), "{again}");
    // Store A moves aside; its ISO is the reference.
    let iso_a = dir.path().join("a.iso");
    std::fs::copy(&iso, &iso_a).unwrap();
    std::fs::rename(&store, dir.path().join("store-a")).unwrap();

    // Store B, empty, builds nothing.
    let args = substituting(&weed, &public);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (iso_b, stderr) = build(&store, &args);
    assert_eq!(built_steps(&stderr), Vec::<&str>::new(), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    assert!(stderr.contains("fetched "), "{stderr}");
    assert!(same_file(&iso_a, &iso_b), "the ISO from the cache differs");
    verify_clean(&store);

    // Tampering with three `.deb` entries (cheap to build again from Debian's archive).
    let debs: Vec<&String> = entries
        .iter()
        .filter(|e| e.ends_with(".deb"))
        .take(3)
        .collect();
    assert_eq!(debs.len(), 3, "{entries:?}");
    let manifest_key = |entry: &str| format!("manifests/{}/{entry}", class());
    // 1. A byte of the archive flipped.
    let archive = field(&weed.get(&manifest_key(debs[0])), "archive");
    let mut bytes = weed.get(&archive);
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    weed.put(&archive, &bytes);
    // 2. The manifest replaced by one an untrusted key signed (pushed under another prefix).
    let path_b = store.join(debs[1]);
    let mut push = kiln(&store);
    push.args([
        "store",
        "push",
        "--to",
        &weed.url("stranger"),
        "--secret-key",
    ])
    .arg(&untrusted)
    .arg(&path_b);
    run(push, "kiln store push (untrusted)");
    let forged = weed.get(&format!("stranger/{}", manifest_key(debs[1])));
    assert!(field(&forged, "signature").starts_with("stranger-1:"));
    weed.put(&manifest_key(debs[1]), &forged);
    // 3. The manifest deleted.
    weed.delete(&manifest_key(debs[2]));

    // Store C takes its settings from the configuration file.
    std::fs::rename(&store, dir.path().join("store-b")).unwrap();
    let config = store.with_extension("no-config").join("kiln/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(
        &config,
        format!("substituters = [\"{url}\"]\ntrusted-public-keys = \"{public}\"\n"),
    )
    .unwrap();
    let (iso_c, stderr) = build(&store, &[]);
    std::fs::remove_file(&config).unwrap();
    let mut built: Vec<String> = built_steps(&stderr)
        .iter()
        .map(|s| s.split(" [").next().unwrap().to_string())
        .collect();
    built.sort();
    let mut expected: Vec<String> = debs
        .iter()
        .map(|e| e.split_once('-').unwrap().1.to_string())
        .collect();
    expected.sort();
    assert_eq!(built, expected, "{stderr}");
    assert!(
        stderr.contains(&format!("refused `{}`", debs[0]))
            && stderr.contains("is not the one its manifest signs"),
        "no warning for the flipped byte:\n{stderr}"
    );
    assert!(
        stderr.contains(&format!("refused `{}`", debs[1]))
            && stderr.contains("`stranger-1`, which is not a trusted public key"),
        "no warning for the untrusted signature:\n{stderr}"
    );
    assert!(same_file(&iso_a, &iso_c), "the ISO differs after tampering");
    verify_clean(&store);

    // The server killed while a build substitutes: one warning, the rest built locally.
    // Store D takes its settings from the environment.
    std::fs::rename(&store, dir.path().join("store-c")).unwrap();
    let mut command = kiln(&store);
    command
        .args(["build", "--locked", "--no-link"])
        .env("KILN_SUBSTITUTERS", &url)
        .env("KILN_TRUSTED_PUBLIC_KEYS", &public)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("start kiln build");
    let stderr_pipe = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        BufReader::new(stderr_pipe)
            .lines()
            .map(|line| line.unwrap())
            .collect::<Vec<String>>()
    });
    // Kill once 20 steps have come from the cache (or the build has ended).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(600);
    let store_meta = store.join(".meta");
    while std::time::Instant::now() < deadline {
        let registered = std::fs::read_dir(&store_meta)
            .map(|d| d.count())
            .unwrap_or(0);
        if registered >= 20 || child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    weed.kill();
    let status = child.wait().unwrap();
    let lines = reader.join().unwrap();
    let stderr = lines.join("\n");
    assert!(
        status.success(),
        "the build failed with the cache gone:\n{stderr}"
    );
    let stdout = {
        use std::io::Read;
        let mut text = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        text
    };
    let iso_d =
        PathBuf::from(stdout.lines().last().unwrap().trim()).join("iso/kiln-installer-minimal.iso");
    assert!(stderr.contains("fetched "), "{stderr}");
    assert!(
        !built_steps(&stderr).is_empty(),
        "nothing was built locally:\n{stderr}"
    );
    let warnings = stderr
        .matches("not using it for the rest of this build")
        .count();
    assert_eq!(
        warnings, 1,
        "one warning for the cache that went away:\n{stderr}"
    );
    assert!(
        same_file(&iso_a, &iso_d),
        "the ISO differs after the cache went away"
    );
    verify_clean(&store);
}

#[test]
fn a_push_killed_halfway_leaves_only_whole_entries_and_a_second_push_completes_it() {
    if !kiln_testkit::slow("interrupted push to SeaweedFS", &["weed", "curl", "bwrap"]) {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let weed = Weed::start();
    let dir = kiln_testkit::tempdir().unwrap();
    let (secret, _) = keygen(dir.path(), "kiln-test-1");
    let store = shared_store();
    let (iso, _) = build(&store, &[]);
    let result = iso.parent().unwrap().parent().unwrap().to_path_buf();

    let mut command = kiln(&store);
    command
        .args(["store", "push", "--to", &weed.url(""), "--secret-key"])
        .arg(&secret)
        .arg(&result)
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("start kiln store push");
    let mut pushed = 0;
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        if line.unwrap().starts_with("pushed ") {
            pushed += 1;
            if pushed == 30 {
                // SIGKILL: no clean-up runs.
                child.kill().unwrap();
                break;
            }
        }
    }
    let _ = child.wait();
    assert_eq!(pushed, 30, "the push ended before it could be killed");

    // Every visible manifest names a whole archive.
    let partial = remote_entries(&store, &weed.url(""));
    assert!(partial.len() >= 30, "{} entries visible", partial.len());
    for entry in &partial {
        let manifest = weed.get(&format!("manifests/{}/{entry}", class()));
        let archive = weed.get(&field(&manifest, "archive"));
        let size: usize = field(&manifest, "archive-size").parse().unwrap();
        assert_eq!(archive.len(), size, "{entry}'s archive is not whole");
    }

    let mut command = kiln(&store);
    command
        .args(["store", "push", "--to", &weed.url(""), "--secret-key"])
        .arg(&secret)
        .arg(&result);
    let (_, stderr) = run(command, "kiln store push (again)");
    assert!(
        stderr.contains(&format!("{} already there", partial.len())),
        "{stderr}"
    );
    let all = remote_entries(&store, &weed.url(""));
    assert!(all.len() > partial.len(), "{stderr}");
    let mut command = kiln(&store);
    command
        .args(["store", "push", "--to", &weed.url(""), "--secret-key"])
        .arg(&secret)
        .arg(&result);
    let (_, stderr) = run(command, "kiln store push (a third time)");
    assert!(stderr.contains("pushed 0 entries"), "{stderr}");
}

/// Every manifest the cache shows names a whole archive; how many there are.
fn all_whole(weed: &Weed, store: &Path) -> usize {
    let entries = remote_entries(store, &weed.url(""));
    for entry in &entries {
        let manifest = weed.get(&format!("manifests/{}/{entry}", class()));
        let archive = weed.get(&field(&manifest, "archive"));
        let size: usize = field(&manifest, "archive-size").parse().unwrap();
        assert_eq!(archive.len(), size, "{entry}'s archive is not whole");
    }
    entries.len()
}

#[test]
fn a_push_whose_server_dies_fails_cleanly_and_a_later_push_completes_it() {
    if !kiln_testkit::slow("push to a SeaweedFS that dies", &["weed", "curl", "bwrap"]) {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut weed = Weed::start();
    let dir = kiln_testkit::tempdir().unwrap();
    let (secret, _) = keygen(dir.path(), "kiln-test-1");
    let store = shared_store();
    let (iso, _) = build(&store, &[]);
    let result = iso.parent().unwrap().parent().unwrap().to_path_buf();
    let push = |weed: &Weed| {
        let mut command = kiln(&store);
        command
            .args(["store", "push", "--to", &weed.url(""), "--secret-key"])
            .arg(&secret)
            .arg(&result)
            .stderr(Stdio::piped());
        command
    };

    let mut child = push(&weed).spawn().expect("start kiln store push");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut pushed = 0;
    for line in lines.by_ref() {
        if line.unwrap().starts_with("pushed ") {
            pushed += 1;
            if pushed == 30 {
                weed.kill();
                break;
            }
        }
    }
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    let status = child.wait().unwrap();
    assert!(!status.success(), "the push succeeded without its server");
    let rest = rest.join("\n");
    assert!(
        rest.contains("kiln::cache::"),
        "no diagnostic code:\n{rest}"
    );
    assert!(!rest.contains("panicked"), "{rest}");

    weed.restart();
    // SeaweedFS answers before its volumes are back; wait until every manifest reads.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let mut command = kiln(&store);
        command.args(["store", "ls", "--remote", &weed.url("")]);
        let (_, stderr) = run(command, "kiln store ls --remote");
        if !stderr.contains("unreadable manifest") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "manifests unreadable two minutes after the restart:\n{stderr}"
        );
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
    let partial = all_whole(&weed, &store);
    assert!(partial >= 30, "{partial} entries visible");
    let (_, stderr) = run(push(&weed), "kiln store push (after the restart)");
    assert!(
        stderr.contains(&format!("{partial} already there")),
        "{stderr}"
    );
    assert!(all_whole(&weed, &store) > partial);
}

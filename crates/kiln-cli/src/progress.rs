//! The build progress display: one line per running step (bytes for downloads) above an overall
//! bar on a terminal; plain "built …" lines otherwise, so logs stay readable.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use kiln_store::{BuildError, Derivation, Events};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

pub(crate) struct Progress {
    multi: MultiProgress,
    total: ProgressBar,
    running: Mutex<BTreeMap<String, ProgressBar>>,
    tally: Mutex<Tally>,
    fancy: bool,
}

#[derive(Default)]
struct Tally {
    built: usize,
    /// Steps fetched from a binary cache.
    substituted: usize,
    /// Steps another kiln built while this one waited for them.
    reused: usize,
    failed: usize,
    downloaded: u64,
    /// Bytes each running step has reported moving (downloads); added to `downloaded` when
    /// it succeeds.
    moving: BTreeMap<String, u64>,
}

impl Progress {
    pub(crate) fn new(steps: usize) -> Progress {
        let fancy = std::io::stderr().is_terminal();
        let multi = MultiProgress::with_draw_target(if fancy {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        let total = multi.add(ProgressBar::new(steps as u64));
        total.set_style(
            ProgressStyle::with_template("[{elapsed_precise}] {bar:30} {pos}/{len} steps")
                .expect("a valid template"),
        );
        Progress {
            multi,
            total,
            running: Mutex::new(BTreeMap::new()),
            tally: Mutex::new(Tally::default()),
            fancy,
        }
    }

    /// Clears the display and returns a one-line summary.
    pub(crate) fn finish(&self) -> String {
        self.total.finish_and_clear();
        let _ = self.multi.clear();
        let tally = self
            .tally
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut text = format!("built {} step(s)", tally.built);
        if tally.substituted > 0 {
            text.push_str(&format!(", fetched {} from caches", tally.substituted));
        }
        if tally.reused > 0 {
            text.push_str(&format!(", reused {} built by another kiln", tally.reused));
        }
        if tally.downloaded > 0 {
            text.push_str(&format!(", downloaded {}", human_bytes(tally.downloaded)));
        }
        if tally.failed > 0 {
            text.push_str(&format!(", {} failed", tally.failed));
        }
        text
    }

    fn key(drv: &Derivation) -> String {
        format!("{}-{}", drv.builder, drv.name)
    }

    /// A step in a plain line: its name and the start of its store hash, which tells apart
    /// steps of one name (two profiles' `rootfs`, say).
    fn step(drv: &Derivation) -> String {
        let hash = drv.id().0.to_store_base32();
        format!("{} [{}]", drv.name, &hash[..8])
    }
}

impl Progress {
    /// A line with a spinner (and bytes) for a running step, under `prefix`.
    fn add_bar(&self, drv: &Derivation, prefix: String) {
        let bar = self
            .multi
            .insert_before(&self.total, ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("  {spinner} {prefix:>12} {msg} {bytes}/{total_bytes}")
                .expect("a valid template"),
        );
        bar.set_prefix(prefix);
        bar.set_message(drv.name.clone());
        bar.enable_steady_tick(Duration::from_millis(120));
        let old = self
            .running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(Self::key(drv), bar);
        // A fetch that was refused, now built: its line gives way to the build's.
        if let Some(old) = old {
            old.finish_and_clear();
            self.multi.remove(&old);
        }
    }

    fn remove_bar(&self, drv: &Derivation) {
        if let Some(bar) = self
            .running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&Self::key(drv))
        {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
    }
}

impl Events for Progress {
    fn started(&self, drv: &Derivation) {
        self.tally
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .moving
            .remove(&Self::key(drv));
        if !self.fancy {
            eprintln!("building {} ({})", Self::step(drv), drv.builder);
            return;
        }
        self.add_bar(drv, drv.builder.clone());
    }

    fn fetching(&self, drv: &Derivation) {
        if self.fancy {
            self.add_bar(drv, "cache".to_string());
        }
    }

    fn substituted(&self, drv: &Derivation) {
        self.remove_bar(drv);
        let mut tally = self
            .tally
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let moved = tally.moving.remove(&Self::key(drv)).unwrap_or(0);
        tally.substituted += 1;
        tally.downloaded += moved;
        drop(tally);
        self.total.inc(1);
        if !self.fancy {
            eprintln!("fetched {} from a cache", Self::step(drv));
        }
    }

    fn progress(&self, drv: &Derivation, done: u64, total: Option<u64>) {
        self.tally
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .moving
            .insert(Self::key(drv), done);
        if let Some(bar) = self
            .running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&Self::key(drv))
        {
            if let Some(total) = total {
                bar.set_length(total);
            }
            bar.set_position(done);
        }
    }

    fn finished(&self, drv: &Derivation, error: Option<&BuildError>) {
        self.remove_bar(drv);
        let mut tally = self
            .tally
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let moved = tally.moving.remove(&Self::key(drv)).unwrap_or(0);
        match error {
            None => {
                tally.built += 1;
                tally.downloaded += moved;
            }
            Some(_) => tally.failed += 1,
        }
        self.total.inc(1);
        if !self.fancy {
            let verb = if error.is_none() { "built" } else { "FAILED" };
            eprintln!("{verb} {}", Self::step(drv));
        }
    }

    fn reused(&self, drv: &Derivation) {
        self.tally
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .reused += 1;
        self.total.inc(1);
        let line = format!(
            "reused {} (built meanwhile by another kiln)",
            Self::step(drv)
        );
        if self.fancy {
            let _ = self.multi.println(line);
        } else {
            eprintln!("{line}");
        }
    }

    fn message(&self, drv: &Derivation, text: &str) {
        let line = format!("{}: {text}", drv.name);
        if self.fancy {
            let _ = self.multi.println(line);
        } else {
            eprintln!("{line}");
        }
    }
}

/// `1.5 MiB`.
pub(crate) fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

//! A delay injected before an entry is renamed into place, so tests can widen the window in
//! which concurrent builds race (the reproduction of issue 20 used `strace --inject` for the
//! same). Zero, and so free, unless a test sets it; it changes timing, never bytes.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

static DELAY_MS: AtomicU64 = AtomicU64::new(0);

/// Sets the delay for every store handle of this process (tests only).
#[doc(hidden)]
pub fn set_rename_delay(delay: Duration) {
    DELAY_MS.store(
        u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
        Ordering::Relaxed,
    );
}

pub(crate) fn before_rename(_dest: &Path) {
    let ms = DELAY_MS.load(Ordering::Relaxed);
    if ms > 0 {
        std::thread::sleep(Duration::from_millis(ms));
    }
}

//! The notices collected while the app runs (a settings file repaired, a database moved aside),
//! shown by the window in its banners. Every domain may add one, so this sits below them all.

use std::sync::{Arc, Mutex, MutexGuard};

/// Things to tell the user about this run, in the order they happened. They are kept for the
/// whole run (the window may reload and ask again); the UI decides when to hide them.
#[derive(Clone, Debug, Default)]
pub struct Notices {
    list: Arc<Mutex<Vec<String>>>,
}

impl Notices {
    fn lock(&self) -> MutexGuard<'_, Vec<String>> {
        // Plain data: a panic mid-push leaves a usable list.
        self.list.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds a notice (once: the same text twice is one notice), and logs it for whoever runs
    /// the app from a terminal.
    pub fn push(&self, notice: impl Into<String>) {
        let notice = notice.into();
        eprintln!("onyx-app: {notice}");
        let mut list = self.lock();
        if !list.contains(&notice) {
            list.push(notice);
        }
    }

    /// Every notice so far.
    pub fn all(&self) -> Vec<String> {
        self.lock().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_keep_their_order_and_drop_repeats() {
        let notices = Notices::default();
        let shared = notices.clone();
        notices.push("settings repaired");
        shared.push("database moved aside");
        notices.push("settings repaired");
        assert_eq!(notices.all(), ["settings repaired", "database moved aside"]);
    }
}

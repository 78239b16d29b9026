//! Replies in progress, by the stream id the window gave them, so `chat_cancel` can reach one.
//!
//! A cancel may overtake its reply: both commands are dispatched at once, and `chat_cancel` can
//! run before `chat_send` has registered. Such early cancels are remembered (a few, newest
//! kept), and a reply registered under one of those ids starts cancelled.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::error::Error;

/// Early cancels remembered; older ones are forgotten (their replies never came).
const EARLY_CANCELS_KEPT: usize = 32;

/// Something that stops a running task.
pub trait Cancel {
    /// Stops it (idempotent).
    fn cancel(&self);
}

impl Cancel for onyx_engine::CancelToken {
    fn cancel(&self) {
        onyx_engine::CancelToken::cancel(self);
    }
}

/// The replies in progress. Cheap to clone; every clone is the same registry.
#[derive(Debug)]
pub struct StreamRegistry<T> {
    inner: Arc<Mutex<Streams<T>>>,
}

impl<T> Clone for StreamRegistry<T> {
    fn clone(&self) -> Self {
        StreamRegistry { inner: Arc::clone(&self.inner) }
    }
}

impl<T> Default for StreamRegistry<T> {
    fn default() -> Self {
        StreamRegistry { inner: Arc::new(Mutex::new(Streams { running: HashMap::new(), early: VecDeque::new() })) }
    }
}

#[derive(Debug)]
struct Streams<T> {
    running: HashMap<String, T>,
    early: VecDeque<String>,
}

/// Keeps a stream registered; dropping it (the reply ended, however) removes the id.
#[derive(Debug)]
pub struct Registered<T> {
    registry: StreamRegistry<T>,
    id: String,
}

impl<T> Drop for Registered<T> {
    fn drop(&mut self) {
        self.registry.lock().running.remove(&self.id);
    }
}

impl<T> StreamRegistry<T> {
    fn lock(&self) -> MutexGuard<'_, Streams<T>> {
        // Plain maps, changed in single statements: never left half-updated.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<T: Cancel> StreamRegistry<T> {
    /// Registers a reply under `id`; `busy` when that id is already running.
    pub fn register(&self, id: &str, cancel: T) -> Result<Registered<T>, Error> {
        let mut streams = self.lock();
        if streams.running.contains_key(id) {
            return Err(Error::Busy(format!("a reply with stream id '{id}' is already running")));
        }
        if let Some(position) = streams.early.iter().position(|early| early == id) {
            streams.early.remove(position);
            cancel.cancel();
        }
        streams.running.insert(id.to_owned(), cancel);
        Ok(Registered { registry: self.clone(), id: id.to_owned() })
    }

    /// Cancels the reply `id`; returns whether it was running (if not, it starts cancelled
    /// should it arrive).
    pub fn cancel(&self, id: &str) -> bool {
        let mut streams = self.lock();
        if let Some(running) = streams.running.get(id) {
            running.cancel();
            return true;
        }
        if !streams.early.iter().any(|early| early == id) {
            if streams.early.len() == EARLY_CANCELS_KEPT {
                streams.early.pop_front();
            }
            streams.early.push_back(id.to_owned());
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    #[derive(Clone, Debug, Default)]
    struct Flag(Arc<AtomicBool>);

    impl Flag {
        fn is_set(&self) -> bool {
            self.0.load(Ordering::SeqCst)
        }
    }

    impl Cancel for Flag {
        fn cancel(&self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    #[test]
    fn cancel_reaches_the_running_reply_by_id() {
        let registry = StreamRegistry::default();
        let (a, b) = (Flag::default(), Flag::default());
        let _a = registry.register("a", a.clone()).expect("register a");
        let _b = registry.register("b", b.clone()).expect("register b");
        assert!(registry.cancel("a"));
        assert!(a.is_set() && !b.is_set());
    }

    #[test]
    fn an_id_is_free_again_once_its_reply_ends() {
        let registry = StreamRegistry::default();
        let first = registry.register("s", Flag::default()).expect("register");
        assert!(matches!(registry.register("s", Flag::default()), Err(Error::Busy(_))));
        drop(first);
        let late = Flag::default();
        let _again = registry.register("s", late.clone()).expect("free again");
        assert!(!late.is_set(), "a finished reply's cancel state does not carry over");
    }

    #[test]
    fn a_cancel_that_overtakes_its_reply_still_stops_it() {
        let registry = StreamRegistry::default();
        assert!(!registry.cancel("early"));
        let flag = Flag::default();
        let _reply = registry.register("early", flag.clone()).expect("register");
        assert!(flag.is_set());
        // Remembered once: the next reply with that id runs normally.
        drop(_reply);
        let next = Flag::default();
        let _next = registry.register("early", next.clone()).expect("register");
        assert!(!next.is_set());
    }

    #[test]
    fn early_cancels_are_bounded() {
        let registry: StreamRegistry<Flag> = StreamRegistry::default();
        for n in 0..100 {
            registry.cancel(&format!("never-{n}"));
        }
        assert_eq!(registry.lock().early.len(), EARLY_CANCELS_KEPT);
        assert_eq!(registry.lock().early.front().map(String::as_str), Some("never-68"));
    }
}

//! Progress of a conversion, for progress bars.
//!
//! A converter reports named steps and one overall fraction. The fraction is worked out here
//! rather than by each caller, because only the converter knows which steps it will run and how
//! much work each holds: every step gets a share of the whole (sized from measured conversion
//! times), and the work inside a step (weight values read and quantized, bytes hashed or
//! written) moves the fraction through that share. Callers just show the numbers.
//!
//! The callback also decides whether the conversion goes on: returning
//! [`ControlFlow::Break`] stops it at that report with [`ConvertError::Cancelled`], and the
//! package being written is removed like after any other error. Reports come often (tensor by
//! tensor, and every 8 MiB hashed or written), so a cancel takes effect within moments.

use std::cell::{Cell, RefCell};
use std::ops::ControlFlow;

use crate::ConvertError;
use crate::llama::{LlamaConfig, Weights};

/// A progress report.
#[derive(Clone, Debug, PartialEq)]
pub enum Progress {
    /// A named step started (`reading`, `tokenizer`, `cpu graph`, ...).
    Step(&'static str),
    /// Share of the whole conversion done, `0.0..=1.0`. The first report is `0.0`, each is at
    /// least the one before, and the last is exactly `1.0`, sent only once the package is in
    /// place (so `1.0` always means done).
    Fraction(f32),
}

/// A progress callback that only lets the conversion run, for callers that show nothing.
pub fn no_progress(_: Progress) -> ControlFlow<()> {
    ControlFlow::Continue(())
}

/// The smallest rise worth a report: at most a thousand reports per conversion, however many
/// tensors or bytes it has, so a caller forwarding each one (to a window, a terminal) keeps up.
const MIN_RISE: f32 = 0.001;

/// Reports before the end stay at or below this, so that only the final report reads `1.0`.
const BEFORE_DONE: f32 = 0.999;

/// Turns the steps of one conversion, and the work done inside each, into [`Progress`] reports.
pub(crate) struct Tracker<'a> {
    report: &'a mut dyn FnMut(Progress) -> ControlFlow<()>,
    /// Every step the conversion will run, in order, with its relative share.
    plan: Vec<(&'static str, f32)>,
    /// Where the current step starts in the whole, and how much of it the step covers.
    start: f32,
    size: f32,
    /// The slice of the current step (`0..=1` within it) that [`Tracker::advance`] moves through.
    part: (f32, f32),
    /// The last fraction reported; below zero before the first.
    reported: f32,
}

impl<'a> Tracker<'a> {
    /// A tracker for a conversion running `plan`'s steps in order; shares need not add up to
    /// anything, they are scaled to the whole.
    pub(crate) fn new(report: &'a mut dyn FnMut(Progress) -> ControlFlow<()>, plan: &[(&'static str, f32)]) -> Self {
        Tracker { report, plan: plan.to_vec(), start: 0.0, size: 0.0, part: (0.0, 1.0), reported: -1.0 }
    }

    /// Sends one report; the caller asked to stop when it answers `Break`.
    fn send(&mut self, progress: Progress) -> Result<(), ConvertError> {
        match (self.report)(progress) {
            ControlFlow::Continue(()) => Ok(()),
            ControlFlow::Break(()) => Err(ConvertError::Cancelled),
        }
    }

    /// Starts the step `name`, which must be in the plan (one that is not gets no share, so the
    /// fraction simply holds while it runs).
    pub(crate) fn step(&mut self, name: &'static str) -> Result<(), ConvertError> {
        let total = self.plan.iter().fold(0.0, |sum, (_, share)| sum + share);
        let total = if total > 0.0 { total } else { 1.0 };
        match self.plan.iter().position(|(step, _)| *step == name) {
            Some(index) => {
                // A fold from +0.0 rather than `sum`, which starts from -0.0 and would make the
                // first step start at "-0.0" in JSON.
                self.start = self.plan[..index].iter().fold(0.0, |sum, (_, share)| sum + share) / total;
                self.size = self.plan[index].1 / total;
            }
            None => {
                self.start += self.size;
                self.size = 0.0;
            }
        }
        self.part = (0.0, 1.0);
        self.send(Progress::Step(name))?;
        self.emit(self.start)
    }

    /// Makes the following [`Tracker::advance`] calls cover `from..=to` of the current step (both
    /// within `0..=1`), for a step made of unequal parts such as building then writing.
    pub(crate) fn part(&mut self, from: f32, to: f32) -> Result<(), ConvertError> {
        self.part = (from.clamp(0.0, 1.0), to.clamp(0.0, 1.0).max(from));
        self.advance(0.0)
    }

    /// `done` (`0..=1`) of the current part is done.
    pub(crate) fn advance(&mut self, done: f32) -> Result<(), ConvertError> {
        let (from, to) = self.part;
        let within = from + (to - from) * done.clamp(0.0, 1.0);
        self.emit(self.start + self.size * within)
    }

    /// The conversion is complete: reports exactly `1.0`. The package is in place by then, so a
    /// request to stop is too late to matter and is not an error.
    pub(crate) fn finish(&mut self) {
        self.reported = 1.0;
        let _ = (self.report)(Progress::Fraction(1.0));
    }

    fn emit(&mut self, fraction: f32) -> Result<(), ConvertError> {
        // Written so that -0.0 (and NaN, were a share ever broken) report as a plain 0.
        let fraction = if fraction > 0.0 { fraction.min(BEFORE_DONE) } else { 0.0 };
        // The first report goes out whatever it is, so every conversion starts from a number.
        if self.reported < 0.0 || fraction >= self.reported + MIN_RISE {
            self.reported = fraction;
            self.send(Progress::Fraction(fraction))?;
        }
        Ok(())
    }
}

/// A [`Weights`] source that moves a [`Tracker`] as weights are read. Building a graph is mostly
/// reading, converting and quantizing its weights, one tensor at a time, so the share of weight
/// values read so far follows the time spent.
pub(crate) struct ReportingWeights<'w, 't, 'r> {
    inner: &'w dyn Weights,
    tracker: RefCell<&'t mut Tracker<'r>>,
    read: Cell<usize>,
    total: usize,
}

impl<'w, 't, 'r> ReportingWeights<'w, 't, 'r> {
    /// Reports through `tracker`'s current part, expecting `total` values to be read (more are
    /// counted as the part's end).
    pub(crate) fn new(inner: &'w dyn Weights, tracker: &'t mut Tracker<'r>, total: usize) -> Self {
        ReportingWeights { inner, tracker: RefCell::new(tracker), read: Cell::new(0), total: total.max(1) }
    }
}

impl Weights for ReportingWeights<'_, '_, '_> {
    fn get(&self, name: &str) -> Result<(Vec<usize>, Vec<f32>), ConvertError> {
        // Reported before the read: the values counted so far are the ones already converted,
        // so the fraction never runs ahead of the work.
        self.tracker.borrow_mut().advance(self.read.get() as f32 / self.total as f32)?;
        let (shape, values) = self.inner.get(name)?;
        self.read.set(self.read.get() + values.len());
        Ok((shape, values))
    }

    fn contains(&self, name: &str) -> bool {
        self.inner.contains(name)
    }

    fn source(&self) -> &std::path::Path {
        self.inner.source()
    }
}

/// How many weight values one Llama-family graph builder works through: every tensor it reads,
/// plus the output projection, which a model with tied embeddings does not read again but still
/// quantizes.
pub(crate) fn llama_weight_values(config: &LlamaConfig) -> usize {
    let (hidden, q_dim, kv_dim) = (config.hidden, config.heads * config.head_dim, config.kv_heads * config.head_dim);
    let biases = if config.qkv_bias { q_dim + 2 * kv_dim } else { 0 };
    let layer = 2 * hidden + (q_dim + 2 * kv_dim) * hidden + biases + hidden * q_dim + 3 * config.intermediate * hidden;
    2 * config.vocab * hidden + config.layers * layer + hidden
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fractions(events: &[Progress]) -> Vec<f32> {
        events
            .iter()
            .filter_map(|event| match event {
                Progress::Fraction(done) => Some(*done),
                Progress::Step(_) => None,
            })
            .collect()
    }

    #[test]
    fn steps_take_their_share_and_only_the_end_reads_one() {
        let mut events = Vec::new();
        let mut report = |event| {
            events.push(event);
            ControlFlow::Continue(())
        };
        let mut tracker = Tracker::new(&mut report, &[("a", 1.0), ("b", 3.0)]);
        tracker.step("a").expect("runs");
        tracker.advance(0.5).expect("runs");
        tracker.step("b").expect("runs");
        tracker.part(0.0, 0.5).expect("runs");
        tracker.advance(1.0).expect("runs");
        tracker.part(0.5, 1.0).expect("runs");
        tracker.advance(1.0).expect("runs");
        tracker.finish();
        assert_eq!(
            events,
            [
                Progress::Step("a"),
                Progress::Fraction(0.0),
                Progress::Fraction(0.125),
                Progress::Step("b"),
                Progress::Fraction(0.25),
                Progress::Fraction(0.625),
                Progress::Fraction(BEFORE_DONE),
                Progress::Fraction(1.0),
            ]
        );
    }

    #[test]
    fn the_fraction_never_goes_back_and_tiny_rises_are_not_reported() {
        let mut events = Vec::new();
        let mut report = |event| {
            events.push(event);
            ControlFlow::Continue(())
        };
        let mut tracker = Tracker::new(&mut report, &[("a", 1.0), ("b", 1.0)]);
        tracker.step("b").expect("runs");
        tracker.advance(0.5).expect("runs");
        // A step out of order, or one missing from the plan, holds the fraction where it is.
        tracker.step("a").expect("runs");
        tracker.advance(1.0).expect("runs");
        tracker.step("unplanned").expect("runs");
        for i in 0..=1000 {
            tracker.advance(i as f32 / 100_000.0).expect("runs");
        }
        tracker.finish();
        let fractions = fractions(&events);
        assert_eq!(fractions, [0.5, 0.75, 1.0]);
    }

    #[test]
    fn a_break_stops_at_that_report() {
        let mut seen = 0;
        let mut report = |_| {
            seen += 1;
            if seen == 3 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        };
        let mut tracker = Tracker::new(&mut report, &[("a", 1.0)]);
        tracker.step("a").expect("reports 1 and 2 go through");
        assert!(matches!(tracker.advance(0.5), Err(ConvertError::Cancelled)));
    }
}

//! Picking the next token from a step's logits.
//!
//! What flows in: the raw logits of one decode step and the ids seen so far (prompt plus reply).
//! What flows out: one token id. The pipeline is the usual one of llama.cpp and Hugging Face:
//! repetition penalty, then greedy argmax when the temperature is 0, otherwise temperature, top-k,
//! softmax, top-p, min-p and a draw from what is left.
//!
//! A [`Sampler`] lives as long as one reply: it owns a seeded PRNG, so a fixed seed replays the
//! same reply, and scratch buffers sized to the vocabulary, so a step allocates nothing. Model
//! output is never trusted: NaN and infinite logits are tolerated and no input makes it panic.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::EngineError;

/// How a reply picks its tokens. Deserializes with every field optional (missing ones take the
/// defaults), so a front end sends only what the user changed.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SamplingParams {
    /// Softmax temperature; 0 means greedy (always the most likely token).
    pub temperature: f32,
    /// Keep only the `top_k` most likely tokens; 0 turns the filter off.
    pub top_k: usize,
    /// Keep the smallest set of tokens whose probabilities add up to `top_p`; 1 turns it off.
    pub top_p: f32,
    /// Drop tokens less likely than `min_p` times the most likely one; 0 turns it off.
    pub min_p: f32,
    /// Penalty for tokens already in the prompt or the reply (CTRL-style); 1 turns it off.
    pub repetition_penalty: f32,
    /// PRNG seed; `None` draws a fresh one, so replies differ from run to run.
    pub seed: Option<u64>,
}

impl Default for SamplingParams {
    /// Settings that suit small chat models: a little randomness, with the tail cut off.
    fn default() -> Self {
        Self { temperature: 0.7, top_k: 40, top_p: 0.9, min_p: 0.05, repetition_penalty: 1.1, seed: None }
    }
}

impl SamplingParams {
    /// Deterministic decoding: the most likely token every step, no penalty.
    pub fn greedy() -> Self {
        Self { temperature: 0.0, top_k: 0, top_p: 1.0, min_p: 0.0, repetition_penalty: 1.0, seed: None }
    }

    /// Rejects settings that have no meaning, naming the field and the value.
    pub fn validate(&self) -> Result<(), EngineError> {
        let invalid = |message: String| Err(EngineError::InvalidRequest(message));
        // Each test is written so that NaN fails it too.
        if !(self.temperature.is_finite() && self.temperature >= 0.0) {
            return invalid(format!("temperature must be a finite number >= 0 (0 = greedy), got {}", self.temperature));
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return invalid(format!("top_p must be in (0, 1] (1 = off), got {}", self.top_p));
        }
        if !(self.min_p >= 0.0 && self.min_p < 1.0) {
            return invalid(format!("min_p must be in [0, 1) (0 = off), got {}", self.min_p));
        }
        if !(self.repetition_penalty.is_finite() && self.repetition_penalty > 0.0) {
            return invalid(format!(
                "repetition_penalty must be a finite number > 0 (1 = off), got {}",
                self.repetition_penalty
            ));
        }
        Ok(())
    }
}

/// One token still in the running: its id and, depending on the stage, its logit or probability.
#[derive(Clone, Copy, Debug)]
struct Candidate {
    id: u32,
    value: f32,
}

/// Picks tokens for one reply. See the module docs for the pipeline.
#[derive(Debug)]
pub struct Sampler {
    params: SamplingParams,
    rng: Xoshiro256StarStar,
    /// Scratch: the tokens still in the running this step. Reused, so its capacity settles at the
    /// vocabulary size after the first step.
    candidates: Vec<Candidate>,
    /// Scratch: one bit per vocabulary id, set once a token has been penalized this step, so that
    /// a token repeated in the history is penalized once (as Hugging Face does), not once per
    /// occurrence.
    penalized: Vec<u64>,
}

impl Sampler {
    /// A sampler for one reply. `params` should have passed [`SamplingParams::validate`]; values
    /// that did not are still handled without panicking (a non-positive temperature means greedy,
    /// out-of-range filters are clamped to keep at least one token).
    pub fn new(params: SamplingParams) -> Self {
        let seed = params.seed.unwrap_or_else(fresh_seed);
        Self { params, rng: Xoshiro256StarStar::seeded(seed), candidates: Vec::new(), penalized: Vec::new() }
    }

    /// The settings this sampler was made with.
    pub fn params(&self) -> &SamplingParams {
        &self.params
    }

    /// Picks the next token from raw logits. `history` = prompt + generated ids, for the
    /// repetition penalty (HF/CTRL semantics: positive logits divided by the penalty, negative
    /// multiplied, each distinct token once).
    ///
    /// NaN logits count as impossible tokens and `+inf` as the largest finite value. If no token
    /// is left with a finite logit, the result is the argmax of the raw values (NaN ignored), and
    /// 0 for an empty slice: a step must produce some token, and the caller's stop conditions
    /// then deal with a model that has gone wrong.
    pub fn sample(&mut self, logits: &[f32], history: &[u32]) -> u32 {
        self.load_candidates(logits);
        self.apply_repetition_penalty(history);
        // Tokens at -inf can never be drawn; dropping them here keeps every later stage finite.
        self.candidates.retain(|candidate| candidate.value > f32::NEG_INFINITY);
        if self.candidates.is_empty() {
            return raw_argmax(logits);
        }
        // NaN has no meaning as a temperature; greedy is the safe reading.
        let temperature = self.params.temperature;
        if temperature.is_nan() || temperature <= 0.0 {
            return argmax(&self.candidates).map_or_else(|| raw_argmax(logits), |best| best.id);
        }
        // Temperature is applied inside the softmax: scaling by a positive factor keeps the order
        // of the logits, so top-k picks the same tokens before or after it.
        self.keep_top_k();
        self.softmax();
        self.keep_min_p();
        self.keep_top_p();
        self.draw()
    }

    /// Copies the logits into the scratch buffer, making them safe to compare and exponentiate.
    fn load_candidates(&mut self, logits: &[f32]) {
        self.candidates.clear();
        self.candidates.extend(logits.iter().zip(0u32..).map(|(&logit, id)| Candidate { id, value: sanitize(logit) }));
    }

    fn apply_repetition_penalty(&mut self, history: &[u32]) {
        let penalty = self.params.repetition_penalty;
        if penalty == 1.0 || !(penalty.is_finite() && penalty > 0.0) {
            return;
        }
        let words = self.candidates.len().div_ceil(64);
        self.penalized.clear();
        self.penalized.resize(words, 0);
        for &id in history {
            let index = id as usize;
            // Ids outside the vocabulary (a prompt tokenized for another model) are ignored.
            let Some(candidate) = self.candidates.get_mut(index) else { continue };
            let (word, bit) = (index / 64, 1u64 << (index % 64));
            if self.penalized[word] & bit != 0 {
                continue;
            }
            self.penalized[word] |= bit;
            // Dividing a negative logit would raise it, so negatives are multiplied instead.
            candidate.value = if candidate.value > 0.0 { candidate.value / penalty } else { candidate.value * penalty };
        }
    }

    /// Keeps the `top_k` largest logits. Partial selection costs O(vocab) instead of a full sort.
    fn keep_top_k(&mut self) {
        let k = self.params.top_k;
        if k == 0 || k >= self.candidates.len() {
            return;
        }
        self.candidates.select_nth_unstable_by(k - 1, |a, b| b.value.total_cmp(&a.value));
        self.candidates.truncate(k);
    }

    /// Turns logits into probabilities at the sampler's temperature. Dividing `logit - max`
    /// rather than the logit keeps every exponent at or below 0, so nothing overflows even for a
    /// tiny temperature, and the best token always gets a weight of exactly 1.
    fn softmax(&mut self) {
        let temperature = self.params.temperature;
        let max = self.candidates.iter().map(|c| c.value).fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0f64;
        for candidate in &mut self.candidates {
            let weight = ((candidate.value - max) / temperature).exp();
            // An infinite temperature turns `-inf / inf` into NaN; such a token weighs nothing.
            candidate.value = if weight.is_nan() { 0.0 } else { weight };
            sum += f64::from(candidate.value);
        }
        // sum >= 1 because the best token weighs 1.
        for candidate in &mut self.candidates {
            candidate.value = (f64::from(candidate.value) / sum) as f32;
        }
    }

    /// Drops tokens less likely than `min_p` times the best one.
    ///
    /// Runs before top-p although the pipeline lists it after: both keep a prefix of the tokens
    /// sorted by probability, and top-p adds up the probabilities of the full softmax, so the
    /// kept set is the same either way. Filtering first means top-p sorts a few dozen survivors
    /// instead of the whole vocabulary.
    fn keep_min_p(&mut self) {
        let min_p = self.params.min_p;
        if min_p.is_nan() || min_p <= 0.0 {
            return;
        }
        let best = self.candidates.iter().map(|c| c.value).fold(0.0, f32::max);
        // Capped at the best probability so that even min_p >= 1 keeps the best token.
        let threshold = (min_p * best).min(best);
        self.candidates.retain(|candidate| candidate.value >= threshold);
    }

    /// Keeps the smallest set of most likely tokens whose probabilities reach `top_p`, and never
    /// fewer than one.
    fn keep_top_p(&mut self) {
        let top_p = self.params.top_p;
        if top_p.is_nan() || top_p >= 1.0 || self.candidates.len() <= 1 {
            return;
        }
        // What min-p left may already weigh less than top_p; then the cut lies past all of it.
        let mass: f64 = self.candidates.iter().map(|c| f64::from(c.value)).sum();
        let top_p = f64::from(top_p);
        if mass < top_p {
            return;
        }
        // The n candidates below (mass - top_p) / n weigh less than mass - top_p together, so the
        // ones above that bar already reach top_p and the cut falls among them: dropping the rest
        // first is exact, and spares sorting the vocabulary's long tail. Halved against rounding.
        let bar = ((mass - top_p) / self.candidates.len() as f64 * 0.5) as f32;
        self.candidates.retain(|candidate| candidate.value >= bar);
        self.candidates.sort_unstable_by(|a, b| b.value.total_cmp(&a.value));
        let mut cumulative = 0.0f64;
        let mut keep = self.candidates.len();
        for (index, candidate) in self.candidates.iter().enumerate() {
            cumulative += f64::from(candidate.value);
            if cumulative >= top_p {
                keep = index + 1;
                break;
            }
        }
        self.candidates.truncate(keep);
    }

    /// Draws one candidate in proportion to its probability; dividing the draw by the total is
    /// the renormalization, done without touching the candidates again.
    fn draw(&mut self) -> u32 {
        let total: f64 = self.candidates.iter().map(|c| f64::from(c.value)).sum();
        let target = self.rng.next_f64() * total;
        let mut cumulative = 0.0f64;
        for candidate in &self.candidates {
            cumulative += f64::from(candidate.value);
            if target < cumulative {
                return candidate.id;
            }
        }
        // Rounding can leave the target a hair above the last sum; the last token is the answer.
        // The list is never empty here (softmax keeps the best token at probability > 0).
        self.candidates.last().map_or(0, |candidate| candidate.id)
    }
}

/// NaN becomes impossible (`-inf`); `+inf` becomes the largest finite value so that the
/// arithmetic after it stays finite.
fn sanitize(logit: f32) -> f32 {
    if logit.is_nan() { f32::NEG_INFINITY } else { logit.min(f32::MAX) }
}

/// The first candidate with the largest value (first wins ties, like `torch.argmax`).
fn argmax(candidates: &[Candidate]) -> Option<Candidate> {
    candidates.iter().copied().reduce(|best, candidate| if candidate.value > best.value { candidate } else { best })
}

/// Last resort when no logit is usable: the largest raw value, NaN ignored, first on ties; 0 when
/// every value is NaN or there are none.
fn raw_argmax(logits: &[f32]) -> u32 {
    let mut best: Option<(u32, f32)> = None;
    for (&logit, id) in logits.iter().zip(0u32..) {
        if logit.is_nan() {
            continue;
        }
        if best.is_none_or(|(_, value)| logit > value) {
            best = Some((id, logit));
        }
    }
    best.map_or(0, |(id, _)| id)
}

/// A seed for runs that did not ask for one. `RandomState` carries per-process OS randomness and
/// changes with every instance; the clock is mixed in for good measure.
fn fresh_seed() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_nanos());
    hasher.write_u128(nanos);
    hasher.finish()
}

/// xoshiro256** (Blackman and Vigna): small, fast and good enough for sampling; not for secrets.
/// Written out here instead of pulling in `rand` for twenty lines.
#[derive(Clone, Debug)]
struct Xoshiro256StarStar {
    state: [u64; 4],
}

impl Xoshiro256StarStar {
    /// Expands a 64-bit seed with SplitMix64, as the authors recommend; this also guarantees the
    /// all-zero state (from which xoshiro never leaves) cannot occur.
    fn seeded(seed: u64) -> Self {
        let mut splitmix = seed;
        let mut next = || {
            splitmix = splitmix.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = splitmix;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Self { state: [next(), next(), next(), next()] }
    }

    fn next_u64(&mut self) -> u64 {
        let s = &mut self.state;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1), from the top 53 bits (the precision of an f64 mantissa).
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parameters that change nothing but the one setting under test.
    fn plain() -> SamplingParams {
        SamplingParams { temperature: 1.0, top_k: 0, top_p: 1.0, min_p: 0.0, repetition_penalty: 1.0, seed: Some(7) }
    }

    /// Deterministic pseudo-random logits in [-5, 5), for tests that need a realistic spread.
    fn random_logits(seed: u64, len: usize) -> Vec<f32> {
        let mut rng = Xoshiro256StarStar::seeded(seed);
        (0..len).map(|_| (rng.next_f64() * 10.0 - 5.0) as f32).collect()
    }

    fn softmax(logits: &[f32]) -> Vec<f64> {
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let weights: Vec<f64> = logits.iter().map(|&l| f64::from(l - max).exp()).collect();
        let sum: f64 = weights.iter().sum();
        weights.iter().map(|w| w / sum).collect()
    }

    #[test]
    fn xoshiro_matches_the_reference_implementation() {
        // First outputs of the C reference for state [1, 2, 3, 4].
        let mut rng = Xoshiro256StarStar { state: [1, 2, 3, 4] };
        let outputs: Vec<u64> = (0..3).map(|_| rng.next_u64()).collect();
        assert_eq!(outputs, [11520, 0, 1509978240]);
    }

    #[test]
    fn greedy_is_argmax_with_first_index_on_ties() {
        let mut sampler = Sampler::new(SamplingParams::greedy());
        assert_eq!(sampler.sample(&[0.1, 3.0, -2.0, 3.0, 2.9], &[]), 1);
        for seed in 0..20 {
            let logits = random_logits(seed, 1000);
            let expected = logits.iter().zip(0u32..).fold((0, f32::MIN), |b, (&l, i)| if l > b.1 { (i, l) } else { b });
            assert_eq!(sampler.sample(&logits, &[]), expected.0);
        }
    }

    #[test]
    fn same_seed_gives_the_same_sequence_and_different_seeds_differ() {
        let logits = random_logits(1, 500).iter().map(|l| l * 0.2).collect::<Vec<_>>();
        let run = |seed| {
            let mut sampler = Sampler::new(SamplingParams { seed: Some(seed), ..SamplingParams::default() });
            (0..64).map(|_| sampler.sample(&logits, &[])).collect::<Vec<_>>()
        };
        assert_eq!(run(42), run(42));
        assert_ne!(run(42), run(43));
    }

    #[test]
    fn unseeded_samplers_differ() {
        let logits = vec![0.0; 1000];
        let run = || {
            let mut sampler = Sampler::new(SamplingParams { seed: None, ..plain() });
            (0..32).map(|_| sampler.sample(&logits, &[])).collect::<Vec<_>>()
        };
        assert_ne!(run(), run());
    }

    #[test]
    fn top_k_of_one_and_a_tiny_top_p_equal_greedy() {
        let mut greedy = Sampler::new(SamplingParams::greedy());
        let mut top_k = Sampler::new(SamplingParams { top_k: 1, ..plain() });
        let mut top_p = Sampler::new(SamplingParams { top_p: 1e-6, ..plain() });
        for seed in 0..50 {
            let logits = random_logits(seed, 2000);
            let expected = greedy.sample(&logits, &[]);
            assert_eq!(top_k.sample(&logits, &[]), expected, "top_k = 1, seed {seed}");
            assert_eq!(top_p.sample(&logits, &[]), expected, "top_p = 1e-6, seed {seed}");
        }
    }

    #[test]
    fn top_k_keeps_only_the_k_best() {
        let logits = [1.0, 5.0, 2.0, 4.0, 3.0, 0.0];
        let mut sampler = Sampler::new(SamplingParams { top_k: 2, ..plain() });
        for _ in 0..500 {
            assert!(matches!(sampler.sample(&logits, &[]), 1 | 3));
        }
    }

    #[test]
    fn top_p_keeps_the_smallest_set_reaching_p() {
        // Probabilities 0.5, 0.3, 0.2 (logits are their logs). p = 0.75 needs the first two.
        let logits = [0.5f32.ln(), 0.3f32.ln(), 0.2f32.ln()];
        let mut sampler = Sampler::new(SamplingParams { top_p: 0.75, ..plain() });
        let mut seen = [0usize; 3];
        for _ in 0..2000 {
            seen[sampler.sample(&logits, &[]) as usize] += 1;
        }
        assert_eq!(seen[2], 0);
        assert!(seen[0] > 0 && seen[1] > 0);
    }

    #[test]
    fn top_p_prefilter_keeps_the_same_set_as_a_full_sort() {
        for (seed, top_p) in [(1, 0.5), (2, 0.9), (3, 0.99), (4, 0.999)] {
            let logits: Vec<f32> = random_logits(seed, 5000).iter().map(|l| l * 1.5).collect();
            let probabilities = softmax(&logits);
            let mut order: Vec<usize> = (0..logits.len()).collect();
            order.sort_by(|&a, &b| probabilities[b].total_cmp(&probabilities[a]));
            let mut cumulative = 0.0;
            let cut = order.iter().position(|&id| {
                cumulative += probabilities[id];
                cumulative >= f64::from(top_p)
            });
            let mut expected: Vec<u32> = order[..=cut.unwrap_or(order.len() - 1)].iter().map(|&id| id as u32).collect();
            expected.sort_unstable();

            let mut sampler = Sampler::new(SamplingParams { top_p, ..plain() });
            sampler.sample(&logits, &[]);
            let mut kept: Vec<u32> = sampler.candidates.iter().map(|c| c.id).collect();
            kept.sort_unstable();
            // f32 probabilities summed against f64 ones may move the cut by one edge token; the
            // larger set must still extend the smaller one.
            let (smaller, larger) = if kept.len() <= expected.len() { (&kept, &expected) } else { (&expected, &kept) };
            assert!(
                larger.len() - smaller.len() <= 1,
                "top_p {top_p}: kept {}, expected {}",
                kept.len(),
                expected.len()
            );
            assert!(smaller.iter().all(|id| larger.binary_search(id).is_ok()), "top_p {top_p}");
            assert!(kept.len() > 1 && kept.len() < logits.len(), "top_p {top_p} kept {}", kept.len());
        }
    }

    #[test]
    fn min_p_filters_unlikely_tokens() {
        // Probabilities 0.5, 0.3, 0.15, 0.05; min_p 0.2 puts the bar at 0.1, dropping the last.
        let logits = [0.5f32.ln(), 0.3f32.ln(), 0.15f32.ln(), 0.05f32.ln()];
        let mut sampler = Sampler::new(SamplingParams { min_p: 0.2, ..plain() });
        sampler.sample(&logits, &[]);
        let mut kept: Vec<u32> = sampler.candidates.iter().map(|c| c.id).collect();
        kept.sort_unstable();
        assert_eq!(kept, [0, 1, 2]);
        let mut seen = [0usize; 4];
        for _ in 0..5000 {
            seen[sampler.sample(&logits, &[]) as usize] += 1;
        }
        assert_eq!(seen[3], 0);
        assert!(seen[..3].iter().all(|&count| count > 0));
        // With top-p past what min-p left, every survivor stays.
        let mut combined = Sampler::new(SamplingParams { min_p: 0.2, top_p: 0.99, ..plain() });
        combined.sample(&logits, &[]);
        assert_eq!(combined.candidates.len(), 3);
        // Renormalized: token 2 keeps 0.15 / 0.95 of the draws.
        let share = seen[2] as f64 / 5000.0;
        assert!((share - 0.15 / 0.95).abs() < 0.03, "token 2 drawn {share}");
    }

    #[test]
    fn repetition_penalty_lowers_repeated_tokens_once_per_distinct_id() {
        let params = SamplingParams { repetition_penalty: 1.1, ..SamplingParams::greedy() };
        let mut sampler = Sampler::new(params);
        // Positive logit divided: 2.0 / 1.1 = 1.82 falls below 1.9.
        assert_eq!(sampler.sample(&[2.0, 1.9], &[]), 0);
        assert_eq!(sampler.sample(&[2.0, 1.9], &[0]), 1);
        // Negative logit multiplied: -1.0 * 1.1 = -1.1 falls below -1.05.
        assert_eq!(sampler.sample(&[-1.0, -1.05], &[0]), 1);
        // Three occurrences count once: 2.0 / 1.1 = 1.82 stays above 1.7 (2.0 / 1.1^3 = 1.50 would not).
        assert_eq!(sampler.sample(&[2.0, 1.7], &[0, 0, 0]), 0);
        // Ids beyond the vocabulary are ignored.
        assert_eq!(sampler.sample(&[2.0, 1.7], &[u32::MAX, 5]), 0);
    }

    #[test]
    fn repetition_penalty_lowers_the_share_of_a_sampled_token() {
        let logits = [1.0, 1.0];
        let share_of_zero = |history: &[u32]| {
            let mut sampler = Sampler::new(SamplingParams { repetition_penalty: 2.0, ..plain() });
            (0..4000).filter(|_| sampler.sample(&logits, history) == 0).count() as f64 / 4000.0
        };
        // Penalized logit 0.5 against 1.0: p = 1 / (1 + e^0.5) = 0.378.
        let penalized = share_of_zero(&[0]);
        assert!((penalized - 0.378).abs() < 0.03, "share {penalized}");
        assert!(share_of_zero(&[]) > 0.45);
    }

    #[test]
    fn draws_follow_the_softmax_at_temperature_one() {
        let logits = [2.0, 1.0, 0.5, 0.0, -1.0, -3.0];
        let expected = softmax(&logits);
        let mut sampler = Sampler::new(plain());
        let draws = 20_000;
        let mut counts = [0usize; 6];
        for _ in 0..draws {
            counts[sampler.sample(&logits, &[]) as usize] += 1;
        }
        for (id, (&count, &p)) in counts.iter().zip(&expected).enumerate() {
            let observed = count as f64 / draws as f64;
            assert!((observed - p).abs() < 0.02, "token {id}: observed {observed:.4}, softmax {p:.4}");
        }
    }

    #[test]
    fn temperature_sharpens_the_distribution() {
        let logits = [1.0, 0.0];
        let share_of_zero = |temperature| {
            let mut sampler = Sampler::new(SamplingParams { temperature, ..plain() });
            (0..4000).filter(|_| sampler.sample(&logits, &[]) == 0).count() as f64 / 4000.0
        };
        // p(0) = 1 / (1 + e^(-1/T)): 0.73 at T = 1, 0.88 at T = 0.5.
        assert!((share_of_zero(1.0) - 0.731).abs() < 0.03);
        assert!((share_of_zero(0.5) - 0.881).abs() < 0.03);
    }

    #[test]
    fn broken_logits_never_panic() {
        let nan = f32::NAN;
        let (inf, neg) = (f32::INFINITY, f32::NEG_INFINITY);
        let valid = [SamplingParams::greedy(), SamplingParams::default(), plain()];
        // Settings validate() rejects must not panic either, though their picks are not pinned.
        let invalid = [
            SamplingParams { temperature: f32::INFINITY, top_p: 0.0, min_p: 5.0, ..plain() },
            SamplingParams { temperature: -1.0, top_k: 3, repetition_penalty: nan, ..plain() },
            SamplingParams { temperature: 1e-30, top_p: nan, min_p: nan, repetition_penalty: 1e30, ..plain() },
        ];
        for (params, is_valid) in valid.into_iter().map(|p| (p, true)).chain(invalid.into_iter().map(|p| (p, false))) {
            let mut sampler = Sampler::new(params.clone());
            assert_eq!(sampler.sample(&[nan, nan, 1.0, nan], &[0, 1, 2]), 2, "{params:?}");
            assert_eq!(sampler.sample(&[nan; 8], &[0]), 0, "{params:?}");
            assert_eq!(sampler.sample(&[], &[0]), 0, "{params:?}");
            assert_eq!(sampler.sample(&[neg, neg, neg], &[]), 0, "{params:?}");
            let pick = sampler.sample(&[nan, neg, 0.5, inf], &[]);
            assert!(if is_valid { pick == 3 } else { matches!(pick, 2 | 3) }, "{params:?} picked {pick}");
            assert!(sampler.sample(&[f32::MAX, -f32::MAX, inf], &[0, 1, 2]) < 3, "{params:?}");
        }
    }

    #[test]
    fn validate_names_the_bad_field_and_value() {
        assert!(SamplingParams::default().validate().is_ok());
        assert!(SamplingParams::greedy().validate().is_ok());
        let cases = [
            (SamplingParams { temperature: -0.5, ..plain() }, "temperature", "-0.5"),
            (SamplingParams { temperature: f32::NAN, ..plain() }, "temperature", "NaN"),
            (SamplingParams { top_p: 0.0, ..plain() }, "top_p", "0"),
            (SamplingParams { top_p: 1.5, ..plain() }, "top_p", "1.5"),
            (SamplingParams { min_p: 1.0, ..plain() }, "min_p", "1"),
            (SamplingParams { min_p: -0.1, ..plain() }, "min_p", "-0.1"),
            (SamplingParams { repetition_penalty: 0.0, ..plain() }, "repetition_penalty", "0"),
            (SamplingParams { repetition_penalty: -1.0, ..plain() }, "repetition_penalty", "-1"),
        ];
        for (params, field, value) in cases {
            match params.validate() {
                Err(EngineError::InvalidRequest(message)) => {
                    assert!(message.starts_with(field), "{message}");
                    assert!(message.ends_with(&format!("got {value}")), "{message}");
                }
                other => panic!("{params:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn params_deserialize_camel_case_with_defaults() -> anyhow::Result<()> {
        let params: SamplingParams = serde_json::from_str(r#"{"topK": 5, "repetitionPenalty": 1.3, "seed": 9}"#)?;
        assert_eq!(params, SamplingParams { top_k: 5, repetition_penalty: 1.3, seed: Some(9), ..Default::default() });
        let json = serde_json::to_value(SamplingParams::greedy())?;
        assert_eq!(json["minP"], 0.0);
        Ok(())
    }
}

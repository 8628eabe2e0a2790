//! Did-you-mean suggestions.
//!
//! A document can have thousands of ids and hundreds of unknown names, so candidates are
//! prepared once ([`Suggester`]) and most are ruled out by two cheap lower bounds on the edit
//! distance (length difference, character-histogram difference) before the real comparison
//! (optimal string alignment: insertions, deletions, substitutions, adjacent transpositions).

/// Candidates prepared for repeated look-ups.
pub struct Suggester<'a> {
    candidates: Vec<Candidate<'a>>,
    /// Answers already given: the same unknown name tends to recur across a document.
    memo: std::cell::RefCell<std::collections::HashMap<String, Option<&'a str>>>,
}

struct Candidate<'a> {
    text: &'a str,
    lower: String,
    len: usize,
    histogram: [u16; BINS],
}

const BINS: usize = 64;

/// The most edits a suggestion may be away from the word.
pub const MAX_EDITS: usize = 4;

fn histogram(s: &str) -> [u16; BINS] {
    let mut h = [0u16; BINS];
    for c in s.chars() {
        let bin = (c as usize) % BINS;
        h[bin] = h[bin].saturating_add(1);
    }
    h
}

impl<'a> Suggester<'a> {
    pub fn new(candidates: impl IntoIterator<Item = &'a str>) -> Self {
        let candidates = candidates
            .into_iter()
            .map(|text| {
                let lower = text.to_lowercase();
                Candidate { text, len: lower.chars().count(), histogram: histogram(&lower), lower }
            })
            .collect();
        Suggester { candidates, memo: Default::default() }
    }

    /// The candidate closest to `word`, when it is close enough to be a plausible typo: at
    /// most a third of the longer word's characters differ (at least one may, at most
    /// [`MAX_EDITS`]; beyond that a suggestion is a guess, and the cap keeps look-ups cheap).
    pub fn closest(&self, word: &str) -> Option<&'a str> {
        if let Some(known) = self.memo.borrow().get(word) {
            return *known;
        }
        let found = self.search(word);
        self.memo.borrow_mut().insert(word.to_string(), found);
        found
    }

    fn search(&self, word: &str) -> Option<&'a str> {
        let word_lower = word.to_lowercase();
        let word_len = word_lower.chars().count();
        let word_histogram = histogram(&word_lower);
        let mut best: Option<(&'a str, usize)> = None;
        for c in &self.candidates {
            let budget = (word_len.max(c.len) / 3).clamp(1, MAX_EDITS);
            let limit = best.map_or(budget, |(_, d)| budget.min(d.saturating_sub(1)));
            // Each edit changes the length by at most one and the histogram by at most two.
            if word_len.abs_diff(c.len) > limit {
                continue;
            }
            let l1: usize = word_histogram.iter().zip(&c.histogram).map(|(a, b)| a.abs_diff(*b) as usize).sum();
            if l1.div_ceil(2) > limit {
                continue;
            }
            let distance = strsim::osa_distance(&word_lower, &c.lower);
            if distance <= limit {
                best = Some((c.text, distance));
            }
        }
        best.map(|(c, _)| c)
    }
}

/// One-off look-up; prefer a [`Suggester`] when asking more than once.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    Suggester::new(candidates).closest(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_typos_and_refuses_strangers() {
        let ids = ["country", "registry_name", "supported_languages"];
        assert_eq!(closest("contry", ids), Some("country"));
        assert_eq!(closest("registry_nmae", ids), Some("registry_name"));
        assert_eq!(closest("Country", ids), Some("country"));
        assert_eq!(closest("budget", ids), None);
        assert_eq!(closest("", ids), None);
    }

    #[test]
    fn prefers_the_nearest_of_several() {
        let s = Suggester::new(["has_scores", "has_score", "has_scorez"]);
        assert_eq!(s.closest("has_score"), Some("has_score"));
        assert_eq!(s.closest("has_scoes"), Some("has_scores"));
    }
}

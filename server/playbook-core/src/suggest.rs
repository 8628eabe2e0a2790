//! Did-you-mean suggestions.

/// The candidate closest to `word`, when it is close enough to be a plausible typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word_lower = word.to_lowercase();
    let mut best: Option<(&'a str, usize)> = None;
    for candidate in candidates {
        let distance = strsim::damerau_levenshtein(&word_lower, &candidate.to_lowercase());
        let budget = (word.chars().count().max(candidate.chars().count()) / 3).max(1);
        if distance <= budget && best.is_none_or(|(_, d)| distance < d) {
            best = Some((candidate, distance));
        }
    }
    best.map(|(c, _)| c)
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn finds_typos_and_refuses_strangers() {
        let ids = ["country", "registry_name", "supported_languages"];
        assert_eq!(closest("contry", ids), Some("country"));
        assert_eq!(closest("registry_nmae", ids), Some("registry_name"));
        assert_eq!(closest("Country", ids), Some("country"));
        assert_eq!(closest("budget", ids), None);
    }
}

//! "Did you mean …?" for misspelt keys, values and names.

/// The candidate closest to `word`, if it is close enough to be a likely typo:
/// none for words of one or two letters (any other short word is "close"), one edit for
/// words up to four letters, two for longer ones (a swap of two letters is one edit).
/// Case differences count as none.
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = match word.chars().count() {
        0..=2 => 0,
        3..=4 => 1,
        _ => 2,
    };
    candidates
        .into_iter()
        .map(|c| (distance(&word.to_lowercase(), &c.to_lowercase()), c))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// Optimal string alignment distance: insertions, deletions, substitutions and
/// transpositions of adjacent characters.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // d[i][j]: distance between the first i characters of a and the first j of b.
    let mut d: Vec<Vec<usize>> = (0..=a.len())
        .map(|i| (0..=b.len()).map(|j| if i == 0 { j } else { i }).collect())
        .collect();
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_their_word_and_strangers_find_none() {
        let keys = ["name", "endpoint", "tls", "nodes", "advertise_addr"];
        assert_eq!(closest("nodez", keys), Some("nodes"));
        assert_eq!(closest("ndoes", keys), Some("nodes"));
        assert_eq!(closest("Nodes", keys), Some("nodes"));
        assert_eq!(closest("advertise-addr", keys), Some("advertise_addr"));
        assert_eq!(closest("endpont", keys), Some("endpoint"));
        assert_eq!(closest("image", keys), None);
        assert_eq!(closest("tl", keys), None);
        assert_eq!(closest("tsl", keys), Some("tls"));
        assert_eq!(closest("x", ["a", "y"]), None);
        assert_eq!(closest("A", ["a", "b"]), Some("a"));
    }
}

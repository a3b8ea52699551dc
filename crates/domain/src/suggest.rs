//! "Did you mean": the known name closest to one that is not known, when it
//! is close enough to be a typo. One rule for the whole project: unknown
//! config keys, references to ids no section defines (config), and unknown
//! CEL variables (conditions).

/// The candidate closest to `unknown` by edit distance (an adjacent swap
/// counts as one edit), if it is within a third of the candidate's length
/// (at least 2) and closer than retyping it whole. `unknown` is compared
/// in lower case, as keys and ids are written. On a tie the first
/// candidate wins, so callers pass them in a stable order.
pub fn closest<'k>(
    unknown: &str,
    candidates: impl IntoIterator<Item = &'k str>,
) -> Option<&'k str> {
    let unknown = unknown.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|candidate| (strsim::osa_distance(&unknown, candidate), candidate))
        .filter(|&(distance, candidate)| {
            let length = candidate.chars().count();
            distance <= 2.max(length / 3) && distance < length
        })
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: [&str; 4] = ["interval", "timeout", "id", "name"];

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(closest("intervall", KEYS), Some("interval"));
        assert_eq!(closest("Timeout", KEYS), Some("timeout"));
        assert_eq!(closest("timout", KEYS), Some("timeout"));
        assert_eq!(closest("colour", KEYS), None);
        assert_eq!(closest("x", KEYS), None);
        assert_eq!(closest("anything", []), None);
    }

    #[test]
    fn a_swap_of_two_letters_is_one_edit() {
        // Plain Levenshtein counts "di" as two edits from "id", as far as
        // retyping it, and would suggest nothing.
        assert_eq!(closest("di", KEYS), Some("id"));
        assert_eq!(closest("reigon", ["region", "listen"]), Some("region"));
    }

    #[test]
    fn the_first_of_equally_close_names_wins() {
        assert_eq!(closest("ab", ["ax", "ay"]), Some("ax"));
        assert_eq!(closest("ab", ["ay", "ax"]), Some("ay"));
    }
}

//! DynamoDB's reserved words: an expression that names one of them directly (not through a `#name`
//! placeholder) is refused. The list is AWS's ("Reserved words in DynamoDB", Amazon DynamoDB
//! Developer Guide), one word a line in `reserved_words.txt`, sorted.

const WORDS: &str = include_str!("reserved_words.txt");

/// Whether `word` is reserved (case-insensitive, as DynamoDB matches them).
pub(crate) fn is_reserved(word: &str) -> bool {
    let upper = word.to_ascii_uppercase();
    words().binary_search(&upper.as_str()).is_ok()
}

fn words() -> &'static [&'static str] {
    static LIST: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    LIST.get_or_init(|| WORDS.lines().map(str::trim).filter(|l| !l.is_empty()).collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn common_words_are_reserved_and_others_not() {
        for word in ["name", "NAME", "count", "status", "data", "size", "value"] {
            assert!(super::is_reserved(word), "{word}");
        }
        for word in ["id", "price", "tags", "n", "v"] {
            assert!(!super::is_reserved(word), "{word}");
        }
    }
}

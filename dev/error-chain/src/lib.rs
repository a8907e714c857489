//! Display-or-source, never both: the error-chain check every crate's tests share (a
//! dev-dependency of uip-types, uip-client, uip-webhook-verify and uip-sandbox, never published),
//! so that each crate checks its public errors the same way.
//!
//! ```
//! #[derive(Debug)]
//! struct Outer(std::io::Error);
//! impl std::fmt::Display for Outer {
//!     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
//!         f.write_str("could not read the file")
//!     }
//! }
//! impl std::error::Error for Outer {
//!     fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
//!         Some(&self.0)
//!     }
//! }
//! let err = Outer(std::io::Error::other("disk on fire"));
//! uip_dev_error_chain::assert_chain(&err, 2);
//! assert_eq!(uip_dev_error_chain::chain(&err), ["could not read the file", "disk on fire"]);
//! ```

#![forbid(unsafe_code)]

use std::error::Error;

/// The text of an error and of every cause below it, outermost first.
pub fn chain(err: &(dyn Error + 'static)) -> Vec<String> {
    let mut texts = vec![err.to_string()];
    let mut next = err.source();
    while let Some(e) = next {
        texts.push(e.to_string());
        next = e.source();
    }
    texts
}

/// Panics when a text of the chain appears twice: an error that repeats (contains) the text of
/// any cause below it prints that text twice when the chain is reported. Also refuses empty texts
/// (a cause that says nothing).
pub fn assert_no_text_twice(err: &(dyn Error + 'static)) {
    let texts = chain(err);
    for (i, outer) in texts.iter().enumerate() {
        assert!(!outer.trim().is_empty(), "an empty text in the chain {texts:#?}");
        for inner in &texts[i + 1..] {
            assert!(!outer.contains(inner.as_str()), "{inner:?} is printed twice in the chain {texts:#?}");
        }
    }
}

/// [`assert_no_text_twice`], and the chain has exactly `depth` texts (1 = no source).
pub fn assert_chain(err: &(dyn Error + 'static), depth: usize) {
    assert_no_text_twice(err);
    let texts = chain(err);
    assert_eq!(texts.len(), depth, "{texts:#?}");
}

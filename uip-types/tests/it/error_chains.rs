//! Display-or-source for uip-types' public errors: each variant's chain prints every text once.

use uip_dev_error_chain::assert_chain;
use uip_types::validate::ValidationError;
use uip_types::ChainError;
use uip_types::ErrorCode;

#[test]
fn every_chain_error_prints_its_text_once() {
    for err in [
        ChainError::StageOutOfOrder { index: 2 },
        ChainError::BrokenLink { stage: 1 },
        ChainError::HashMismatch { stage: 3 },
    ] {
        assert_chain(&err, 1);
    }
}

#[test]
fn a_validation_error_prints_its_text_once() {
    let err = ValidationError::new(ErrorCode::InvalidField, "too long").with_param("metadata.cart");
    assert_chain(&err, 1);
    assert_chain(&ValidationError::new(ErrorCode::InvalidSteps, "steps must have 1 to 20 entries"), 1);
    let parsed = uip_types::validate::parse_create_session(&serde_json::json!({"steps": []})).unwrap_err();
    assert_chain(&parsed, 1);
}

#[test]
fn the_check_catches_a_repeated_cause() {
    #[derive(Debug)]
    struct Both(std::io::Error);
    impl std::fmt::Display for Both {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "reading failed: {}", self.0)
        }
    }
    impl std::error::Error for Both {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }
    let both = Both(std::io::Error::other("disk gone"));
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        uip_dev_error_chain::assert_no_text_twice(&both)
    }));
    assert!(caught.is_err(), "a source printed by its parent is refused");
}

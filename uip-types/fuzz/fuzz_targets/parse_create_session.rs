//! Fuzzes the create-session parser, `uip_types::validate::parse_create_session`, on JSON input.
//!
//! Checked on every input that is JSON: nothing panics; an accepted request re-serializes to a
//! body that parses back to the same request, the serde `Deserialize` path agrees with the
//! function, it has 1..=20 steps, and a JSON create is refused exactly when a step is `sign`;
//! a refused one names a known 400 code (never serde_path_to_error's placeholder param `?`) and
//! serde refuses it too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use uip_types::{validate, CreateSessionRequest};

fuzz_target!(|data: &[u8]| {
    let Ok(v) = serde_json::from_slice::<Value>(data) else { return };
    match validate::parse_create_session(&v) {
        Ok(req) => {
            assert!((1..=validate::MAX_STEPS).contains(&req.steps.len()));
            assert!(req.total_price_cents() <= 3 * validate::MAX_STEPS as u64);
            let again = validate::parse_create_session(&req.to_value())
                .unwrap_or_else(|e| panic!("an accepted request does not re-validate: {e}"));
            assert_eq!(again, req, "serialize → parse is not the identity");
            let text = serde_json::to_string(&req).unwrap();
            let via_serde: CreateSessionRequest = serde_json::from_str(&text).unwrap();
            assert_eq!(via_serde, req);
            let direct: CreateSessionRequest = serde_json::from_value(v.clone())
                .unwrap_or_else(|e| panic!("Deserialize refuses what parse_create_session accepts: {e}"));
            assert_eq!(direct, req);
            assert_eq!(validate::bind_documents(&req, None).is_err(), req.has_sign_step());
            assert!(req.validate().is_ok());
        }
        Err(e) => {
            assert!(e.code.is_known(), "unknown code {}", e.code);
            assert_eq!(e.code.http_status(), Some(400), "{e}");
            assert!(!e.message.is_empty());
            // `?` is serde_path_to_error's placeholder; it may only appear as a real field name.
            if e.param.as_deref() == Some("?") {
                assert!(data.windows(3).any(|w| w == b"\"?\""), "placeholder param `?`");
            }
            assert!(
                serde_json::from_value::<CreateSessionRequest>(v).is_err(),
                "Deserialize accepts what parse refuses"
            );
        }
    }
});

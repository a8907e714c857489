//! Fuzzes the hosted page's wallet-response parser: `POST /s/{id}/response` bodies
//! (`uip_types::sandbox::WalletResponse`, with its custom credential).
//!
//! Checked on every input: nothing panics; an accepted body re-serializes to one that parses to
//! the same value (when it holds no floating-point number, whose text form serde_json may not
//! round-trip to the last bit) and is a fixpoint of serialize → parse → serialize.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use uip_types::sandbox::WalletResponse;

fn has_float(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.is_f64(),
        Value::Array(a) => a.iter().any(has_float),
        Value::Object(m) => m.values().any(has_float),
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(resp) = serde_json::from_slice::<WalletResponse>(data) else { return };
    let text = serde_json::to_string(&resp).unwrap();
    let back: WalletResponse = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("re-serialized body does not parse: {e}: {text}"));
    let floats = resp.credential.as_ref().is_some_and(|c| c.claims.values().any(has_float));
    if !floats {
        assert_eq!(back, resp);
    }
    let text2 = serde_json::to_string(&back).unwrap();
    let back2: WalletResponse = serde_json::from_str(&text2).unwrap();
    assert_eq!(serde_json::to_string(&back2).unwrap(), text2, "not a fixpoint");
    // Known wallets stay known, unknown ones stay verbatim.
    assert_eq!(back.wallet.as_str(), resp.wallet.as_str());
});

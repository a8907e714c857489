//! `Debug` never prints a capability (session id, session URL, binding token) or a secret (API
//! key, webhook secret), on its own or inside the structs that carry it.

use std::collections::BTreeMap;

use uip_types::sandbox::{BusinessCredentials, BusinessView, OpenResponse, Trust};
use uip_types::{
    ApiKey, BindingToken, CreatedSession, DecisionResponse, EventContext, SessionEnded, SessionId,
    SessionStatus, SessionUrl, SessionView, WebhookEvent, WebhookSecret,
};

const SID: &str = "sess_7Hq2LmZ9pX4rT1vB8nC3dK6w";
const RANDOM: &str = "7Hq2LmZ9pX4rT1vB8nC3dK6w";
const API_KEY: &str = "uip_test_4fJ9kL2mN7pQ1rS5tV8wX0yZ3aB6cD9e";
const WH_SECRET: &str = "uip_whsec_Zx8Cv7Bn6Mm5Ll4Kk3Jj2Hh1Gg0Ff9Ee";
const BINDING: &str = "b1nd1ngT0k3nAbCdEfGhIjKlMnOp";

/// No window of 6 consecutive characters of the secret's random part shows up.
fn assert_hidden(debug: &str, secret: &str) {
    let chars: Vec<char> = secret.chars().collect();
    for w in chars.windows(6) {
        let piece: String = w.iter().collect();
        assert!(!debug.contains(&piece), "`{debug}` leaks `{piece}` of the secret");
    }
}

#[test]
fn session_id_debug_shows_only_a_short_prefix() {
    let id = SessionId::from(SID);
    let dbg = format!("{id:?}");
    assert!(dbg.starts_with("SessionId(sess_"), "{dbg}");
    assert!(dbg.contains("redacted"), "{dbg}");
    assert!(!dbg.contains(SID));
    // At most the first four random characters are shown.
    assert_hidden(&dbg, &RANDOM[4..]);
    assert!(!dbg.contains(&RANDOM[..5]), "{dbg}");
    // Display and as_str give the whole id: it is needed on the wire.
    assert_eq!(id.to_string(), SID);
    assert_eq!(id.as_str(), SID);
    assert_eq!(format!("{:#?}", id), dbg);
    assert!(SessionId::is_well_formed(SID));
    assert!(!SessionId::is_well_formed("sess_short"));
    assert!(!SessionId::is_well_formed("sess_7Hq2LmZ9pX4rT1vB8nC3dK6-"));
    assert!(!SessionId::is_well_formed("sesn_7Hq2LmZ9pX4rT1vB8nC3dK6w"));
}

#[test]
fn secret_strings_debug_as_redacted() {
    let url = SessionUrl::new(format!("https://uip.digital/s/{SID}"));
    let key = ApiKey::new(API_KEY);
    let secret = WebhookSecret::new(WH_SECRET);
    let binding = BindingToken::new(BINDING);
    assert_eq!(format!("{url:?}"), "SessionUrl([redacted])");
    assert_eq!(format!("{key:?}"), "ApiKey([redacted])");
    assert_eq!(format!("{secret:?}"), "WebhookSecret([redacted])");
    assert_eq!(format!("{binding:?}"), "BindingToken([redacted])");
    assert_eq!(format!("{key:#?}"), "ApiKey([redacted])");
    // The values are still reachable on purpose, and serialize in full.
    assert_eq!(key.expose(), API_KEY);
    assert_eq!(serde_json::to_value(&secret).unwrap(), serde_json::json!(WH_SECRET));
    assert_eq!(serde_json::from_value::<BindingToken>(serde_json::json!(BINDING)).unwrap(), binding);
}

#[test]
fn structs_carrying_capabilities_do_not_leak_them() {
    let created = CreatedSession::new(
        SID,
        SessionUrl::new(format!("http://127.0.0.1:8787/s/{SID}")),
        chrono::DateTime::from_timestamp(1_780_833_600, 0).unwrap(),
    );
    for dbg in [format!("{created:?}"), format!("{created:#?}")] {
        assert!(!dbg.contains(SID), "{dbg}");
        assert_hidden(&dbg, &RANDOM[4..]);
    }

    // The variant shape's results carry audit ids, which embed the session id.
    let view = SessionView::new(SID, SessionStatus::InProgress, 0, 1).with_results(vec![
        uip_types::VerifiedStep::new(
            0,
            uip_types::Primitive::AgeVerify,
            chrono::DateTime::from_timestamp(1_780_833_600, 0).unwrap(),
            format!("{SID}_0"),
            uip_types::StepResult::AgeVerify { satisfied: true, min_age: None },
        ),
    ]);
    assert_hidden(&format!("{view:?}"), &RANDOM[4..]);
    let decision = DecisionResponse::new(SID, SessionStatus::Stopped, 0, 1);
    assert_hidden(&format!("{decision:?}"), &RANDOM[4..]);

    let ended = WebhookEvent::SessionCompleted(SessionEnded::new(
        EventContext::new(SID).with_metadata(BTreeMap::new()),
        SessionStatus::Completed,
    ));
    assert_hidden(&format!("{ended:?}"), &RANDOM[4..]);

    let open = OpenResponse::new(BindingToken::new(BINDING));
    assert_hidden(&format!("{open:?}"), BINDING);
}

#[test]
fn business_credentials_do_not_leak_secrets() {
    let creds = BusinessCredentials::new(
        "biz_1",
        ApiKey::new(API_KEY),
        WebhookSecret::new(WH_SECRET),
        100_000,
        Trust::Demo,
    )
    .with_webhook_url("http://127.0.0.1:9000/hooks");
    for dbg in [format!("{creds:?}"), format!("{creds:#?}")] {
        assert_hidden(&dbg, API_KEY.strip_prefix("uip_test_").unwrap());
        assert_hidden(&dbg, WH_SECRET.strip_prefix("uip_whsec_").unwrap());
        assert!(dbg.contains("biz_1"), "non-secret fields stay visible: {dbg}");
    }
    let view = BusinessView::new("biz_1", "Shop", WebhookSecret::new(WH_SECRET), 1, Trust::Production);
    assert_hidden(&format!("{view:?}"), WH_SECRET.strip_prefix("uip_whsec_").unwrap());
    // Parsed from the wire, too.
    let parsed: BusinessCredentials = serde_json::from_str(&serde_json::to_string(&creds).unwrap()).unwrap();
    assert_eq!(parsed, creds);
    assert_hidden(&format!("{parsed:?}"), API_KEY.strip_prefix("uip_test_").unwrap());
}

#[test]
fn audit_ids_embedding_the_session_id_are_redacted_too() {
    let audit: uip_types::AuditRecord = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/resources/decisions/audit_sign.json"
        ))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(audit.id, format!("{SID}_3"));
    let dbg = format!("{audit:?}");
    assert_hidden(&dbg, &RANDOM[4..]);
    assert!(dbg.contains("AuditRecord {") && dbg.contains("contract.pdf"), "{dbg}");

    let step = WebhookEvent::StepCompleted(uip_types::StepCompleted::new(
        EventContext::new(SID),
        0,
        uip_types::Primitive::AgeVerify,
        uip_types::StepResult::AgeVerify { satisfied: true, min_age: Some(18) },
    ));
    for dbg in [format!("{step:?}"), format!("{step:#?}")] {
        assert_hidden(&dbg, &RANDOM[4..]);
        assert!(dbg.contains("satisfied: true"), "{dbg}");
    }
}

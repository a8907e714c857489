//! Display-or-source for uip-sandbox's public errors ([`SandboxError`], the health check's,
//! the receiver tools'): a representative error of each variant, its `source()` chain walked,
//! no text printed twice. A unit test, so that it can reach the crate's own constructors.

use std::error::Error as _;
use std::net::SocketAddr;
use std::time::Duration;

use uip_dev_error_chain::assert_chain;

use crate::healthcheck::HealthError;
use crate::receiver_tools::{parse_fault, BadUrl, EventError, EventKind, TriggerError};
use crate::{Sandbox, SandboxError};

#[tokio::test]
async fn every_sandbox_error_prints_its_causes_once() {
    // Start with a source: the address is taken; the I/O error is the source, not in the text.
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = held.local_addr().unwrap();
    let err = Sandbox::builder().listen(addr).start().await.unwrap_err();
    assert!(matches!(err, SandboxError::Start { source: Some(_), .. }), "{err:?}");
    assert_eq!(err.to_string(), format!("the sandbox could not start: could not bind {addr}"));
    assert_eq!(
        err.source().unwrap().downcast_ref::<std::io::Error>().unwrap().kind(),
        std::io::ErrorKind::AddrInUse
    );
    assert_chain(&err, 2);

    // Start without a source: a setting the sandbox refuses.
    let public = "http://sandbox.test:8080";
    let err = Sandbox::builder()
        .public_url(public)
        .webhook_url(format!("{public}/s/sess_x/open"))
        .start()
        .await
        .unwrap_err();
    assert!(matches!(err, SandboxError::Start { source: None, .. }), "{err:?}");
    assert_chain(&err, 1);

    // Transport: the HTTP library's error (and what is below it) as `dyn Error`, each once.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let http = reqwest::Client::new().get(format!("http://{closed}/")).send().await.unwrap_err();
    let err = SandboxError::transport("sending the request", http);
    assert_eq!(err.to_string(), "transport: sending the request");
    assert!(err.source().unwrap().downcast_ref::<reqwest::Error>().is_some());
    assert_no_repeat_deep(&err);
    // Transport: an answer that is not the documented JSON.
    let json = serde_json::from_slice::<serde_json::Value>(b"{nope").unwrap_err();
    let err = SandboxError::transport("decoding the answer", json);
    assert_chain(&err, 2);

    // Verify, with and without the verifier's error.
    let verify = uip_webhook_verify::VerifyError::SignatureMismatch { secrets: 1 };
    let err = SandboxError::verify("signature or payload check failed", Some(verify.clone()));
    assert_eq!(err.source().unwrap().downcast_ref::<uip_webhook_verify::VerifyError>(), Some(&verify));
    assert_chain(&err, 2);
    assert_chain(&SandboxError::verify("no signature recorded", None), 1);

    // The variants without a cause.
    for err in [
        SandboxError::invalid_field("limit", "limit is 1 to 1000"),
        SandboxError::Timeout(Duration::from_secs(5)),
        SandboxError::WaitTimeout {
            waiting_for: "sess_1 to be completed (it is in_progress)".into(),
            waited: Duration::from_secs(30),
        },
        SandboxError::SessionEnded {
            session_id: "sess_1".into(),
            status: uip_types::SessionStatus::Stopped,
            awaited: uip_types::SessionStatus::Completed,
        },
        SandboxError::DeliveryFailed { delivery_id: "dlv_1".into() },
    ] {
        assert_chain(&err, 1);
    }
}

/// The HTTP library's own chain is several levels deep; none of ours repeats any of them.
fn assert_no_repeat_deep(err: &SandboxError) {
    uip_dev_error_chain::assert_no_text_twice(err);
    assert!(uip_dev_error_chain::chain(err).len() >= 2);
}

#[test]
fn every_health_error_prints_its_text_once() {
    let addr = SocketAddr::from(([127, 0, 0, 1], 8787));
    for err in [
        HealthError::Timeout(addr, Duration::from_secs(2)),
        HealthError::Io(addr, std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
        HealthError::Unhealthy(addr, "HTTP/1.1 503 Service Unavailable".into()),
    ] {
        assert_chain(&err, 1);
    }
}

#[test]
fn every_receiver_tool_error_prints_its_text_once() {
    let events = [
        EventError::UnknownEvent("step.done".into()),
        EventError::UnknownPrimitive("scan".into()),
        parse_fault("late").unwrap_err(),
        EventError::PrimitiveNotCarried(EventKind::SessionCompleted),
        EventError::ReasonNotCarried(EventKind::StepCompleted),
        EventError::BadSessionId,
    ];
    for err in &events {
        assert_chain(err, 1);
    }
    assert_chain(&TriggerError::Url(BadUrl { url: "ftp://x".into() }), 1);
    assert_chain(&TriggerError::Event(EventError::BadSessionId), 1);
}

//! Secrets and capabilities stay out of Debug output and logs.

use crate::support as common;

use common::*;
use uip_client::Client;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ID: &str = "sess_7Hq2LmZ9pX4rT1vB8nC3dK6w";
const ID_SECRET_PART: &str = "LmZ9pX4rT1vB8nC3dK6w";

fn created_body() -> serde_json::Value {
    serde_json::json!({
        "id": ID, "status": "created", "url": format!("https://uip.digital/s/{ID}"), "expires": "2026-06-07T12:34:56Z"
    })
}

#[tokio::test]
async fn debug_of_a_client_and_a_created_session_shows_neither_key_nor_id() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/sessions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(created_body()))
        .mount(&server)
        .await;
    let c = client(&server);
    let debug = format!("{c:?}");
    assert!(!debug.contains(KEY), "{debug}");
    assert!(debug.contains("[redacted]"), "{debug}");

    let created = c.session().age_verify(18).send().await.unwrap();
    assert_eq!(created.id, ID);
    for text in [format!("{created:?}"), format!("{created:#?}")] {
        assert!(!text.contains(ID_SECRET_PART), "{text}");
        assert!(!text.contains("uip.digital/s/"), "{text}");
    }
}

#[test]
fn a_builder_and_a_client_made_with_new_redact_the_key() {
    let c = Client::new(KEY).unwrap();
    assert!(!format!("{c:?}").contains(KEY));
    assert!(!format!("{:?}", Client::builder(KEY).base_url("http://127.0.0.1:8787/v1")).contains(KEY));
}

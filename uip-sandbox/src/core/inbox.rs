//! The built-in webhook inbox: deliveries verified with their business's own secret.

use uip_types::sandbox::InboxEntry;
use uip_types::{HEADER_DELIVERY_ID, HEADER_EVENT};
use uip_webhook_verify::{HeaderSource, VerifyError};

use super::Shared;
use crate::clock;
use crate::error::ApiError;

/// `POST /_sandbox/inbox`: finds the business from `data.session_id`, verifies the delivery with
/// that business's secret and records it. `Ok(Err(_))`: recorded, but it did not verify.
pub(crate) fn receive_delivery<H: HeaderSource + ?Sized>(
    shared: &Shared,
    headers: &H,
    body: &[u8],
) -> Result<Result<(), VerifyError>, ApiError> {
    let session_id = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.pointer("/data/session_id").and_then(|s| s.as_str()).map(str::to_owned));
    let owner = session_id.and_then(|sid| {
        shared.store.read(|st| {
            let s = st.session(sid.as_str())?;
            let b = st.business(&s.business_id)?;
            Some((b.id.clone(), b.webhook_secret.clone()))
        })
    });
    let Some((biz, secret)) = owner else {
        return Err(ApiError::payload("the delivery names no session of this sandbox"));
    };
    // A header's text when it is visible ASCII (what an HTTP header value may portably hold).
    let header = |name: &str| {
        headers
            .header(name)
            .filter(|v| v.iter().all(|&c| c == b'\t' || (0x20..0x7f).contains(&c)))
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default()
    };
    let verified = uip_webhook_verify::Verifier::new(secret).and_then(|v| v.verify(headers, body)).map(drop);
    let mut entry = InboxEntry::new(
        header(HEADER_DELIVERY_ID),
        header(HEADER_EVENT),
        verified.is_ok(),
        clock::real_now(),
        String::from_utf8_lossy(body),
    );
    if let Err(e) = &verified {
        entry = entry.with_error(e.to_string());
    }
    // The inbox lives in memory only: a push waits for no group commit.
    shared.store.write_in_memory(|st| st.push_inbox(&biz, entry));
    Ok(verified)
}

/// `GET /_sandbox/inbox`: what this business's inbox received, oldest first.
pub(crate) fn inbox(shared: &Shared, biz: &str) -> Vec<InboxEntry> {
    shared.store.read(|st| st.inbox(biz).cloned().collect())
}

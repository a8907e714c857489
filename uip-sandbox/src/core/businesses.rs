//! Businesses: authentication, the control API's business routes, the clock, injected faults,
//! and seeding the default business at start.

use sha2::{Digest, Sha256};
use uip_types::sandbox::{
    BusinessCredentials, BusinessPatch, BusinessView, ClockNow, FaultPlan, NewBusiness, Trust,
};
use uip_types::{ErrorCode, WebhookSecret};

use super::Shared;
use crate::clock;
use crate::config::DEFAULT_WEBHOOK_SECRET;
use crate::engine::random_base62;
use crate::error::ApiError;
use crate::store::{Business, StoreError};

/// Hex SHA-256 of a secret, the form in which keys and binding tokens are looked up. Every
/// business-API request hashes its key, so the digits are written straight into a string of the
/// right size (`hex::encode` collects them one `char` at a time).
pub(crate) fn hash_hex(secret: &str) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(secret.as_bytes());
    let mut hex = String::with_capacity(2 * digest.len());
    for byte in digest {
        hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
        hex.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    hex
}

/// The business behind a Bearer key.
pub(crate) fn authenticate(shared: &Shared, key: Option<&str>) -> Result<String, ApiError> {
    let key = key.ok_or_else(|| {
        ApiError::new(ErrorCode::MissingApiKey, "send the API key as `Authorization: Bearer <key>`")
    })?;
    let hash = hash_hex(key);
    shared
        .store
        .read(|st| st.business_by_key(&hash).map(|b| b.id.clone()))
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidApiKey, "the API key is not valid"))
}

/// A new business: `api_key_hash` is [`hash_hex`] of its API key (only the hash is stored).
fn new_business(
    id: String,
    api_key_hash: String,
    name: String,
    webhook_secret: String,
    webhook_url: Option<String>,
    balance_cents: u64,
    trust: Trust,
) -> Business {
    Business {
        id,
        name,
        api_key_hash,
        webhook_secret: webhook_secret.into(),
        webhook_url,
        follows_inbox: false,
        balance_cents,
        trust,
        clock_offset_s: 0,
    }
}

/// A webhook URL must be an absolute http(s) URL, and not one of this sandbox's own hosted-page
/// routes (docs/DECISIONS.md §11): 400 `request/invalid-field` naming `webhook_url`.
pub(crate) fn check_webhook_url(shared: &Shared, url: &str) -> Result<(), ApiError> {
    let invalid = |message: &str| Err(ApiError::new(ErrorCode::InvalidField, message).param("webhook_url"));
    match url::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
            if shared.own_pages.contains(&u) {
                return invalid(
                    "webhook_url must not point at this sandbox's hosted pages (/s/…): a delivery \
                     would act on a user's session",
                );
            }
            Ok(())
        }
        _ => invalid("webhook_url must be an absolute http(s) URL"),
    }
}

/// `POST /_sandbox/businesses`.
pub(crate) async fn create_business(
    shared: &Shared,
    req: NewBusiness,
) -> Result<BusinessCredentials, ApiError> {
    if let Some(u) = &req.webhook_url {
        check_webhook_url(shared, u)?;
    }
    let api_key = random_base62("uip_test_", 32);
    let b = new_business(
        random_base62("biz_", 16),
        hash_hex(&api_key),
        req.name.unwrap_or_else(|| "Sandbox business".to_owned()),
        random_base62("uip_whsec_", 32),
        req.webhook_url,
        req.balance_cents.unwrap_or(100_000),
        req.trust.unwrap_or_default(),
    );
    let creds = b.credentials(&api_key);
    shared.store.write_async(|st| st.insert_business(b)).await?;
    Ok(creds)
}

/// A business to have at start (the default business; the fuzz harness's). It is found by its
/// API key. What is stored wins (docs/DECISIONS.md §11): the `Option` fields are `Some` only when
/// set explicitly (a flag, an environment variable, a builder call), and only those are applied
/// to a stored business; a new one takes the defaults for the rest.
pub(crate) struct SeedBusiness<'a> {
    /// The id it gets when it is new (a random one if another business has it).
    pub id: &'a str,
    pub api_key: &'a str,
    /// Name and starting balance of a new business (a stored one keeps its own).
    pub name: &'a str,
    pub balance_cents: u64,
    /// Set explicitly, or `None` (stored value; [`DEFAULT_WEBHOOK_SECRET`] when new).
    pub webhook_secret: Option<&'a str>,
    /// Set explicitly, or `None` (stored value; the built-in inbox when new).
    pub webhook_url: Option<String>,
    /// Set explicitly, or `None` (stored value; demo when new).
    pub trust: Option<Trust>,
    /// The built-in inbox's URL at this start: the webhook URL of a new business when none is
    /// set, and of a stored one whose URL followed the inbox (it moves with the address).
    pub inbox_url: String,
}

/// Seeds a business, or — when one with this API key is stored already — applies the settings
/// given explicitly (and logs them, secrets redacted) and keeps everything else as stored.
pub(crate) fn seed_business(
    shared: &Shared,
    seed: SeedBusiness<'_>,
) -> Result<BusinessCredentials, StoreError> {
    let key_hash = hash_hex(seed.api_key);
    // What is logged of the settings given explicitly: no secret, no URL credentials or query.
    let explicit = [
        seed.webhook_secret.map(|_| "webhook_secret = [redacted]".to_owned()),
        seed.webhook_url.as_deref().map(|u| format!("webhook_url = {}", url_for_log(u))),
        seed.trust.map(|t| format!("trust = {}", t.as_str())),
    ];
    let id = shared.store.write_blocking(|st| {
        let existing = st.business_by_key(&key_hash).map(|b| b.id.clone());
        if let Some(id) = existing {
            let refreshed = st.update_business(&id, |b| {
                // A changed secret: deliveries already signed with the old one keep it (pinned).
                let old = seed
                    .webhook_secret
                    .filter(|secret| b.webhook_secret.expose() != *secret)
                    .map(|secret| std::mem::replace(&mut b.webhook_secret, secret.into()));
                match &seed.webhook_url {
                    Some(url) => {
                        b.webhook_url = Some(url.clone());
                        b.follows_inbox = false;
                    }
                    None if b.follows_inbox => b.webhook_url = Some(seed.inbox_url.clone()),
                    None => {}
                }
                if let Some(trust) = seed.trust {
                    b.trust = trust;
                }
                (b.credentials(seed.api_key), old)
            });
            if let Some((creds, old)) = refreshed {
                if let Some(old) = old {
                    st.pin_delivered_secrets(&id, &old);
                }
                return (id, creds, "stored");
            }
        }
        let id = match st.business(seed.id) {
            None => seed.id.to_owned(),
            Some(_) => random_base62("biz_", 16),
        };
        let mut b = new_business(
            id,
            key_hash,
            seed.name.to_owned(),
            seed.webhook_secret.unwrap_or(DEFAULT_WEBHOOK_SECRET).to_owned(),
            Some(seed.webhook_url.clone().unwrap_or_else(|| seed.inbox_url.clone())),
            seed.balance_cents,
            seed.trust.unwrap_or(Trust::Demo),
        );
        b.follows_inbox = seed.webhook_url.is_none();
        let creds = b.credentials(seed.api_key);
        let id = b.id.clone();
        st.insert_business(b);
        (id, creds, "new")
    });
    let (id, creds, which) = id?;
    for setting in explicit.into_iter().flatten() {
        tracing::info!(business = %id, "start-up setting applied to the {which} business: {setting}");
    }
    Ok(creds)
}

/// A URL as it may be logged: without credentials, query or fragment.
fn url_for_log(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        }
        Err(_) => "[unparsable]".to_owned(),
    }
}

/// A business's current webhook secret.
pub(crate) fn webhook_secret(shared: &Shared, biz: &str) -> Option<WebhookSecret> {
    shared.store.read(|st| st.business(biz).map(|b| b.webhook_secret.clone()))
}

/// `GET /_sandbox/business`.
pub(crate) fn business_view(shared: &Shared, biz: &str) -> Result<BusinessView, ApiError> {
    shared
        .store
        .read(|st| st.business(biz).map(Business::view))
        .ok_or_else(|| ApiError::not_found("business"))
}

/// `PATCH /_sandbox/business`.
pub(crate) async fn patch_business(
    shared: &Shared,
    biz: &str,
    patch: BusinessPatch,
) -> Result<BusinessView, ApiError> {
    if let Some(Some(u)) = &patch.webhook_url {
        check_webhook_url(shared, u)?;
    }
    let view = shared
        .store
        .write_async(|st| {
            st.update_business(biz, |b| {
                if let Some(u) = patch.webhook_url {
                    b.webhook_url = u;
                    b.follows_inbox = false;
                }
                if let Some(n) = patch.balance_cents {
                    b.balance_cents = n;
                }
                if let Some(t) = patch.trust {
                    b.trust = t;
                }
                if let Some(n) = patch.name {
                    b.name = n;
                }
                if patch.rotate_webhook_secret == Some(true) {
                    let old =
                        std::mem::replace(&mut b.webhook_secret, random_base62("uip_whsec_", 32).into());
                    return (b.view(), Some(old));
                }
                (b.view(), None)
            })
            .map(|(view, old)| {
                if let Some(old) = old {
                    st.pin_delivered_secrets(biz, &old);
                }
                view
            })
        })
        .await?;
    view.ok_or_else(|| ApiError::not_found("business"))
}

/// `POST /_sandbox/clock/advance`.
pub(crate) async fn advance_clock(shared: &Shared, biz: &str, seconds: i64) -> Result<ClockNow, ApiError> {
    let now = shared
        .store
        .write_async(|st| {
            st.update_business(biz, |b| {
                // The clock never passes 9999-12-31T23:59:59Z (docs/DECISIONS.md §11).
                let offset = clock::advanced_offset(clock::real_now(), b.clock_offset_s, seconds)?;
                b.clock_offset_s = offset;
                Some(clock::secs(b.now()))
            })
        })
        .await?;
    let now = now.ok_or_else(|| ApiError::not_found("business"))?;
    let now = now.ok_or_else(|| {
        ApiError::new(
            ErrorCode::InvalidField,
            "seconds would move the clock past 9999-12-31T23:59:59Z, the latest time it can show",
        )
        .param("seconds")
    })?;
    Ok(ClockNow::new(now))
}

/// `POST /_sandbox/faults`. Faults live in memory only: arming them waits for no group commit.
pub(crate) fn set_faults(shared: &Shared, biz: &str, plan: FaultPlan) -> FaultPlan {
    shared.store.write_in_memory(|st| {
        if plan.fail_next == 0 {
            st.faults_mut().remove(biz);
        } else {
            st.faults_mut().insert(biz.to_owned(), plan.clone());
        }
    });
    plan
}

/// The fault plan armed for this business, if any (what is left of it).
pub(crate) fn armed_faults(shared: &Shared, biz: &str) -> Option<FaultPlan> {
    shared.store.read(|st| st.faults().get(biz).cloned())
}

/// Takes one injected fault of this business, if any is armed.
///
/// Faults live in memory only, so taking one never waits for a group commit (it reads nothing
/// that waits to be stored); and a business with none armed, the usual case, only reads.
pub(crate) fn take_fault(shared: &Shared, biz: &str) -> Option<serde_json::Value> {
    if !shared.store.read(|st| st.faults().contains_key(biz)) {
        return None;
    }
    shared.store.write_in_memory(|st| {
        let faults = st.faults_mut();
        let plan = faults.get_mut(biz)?;
        let with = plan.with.clone();
        plan.fail_next = plan.fail_next.saturating_sub(1);
        if plan.fail_next == 0 {
            faults.remove(biz);
        }
        Some(with)
    })
}

#[cfg(test)]
mod tests {
    use super::hash_hex;

    #[test]
    fn hash_hex_is_lowercase_hex_sha256() {
        // FIPS 180-2's example "abc", and the empty string.
        assert_eq!(hash_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(hash_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }
}

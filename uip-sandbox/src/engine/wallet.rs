//! The simulated wallet: personas, custom credentials, the four verification checks, and
//! Ed25519 device signatures.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use base64::Engine as _;
use chrono::NaiveDate;
use ed25519_dalek::{Signer, SigningKey};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uip_types::sandbox::{CustomCredential, PersonaInfo, Trust};
use uip_types::{Block, UNAVAILABLE};

/// A credential presented by the simulated wallet.
#[derive(Clone, Debug)]
pub(crate) struct Credential {
    pub claims: BTreeMap<String, Value>,
    pub valid_until: NaiveDate,
    pub issuer_trusted: bool,
    pub tampered: bool,
    pub key: SigningKey,
}

/// Why a credential failed verification (the `session.failed` reason).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CheckFailure {
    UntrustedIssuer,
    IntegrityCheckFailed,
    CredentialExpired,
}

impl CheckFailure {
    pub fn code(self) -> &'static str {
        match self {
            CheckFailure::UntrustedIssuer => "untrusted_issuer",
            CheckFailure::IntegrityCheckFailed => "integrity_check_failed",
            CheckFailure::CredentialExpired => "credential_expired",
        }
    }
}

impl Credential {
    /// The checks of docs/UIP-API.md §8.5 in order: issuer authenticity, data integrity, holder binding
    /// (the simulated device key always matches), freshness (validity dates on the business's date).
    pub fn check(&self, trust: Trust, today: NaiveDate) -> Result<(), CheckFailure> {
        if !self.issuer_trusted && trust == Trust::Production {
            return Err(CheckFailure::UntrustedIssuer);
        }
        if self.tampered {
            return Err(CheckFailure::IntegrityCheckFailed);
        }
        if today > self.valid_until {
            return Err(CheckFailure::CredentialExpired);
        }
        Ok(())
    }

    /// The claims for the requested blocks; missing or unknown blocks are `"unavailable"`.
    pub fn disclose(&self, blocks: &[Block]) -> BTreeMap<String, Value> {
        blocks
            .iter()
            .map(|b| {
                let v = match b {
                    Block::Other(_) => None,
                    known => self.claims.get(known.as_str()).cloned(),
                };
                (b.as_str().to_owned(), v.unwrap_or_else(|| Value::String(UNAVAILABLE.to_owned())))
            })
            .collect()
    }

    /// Age on `today` from the `dob` claim; `None` when the credential has no usable dob.
    pub fn age_on(&self, today: NaiveDate) -> Option<u32> {
        let dob = self.claims.get("dob")?.as_str()?;
        let dob = NaiveDate::parse_from_str(dob, "%Y-%m-%d").ok()?;
        today.years_since(dob)
    }

    /// Base64url (unpadded) Ed25519 signature over the UTF-8 bytes of `document_hash`.
    pub fn sign(&self, document_hash: &str) -> String {
        let sig = self.key.sign(document_hash.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sig.to_bytes())
    }

    /// Builds a custom credential; the error names the bad field.
    pub fn custom(c: &CustomCredential) -> Result<Credential, (&'static str, String)> {
        let valid_until = NaiveDate::parse_from_str(&c.valid_until, "%Y-%m-%d")
            .map_err(|_| ("credential.valid_until", "valid_until must be a YYYY-MM-DD date".to_owned()))?;
        let seed = hex::decode(&c.device_seed)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or(("credential.device_seed", "device_seed must be 64 hex characters".to_owned()))?;
        Ok(Credential {
            claims: c.claims.clone(),
            valid_until,
            issuer_trusted: c.issuer_trusted,
            tampered: c.tampered,
            key: SigningKey::from_bytes(&seed),
        })
    }
}

/// A built-in persona.
pub(crate) struct Persona {
    pub id: &'static str,
    pub description: &'static str,
    pub outcome: &'static str,
    pub credential: Credential,
}

/// A 1×1 JPEG, as a data URL: the personas' portrait.
const PORTRAIT: &str = "data:image/jpeg;base64,/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA=";

/// The device key of a persona: seed = SHA-256 of the persona id's UTF-8 bytes.
pub(crate) fn persona_key(id: &str) -> SigningKey {
    SigningKey::from_bytes(&Sha256::digest(id.as_bytes()).into())
}

fn claims(pairs: &[(&str, &str)]) -> BTreeMap<String, Value> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned()))).collect()
}

fn build_personas() -> Vec<Persona> {
    let far = NaiveDate::from_ymd_opt(2099, 12, 31).expect("valid date");
    let jane = [
        ("first_name", "Jane"),
        ("last_name", "Doe"),
        ("dob", "1990-04-01"),
        ("country", "US"),
        ("document_number", "D1234567"),
        ("portrait", PORTRAIT),
    ];
    let with_dob = |dob: &'static str| {
        let mut c = claims(&jane);
        c.insert("dob".into(), Value::String(dob.into()));
        c
    };
    let mk =
        |id: &'static str, description, outcome, claims, valid_until, issuer_trusted, tampered| Persona {
            id,
            description,
            outcome,
            credential: Credential { claims, valid_until, issuer_trusted, tampered, key: persona_key(id) },
        };
    vec![
        mk(
            "jane-doe",
            "Adult holder with a complete, valid credential",
            "verifies",
            claims(&jane),
            far,
            true,
            false,
        ),
        mk(
            "minor",
            "Holder born 2012-01-01",
            "verifies; age_verify gives satisfied:false when under age",
            with_dob("2012-01-01"),
            far,
            true,
            false,
        ),
        mk(
            "no-portrait",
            "Credential without portrait and document_number",
            "verifies; those blocks are \"unavailable\"",
            claims(&jane[..4]),
            far,
            true,
            false,
        ),
        mk(
            "expired-credential",
            "Credential whose validity ended",
            "fails credential_expired",
            claims(&jane),
            NaiveDate::from_ymd_opt(2020, 1, 1).expect("valid date"),
            true,
            false,
        ),
        mk(
            "tampered",
            "A disclosed value was altered after issuance",
            "fails integrity_check_failed",
            claims(&jane),
            far,
            true,
            true,
        ),
        mk(
            "untrusted-issuer",
            "Issuer outside the trust list",
            "verifies under demo trust, fails untrusted_issuer under production",
            claims(&jane),
            far,
            false,
            false,
        ),
    ]
}

/// Every built-in persona.
pub(crate) fn personas() -> &'static [Persona] {
    static PERSONAS: OnceLock<Vec<Persona>> = OnceLock::new();
    PERSONAS.get_or_init(build_personas)
}

/// The persona with this id.
pub(crate) fn persona(id: &str) -> Option<&'static Persona> {
    personas().iter().find(|p| p.id == id)
}

/// The default persona id.
pub(crate) const DEFAULT_PERSONA: &str = "jane-doe";

impl Persona {
    /// The wire description of `GET /_sandbox/personas`.
    pub fn info(&self) -> PersonaInfo {
        PersonaInfo::new(
            self.id,
            self.description,
            self.credential.claims.clone(),
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(self.credential.key.verifying_key().to_bytes()),
            self.outcome,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    #[test]
    fn checks_run_in_order_and_name_the_first_failure() {
        let base = || Credential {
            claims: BTreeMap::new(),
            valid_until: day(2026, 6, 7),
            issuer_trusted: true,
            tampered: false,
            key: persona_key("test"),
        };
        let today = day(2026, 6, 7);
        // (untrusted issuer, tampered, valid until, trust) → result
        let table = [
            (false, false, today, Trust::Demo, Ok(())),
            (false, false, today, Trust::Production, Err(CheckFailure::UntrustedIssuer)),
            (true, true, today, Trust::Demo, Err(CheckFailure::IntegrityCheckFailed)),
            (true, false, day(2026, 6, 6), Trust::Demo, Err(CheckFailure::CredentialExpired)),
            (true, false, today, Trust::Production, Ok(())),
            // Issuer before integrity before freshness.
            (false, true, day(2020, 1, 1), Trust::Production, Err(CheckFailure::UntrustedIssuer)),
            (true, true, day(2020, 1, 1), Trust::Production, Err(CheckFailure::IntegrityCheckFailed)),
        ];
        for (trusted, tampered, valid_until, trust, expected) in table {
            let c = Credential { issuer_trusted: trusted, tampered, valid_until, ..base() };
            assert_eq!(
                c.check(trust, today),
                expected,
                "trusted={trusted} tampered={tampered} {valid_until} {trust:?}"
            );
        }
        let codes: Vec<_> = [
            CheckFailure::UntrustedIssuer,
            CheckFailure::IntegrityCheckFailed,
            CheckFailure::CredentialExpired,
        ]
        .iter()
        .map(|f| f.code())
        .collect();
        assert_eq!(codes, ["untrusted_issuer", "integrity_check_failed", "credential_expired"]);
    }

    #[test]
    fn personas_fail_as_they_say() {
        let today = day(2026, 6, 7);
        let table = [
            ("jane-doe", Trust::Production, Ok(())),
            ("minor", Trust::Production, Ok(())),
            ("no-portrait", Trust::Production, Ok(())),
            ("expired-credential", Trust::Demo, Err(CheckFailure::CredentialExpired)),
            ("tampered", Trust::Demo, Err(CheckFailure::IntegrityCheckFailed)),
            ("untrusted-issuer", Trust::Demo, Ok(())),
            ("untrusted-issuer", Trust::Production, Err(CheckFailure::UntrustedIssuer)),
        ];
        for (id, trust, expected) in table {
            let p = persona(id).expect("built-in persona");
            assert_eq!(p.credential.check(trust, today), expected, "{id} under {trust:?}");
        }
        assert_eq!(personas().len(), 6);
    }

    #[test]
    fn age_counts_whole_years_on_the_given_date() {
        let mut c = persona("jane-doe").expect("built-in persona").credential.clone();
        c.claims.insert("dob".into(), Value::String("2008-06-07".into()));
        let table = [(day(2026, 6, 6), Some(17)), (day(2026, 6, 7), Some(18)), (day(2007, 1, 1), None)];
        for (today, age) in table {
            assert_eq!(c.age_on(today), age, "{today}");
        }
        c.claims.insert("dob".into(), Value::String("7 June 2008".into()));
        assert_eq!(c.age_on(day(2026, 6, 7)), None, "an unreadable dob gives no age");
    }
}

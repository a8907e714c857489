//! The create-session request: steps with typed params, and the optional top-level fields.

use std::collections::BTreeMap;

use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::primitive::{Block, Primitive};
use crate::validate::{self, ValidationError};

/// The body of `POST /v1/sessions` (the `session` part of a multipart create).
///
/// Deserializing runs the full validation of [`validate::parse_create_session`], so a value of
/// this type always obeys the contract's rules.
///
/// ```
/// use uip_types::{CreateSessionRequest, Step};
/// let req = CreateSessionRequest::new(vec![Step::age_verify(21).gate()]);
/// let json = serde_json::to_string(&req).unwrap();
/// assert_eq!(json, r#"{"steps":[{"primitive":"age_verify","params":{"min_age":21},"gate":true}]}"#);
/// assert!(req.validate().is_ok());
/// ```
#[derive(Clone, Debug, PartialEq, Default)]
pub struct CreateSessionRequest {
    /// Ordered steps (1..=20).
    pub steps: Vec<Step>,
    /// Echoed in every webhook and read; stamped into audits (≤ 255 chars).
    pub client_reference_id: Option<String>,
    /// Operational key/values (≤ 50 keys), echoed on webhooks and reads.
    pub metadata: Option<BTreeMap<String, String>>,
    /// `https` URL for the hosted page's "Return to" button.
    pub return_url: Option<String>,
    /// Session TTL in seconds (60..=86400, default 3600).
    pub expires_in: Option<u32>,
}

impl CreateSessionRequest {
    /// A request with these steps and nothing else.
    pub fn new(steps: Vec<Step>) -> Self {
        CreateSessionRequest { steps, ..Default::default() }
    }

    /// Checks every rule of the contract (the same function the sandbox applies).
    ///
    /// ```
    /// use uip_types::{CreateSessionRequest, ErrorCode, Step};
    /// let err = CreateSessionRequest::new(vec![Step::age_verify(0)]).validate().unwrap_err();
    /// assert_eq!(err.code, ErrorCode::InvalidParams);
    /// assert_eq!(err.param.as_deref(), Some("steps[0].params.min_age"));
    /// ```
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate::parse_create_session(&self.to_value()).map(|_| ())
    }

    /// The request as a JSON value.
    pub fn to_value(&self) -> Value {
        let mut map = Map::new();
        map.insert("steps".into(), Value::Array(self.steps.iter().map(Step::to_value).collect()));
        if let Some(c) = &self.client_reference_id {
            map.insert("client_reference_id".into(), Value::String(c.clone()));
        }
        if let Some(m) = &self.metadata {
            let obj = m.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
            map.insert("metadata".into(), Value::Object(obj));
        }
        if let Some(r) = &self.return_url {
            map.insert("return_url".into(), Value::String(r.clone()));
        }
        if let Some(e) = self.expires_in {
            map.insert("expires_in".into(), Value::from(e));
        }
        Value::Object(map)
    }

    /// Whether any step is a `sign` step (then the create must be multipart).
    pub fn has_sign_step(&self) -> bool {
        self.steps.iter().any(|s| matches!(s.params, StepParams::Sign(_)))
    }

    /// The total price of the session in cents, if every step verifies.
    pub fn total_price_cents(&self) -> u64 {
        self.steps.iter().filter_map(|s| s.primitive().price_cents()).sum()
    }
}

/// Writes the documented key order (`steps`, `client_reference_id`, `metadata`, `return_url`,
/// `expires_in`; each step `primitive`, `params`, `gate`), whatever serde_json's
/// `preserve_order` feature.
impl Serialize for CreateSessionRequest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("steps", &self.steps)?;
        if let Some(c) = &self.client_reference_id {
            map.serialize_entry("client_reference_id", c)?;
        }
        if let Some(m) = &self.metadata {
            map.serialize_entry("metadata", m)?;
        }
        if let Some(r) = &self.return_url {
            map.serialize_entry("return_url", r)?;
        }
        if let Some(e) = self.expires_in {
            map.serialize_entry("expires_in", &e)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for CreateSessionRequest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        validate::parse_create_session(&v).map_err(serde::de::Error::custom)
    }
}

/// One step of a session: what to verify, and whether to pause after it.
///
/// ```
/// use uip_types::{Block, Primitive, Step};
/// let step = Step::identify([Block::FirstName, Block::Country]).gate();
/// assert_eq!(step.primitive(), Primitive::Identify);
/// assert!(step.gate);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// The primitive and its params.
    pub params: StepParams,
    /// Pause after this step (`awaiting_decision`) until continue or stop.
    pub gate: bool,
}

/// A primitive together with its params.
#[derive(Clone, Debug, PartialEq)]
pub enum StepParams {
    /// `identify`.
    Identify(IdentifyParams),
    /// `age_verify`.
    AgeVerify(AgeVerifyParams),
    /// `light_sign`.
    LightSign(LightSignParams),
    /// `sign`.
    Sign(SignParams),
}

/// Params of `identify`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct IdentifyParams {
    /// Requested blocks; `None` means the default `first_name, last_name, dob`.
    pub blocks: Option<Vec<Block>>,
}

impl IdentifyParams {
    /// The blocks that will be asked for (the default when none were given).
    pub fn effective_blocks(&self) -> Vec<Block> {
        self.blocks.clone().unwrap_or_else(|| Block::DEFAULT.to_vec())
    }
}

/// Params of `age_verify`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct AgeVerifyParams {
    /// Threshold (1..=120); `None` means 18.
    pub min_age: Option<u8>,
}

impl AgeVerifyParams {
    /// Default threshold.
    pub const DEFAULT_MIN_AGE: u8 = 18;

    /// The threshold that applies.
    pub fn effective_min_age(&self) -> u8 {
        self.min_age.unwrap_or(Self::DEFAULT_MIN_AGE)
    }
}

/// Params of `light_sign`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct LightSignParams {
    /// The terms text the user signs (1..=10000 chars).
    pub terms: String,
    /// Optional title (≤ 200 chars).
    pub title: Option<String>,
}

/// Params of `sign`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct SignParams {
    /// Filenames of uploaded documents, in signing order. Optional when the session has exactly
    /// one sign step (then every uploaded document, in upload order).
    pub documents: Option<Vec<String>>,
}

impl Step {
    /// An `identify` step asking for these blocks.
    pub fn identify(blocks: impl IntoIterator<Item = Block>) -> Self {
        Step::new(StepParams::Identify(IdentifyParams { blocks: Some(blocks.into_iter().collect()) }))
    }

    /// An `identify` step with the default blocks.
    pub fn identify_default() -> Self {
        Step::new(StepParams::Identify(IdentifyParams::default()))
    }

    /// An `age_verify` step.
    pub fn age_verify(min_age: u8) -> Self {
        Step::new(StepParams::AgeVerify(AgeVerifyParams { min_age: Some(min_age) }))
    }

    /// A `light_sign` step over inline terms.
    pub fn light_sign(terms: impl Into<String>) -> Self {
        Step::new(StepParams::LightSign(LightSignParams { terms: terms.into(), title: None }))
    }

    /// A `sign` step over the named uploaded documents, in this order.
    pub fn sign<I, S>(documents: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Step::new(StepParams::Sign(SignParams {
            documents: Some(documents.into_iter().map(Into::into).collect()),
        }))
    }

    /// A `sign` step over every uploaded document (only valid when it is the only sign step).
    pub fn sign_all() -> Self {
        Step::new(StepParams::Sign(SignParams::default()))
    }

    /// A non-gated step from params.
    pub fn new(params: StepParams) -> Self {
        Step { params, gate: false }
    }

    /// The same step, as a gate.
    pub fn gate(mut self) -> Self {
        self.gate = true;
        self
    }

    /// Sets a title (only meaningful on `light_sign`; ignored elsewhere).
    pub fn with_title(mut self, title: impl Into<String>) -> Self {
        if let StepParams::LightSign(p) = &mut self.params {
            p.title = Some(title.into());
        }
        self
    }

    /// The step's primitive.
    pub fn primitive(&self) -> Primitive {
        match &self.params {
            StepParams::Identify(_) => Primitive::Identify,
            StepParams::AgeVerify(_) => Primitive::AgeVerify,
            StepParams::LightSign(_) => Primitive::LightSign,
            StepParams::Sign(_) => Primitive::Sign,
        }
    }

    /// The step as JSON: `{"primitive", "params"?, "gate"?}` (`gate` only when true).
    pub fn to_value(&self) -> Value {
        let mut map = Map::new();
        map.insert("primitive".into(), Value::String(self.primitive().as_str().to_owned()));
        let mut params = Map::new();
        match &self.params {
            StepParams::Identify(p) => {
                if let Some(blocks) = &p.blocks {
                    let list = blocks.iter().map(|b| Value::String(b.as_str().to_owned())).collect();
                    params.insert("blocks".into(), Value::Array(list));
                }
            }
            StepParams::AgeVerify(p) => {
                if let Some(m) = p.min_age {
                    params.insert("min_age".into(), Value::from(m));
                }
            }
            StepParams::LightSign(p) => {
                params.insert("terms".into(), Value::String(p.terms.clone()));
                if let Some(t) = &p.title {
                    params.insert("title".into(), Value::String(t.clone()));
                }
            }
            StepParams::Sign(p) => {
                if let Some(d) = &p.documents {
                    params.insert("documents".into(), d.iter().cloned().map(Value::String).collect());
                }
            }
        }
        if !params.is_empty() {
            map.insert("params".into(), Value::Object(params));
        }
        if self.gate {
            map.insert("gate".into(), Value::Bool(true));
        }
        Value::Object(map)
    }
}

impl Serialize for Step {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("primitive", self.primitive().as_str())?;
        let has_params = match &self.params {
            StepParams::Identify(p) => p.blocks.is_some(),
            StepParams::AgeVerify(p) => p.min_age.is_some(),
            StepParams::LightSign(_) => true,
            StepParams::Sign(p) => p.documents.is_some(),
        };
        if has_params {
            map.serialize_entry("params", &Params(&self.params))?;
        }
        if self.gate {
            map.serialize_entry("gate", &true)?;
        }
        map.end()
    }
}

/// A step's `params` object, in the documented key order.
struct Params<'a>(&'a StepParams);

impl Serialize for Params<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        match self.0 {
            StepParams::Identify(p) => {
                if let Some(blocks) = &p.blocks {
                    let names: Vec<&str> = blocks.iter().map(|b| b.as_str()).collect();
                    map.serialize_entry("blocks", &names)?;
                }
            }
            StepParams::AgeVerify(p) => {
                if let Some(m) = p.min_age {
                    map.serialize_entry("min_age", &m)?;
                }
            }
            StepParams::LightSign(p) => {
                map.serialize_entry("terms", &p.terms)?;
                if let Some(t) = &p.title {
                    map.serialize_entry("title", t)?;
                }
            }
            StepParams::Sign(p) => {
                if let Some(d) = &p.documents {
                    map.serialize_entry("documents", d)?;
                }
            }
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        validate::parse_step(&v, 0).map_err(serde::de::Error::custom)
    }
}

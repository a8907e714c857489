//! The contract's request rules, expressed once: the sandbox enforces them and the client
//! checks them before a request leaves.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

use crate::error::{ApiErrorBody, ErrorCode};
use crate::primitive::Block;
use crate::request::{
    AgeVerifyParams, CreateSessionRequest, IdentifyParams, LightSignParams, SignParams, Step, StepParams,
};

/// Largest `balance_cents` the sandbox's control API takes (a business balance is stored as a
/// signed 64-bit integer).
pub const MAX_BALANCE_CENTS: u64 = i64::MAX as u64;
/// Largest `steps` of `POST /_sandbox/sessions/{id}/simulate` (one call answers at most 100).
pub const MAX_SIMULATE_STEPS: u32 = u32::MAX;
/// Most steps a session may have.
pub const MAX_STEPS: usize = 20;
/// Longest `client_reference_id`, in Unicode scalar values.
pub const MAX_CLIENT_REFERENCE_ID: usize = 255;
/// Most metadata keys.
pub const MAX_METADATA_KEYS: usize = 50;
/// Longest metadata key.
pub const MAX_METADATA_KEY: usize = 40;
/// Longest metadata value.
pub const MAX_METADATA_VALUE: usize = 500;
/// Longest `return_url`.
pub const MAX_RETURN_URL: usize = 2048;
/// Allowed `expires_in` range, seconds.
pub const EXPIRES_IN: std::ops::RangeInclusive<u32> = 60..=86400;
/// Default session TTL, seconds.
pub const DEFAULT_EXPIRES_IN: u32 = 3600;
/// Allowed `min_age` range.
pub const MIN_AGE: std::ops::RangeInclusive<u8> = 1..=120;
/// Longest light_sign `terms`.
pub const MAX_TERMS: usize = 10_000;
/// Longest light_sign `title`.
pub const MAX_TITLE: usize = 200;
/// Longest Idempotency-Key.
pub const MAX_IDEMPOTENCY_KEY: usize = 255;
/// Most documents in one create.
pub const MAX_DOCUMENTS: usize = 50;
/// Most document bytes in one create (50 MiB).
pub const MAX_DOCUMENT_BYTES: u64 = 50 * 1024 * 1024;
/// Largest JSON body (1 MiB).
pub const MAX_JSON_BODY: usize = 1024 * 1024;
/// Largest multipart body: documents plus 1 MiB.
pub const MAX_MULTIPART_BODY: usize = MAX_DOCUMENT_BYTES as usize + MAX_JSON_BODY;

/// A broken rule: the error code, a message, and the field at fault.
///
/// ```
/// use uip_types::{validate, ErrorCode};
/// let err = validate::parse_create_session(&serde_json::json!({"steps": []})).unwrap_err();
/// assert_eq!(err.code, ErrorCode::InvalidSteps);
/// assert_eq!(err.to_string(), "steps: steps must have 1 to 20 entries");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ValidationError {
    /// The error code the sandbox answers with (all are HTTP 400 except where noted).
    pub code: ErrorCode,
    /// What is wrong.
    pub message: String,
    /// The field at fault, as a path.
    pub param: Option<String>,
}

impl ValidationError {
    fn at(code: ErrorCode, param: impl Into<String>, message: impl Into<String>) -> Self {
        ValidationError { code, message: message.into(), param: Some(param.into()) }
    }

    /// A broken rule with this code and message, naming no field (see [`with_param`](Self::with_param)).
    ///
    /// ```
    /// use uip_types::{validate::ValidationError, ErrorCode};
    /// let err = ValidationError::new(ErrorCode::InvalidField, "too long").with_param("metadata.cart");
    /// assert_eq!(err.to_string(), "metadata.cart: too long");
    /// ```
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ValidationError { code, message: message.into(), param: None }
    }

    /// The same error naming the field at fault, as a path such as `steps[0].params.min_age`.
    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    /// The error body the sandbox answers with.
    pub fn to_body(&self) -> ApiErrorBody {
        ApiErrorBody { error: self.message.clone(), code: Some(self.code.clone()), param: self.param.clone() }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.param {
            Some(p) => write!(f, "{p}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ValidationError {}

fn chars(s: &str) -> usize {
    s.chars().count()
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

const TOP_LEVEL_FIELDS: [&str; 5] = ["steps", "client_reference_id", "metadata", "return_url", "expires_in"];

/// Parses and validates a create-session body given as JSON.
///
/// Error codes follow docs/DECISIONS.md §10: syntax and unknown top-level fields →
/// `request/invalid-payload`; `steps` missing / not an array / empty / over 20 or a step that is
/// not an object → `request/invalid-steps`; a missing, non-string or unknown primitive →
/// `request/unknown-primitive`; anything else wrong inside a step → `request/invalid-params`;
/// a wrong top-level field → `request/invalid-field`. `null` optional fields count as absent.
///
/// ```
/// use uip_types::{validate, ErrorCode};
/// let err = validate::parse_create_session(&serde_json::json!({
///     "steps": [{"primitive": "identify"}], "expires_in": 30
/// })).unwrap_err();
/// assert_eq!((err.code, err.param.as_deref()), (ErrorCode::InvalidField, Some("expires_in")));
/// ```
pub fn parse_create_session(v: &Value) -> Result<CreateSessionRequest, ValidationError> {
    let obj = v.as_object().ok_or_else(|| ValidationError {
        code: ErrorCode::InvalidPayload,
        message: format!("the body must be a JSON object, not {}", kind(v)),
        param: None,
    })?;
    if let Some(key) = obj.keys().find(|k| !TOP_LEVEL_FIELDS.contains(&k.as_str())) {
        return Err(ValidationError::at(
            ErrorCode::InvalidPayload,
            key.clone(),
            format!("unknown field `{key}`"),
        ));
    }
    let steps = match obj.get("steps") {
        Some(Value::Array(a)) if !a.is_empty() && a.len() <= MAX_STEPS => a,
        Some(Value::Array(_)) | None | Some(Value::Null) => {
            return Err(ValidationError::at(
                ErrorCode::InvalidSteps,
                "steps",
                format!("steps must have 1 to {MAX_STEPS} entries"),
            ))
        }
        Some(other) => {
            return Err(ValidationError::at(
                ErrorCode::InvalidSteps,
                "steps",
                format!("steps must be an array, not {}", kind(other)),
            ))
        }
    };
    let steps = steps.iter().enumerate().map(|(i, s)| parse_step(s, i)).collect::<Result<Vec<_>, _>>()?;

    let client_reference_id = match obj.get("client_reference_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if chars(s) <= MAX_CLIENT_REFERENCE_ID => Some(s.clone()),
        Some(Value::String(_)) => {
            return Err(ValidationError::at(
                ErrorCode::InvalidField,
                "client_reference_id",
                format!("client_reference_id must be at most {MAX_CLIENT_REFERENCE_ID} characters"),
            ))
        }
        Some(other) => {
            return Err(ValidationError::at(
                ErrorCode::InvalidField,
                "client_reference_id",
                format!("client_reference_id must be a string, not {}", kind(other)),
            ))
        }
    };
    let metadata = match obj.get("metadata") {
        None | Some(Value::Null) => None,
        Some(Value::Object(m)) => Some(parse_metadata(m)?),
        Some(other) => {
            return Err(ValidationError::at(
                ErrorCode::InvalidField,
                "metadata",
                format!("metadata must be an object of strings, not {}", kind(other)),
            ))
        }
    };
    let return_url = match obj.get("return_url") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            check_return_url(s)?;
            Some(s.clone())
        }
        Some(other) => {
            return Err(ValidationError::at(
                ErrorCode::InvalidField,
                "return_url",
                format!("return_url must be a string, not {}", kind(other)),
            ))
        }
    };
    let expires_in = match obj.get("expires_in") {
        None | Some(Value::Null) => None,
        Some(n) => match n.as_u64() {
            Some(e) if EXPIRES_IN.contains(&(e.min(u32::MAX as u64) as u32)) && e <= u32::MAX as u64 => {
                Some(e as u32)
            }
            _ => {
                return Err(ValidationError::at(
                    ErrorCode::InvalidField,
                    "expires_in",
                    format!(
                        "expires_in must be an integer from {} to {}",
                        EXPIRES_IN.start(),
                        EXPIRES_IN.end()
                    ),
                ))
            }
        },
    };
    Ok(CreateSessionRequest { steps, client_reference_id, metadata, return_url, expires_in })
}

fn parse_metadata(m: &Map<String, Value>) -> Result<BTreeMap<String, String>, ValidationError> {
    if m.len() > MAX_METADATA_KEYS {
        return Err(ValidationError::at(
            ErrorCode::InvalidField,
            "metadata",
            format!("metadata may have at most {MAX_METADATA_KEYS} keys"),
        ));
    }
    let mut out = BTreeMap::new();
    for (k, v) in m {
        let param = format!("metadata.{k}");
        if k.is_empty() || chars(k) > MAX_METADATA_KEY {
            return Err(ValidationError::at(
                ErrorCode::InvalidField,
                param,
                format!("metadata keys must be 1 to {MAX_METADATA_KEY} characters"),
            ));
        }
        match v {
            Value::String(s) if chars(s) <= MAX_METADATA_VALUE => {
                out.insert(k.clone(), s.clone());
            }
            Value::String(_) => {
                return Err(ValidationError::at(
                    ErrorCode::InvalidField,
                    param,
                    format!("metadata values must be at most {MAX_METADATA_VALUE} characters"),
                ))
            }
            other => {
                return Err(ValidationError::at(
                    ErrorCode::InvalidField,
                    param,
                    format!("metadata values must be strings, not {}", kind(other)),
                ))
            }
        }
    }
    Ok(out)
}

/// Checks a `return_url`: an absolute `https` URL of at most 2048 characters.
///
/// ```
/// assert!(uip_types::validate::check_return_url("https://shop.example.com/done").is_ok());
/// assert!(uip_types::validate::check_return_url("http://shop.example.com/done").is_err());
/// ```
pub fn check_return_url(s: &str) -> Result<(), ValidationError> {
    let bad = |m: &str| Err(ValidationError::at(ErrorCode::InvalidField, "return_url", m));
    if chars(s) > MAX_RETURN_URL {
        return bad("return_url must be at most 2048 characters");
    }
    match url::Url::parse(s) {
        Ok(u) if u.scheme() == "https" && u.host_str().is_some_and(|h| !h.is_empty()) => Ok(()),
        Ok(_) => bad("return_url must be an absolute https URL"),
        Err(e) => Err(ValidationError::at(
            ErrorCode::InvalidField,
            "return_url",
            format!("return_url is not a valid URL: {e}"),
        )),
    }
}

/// Checks an `Idempotency-Key` header value: 1 to 255 visible ASCII characters.
///
/// ```
/// assert!(uip_types::validate::check_idempotency_key("7c2e1f9a-0b1c").is_ok());
/// assert!(uip_types::validate::check_idempotency_key("has space").is_err());
/// ```
pub fn check_idempotency_key(key: &str) -> Result<(), ValidationError> {
    if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ValidationError::at(
            ErrorCode::InvalidField,
            "Idempotency-Key",
            format!("Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters"),
        ));
    }
    Ok(())
}

fn step_param(i: usize, rest: &str) -> String {
    format!("steps[{i}]{rest}")
}

fn invalid_params(i: usize, rest: &str, message: impl Into<String>) -> ValidationError {
    ValidationError::at(ErrorCode::InvalidParams, step_param(i, rest), message)
}

/// Parses and validates one step (`index` is used in `param` paths).
///
/// ```
/// use uip_types::{validate, ErrorCode};
/// let err = validate::parse_step(&serde_json::json!({"primitive": "teleport"}), 3).unwrap_err();
/// assert_eq!((err.code, err.param.as_deref()), (ErrorCode::UnknownPrimitive, Some("steps[3].primitive")));
/// ```
pub fn parse_step(v: &Value, i: usize) -> Result<Step, ValidationError> {
    let obj = v.as_object().ok_or_else(|| {
        ValidationError::at(
            ErrorCode::InvalidSteps,
            step_param(i, ""),
            format!("each step must be an object, not {}", kind(v)),
        )
    })?;
    let primitive = match obj.get("primitive") {
        Some(Value::String(s)) => s.as_str(),
        _ => {
            return Err(ValidationError::at(
                ErrorCode::UnknownPrimitive,
                step_param(i, ".primitive"),
                "primitive must be one of identify, age_verify, sign, light_sign",
            ))
        }
    };
    let gate = match obj.get("gate") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(invalid_params(i, ".gate", format!("gate must be a boolean, not {}", kind(other))))
        }
    };
    let empty = Map::new();
    let params = match obj.get("params") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(p)) => p,
        Some(other) => {
            return Err(invalid_params(
                i,
                ".params",
                format!("params must be an object, not {}", kind(other)),
            ))
        }
    };
    let allowed: &[&str] = match primitive {
        "identify" => &["blocks"],
        "age_verify" => &["min_age"],
        "light_sign" => &["terms", "title"],
        "sign" => &["documents"],
        other => {
            return Err(ValidationError::at(
                ErrorCode::UnknownPrimitive,
                step_param(i, ".primitive"),
                format!("unknown primitive `{other}`; expected identify, age_verify, sign or light_sign"),
            ))
        }
    };
    if let Some(key) = obj.keys().find(|k| !["primitive", "params", "gate"].contains(&k.as_str())) {
        return Err(invalid_params(i, &format!(".{key}"), format!("unknown step field `{key}`")));
    }
    if let Some(key) = params.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(invalid_params(
            i,
            &format!(".params.{key}"),
            format!("unknown {primitive} param `{key}`"),
        ));
    }
    let present = |k: &str| params.get(k).filter(|v| !v.is_null());
    let params = match primitive {
        "identify" => {
            let blocks = match present("blocks") {
                None => None,
                Some(v) => Some(string_list(v, i, ".params.blocks", "blocks")?),
            };
            let blocks = blocks.map(|names| {
                let mut seen = Vec::<Block>::new();
                for n in names {
                    let b = Block::parse(&n);
                    if !seen.contains(&b) {
                        seen.push(b);
                    }
                }
                seen
            });
            StepParams::Identify(IdentifyParams { blocks })
        }
        "age_verify" => {
            let min_age = match present("min_age") {
                None => None,
                Some(v) => match v.as_u64() {
                    Some(n) if n >= *MIN_AGE.start() as u64 && n <= *MIN_AGE.end() as u64 => Some(n as u8),
                    _ => {
                        return Err(invalid_params(
                            i,
                            ".params.min_age",
                            format!(
                                "min_age must be an integer from {} to {}",
                                MIN_AGE.start(),
                                MIN_AGE.end()
                            ),
                        ))
                    }
                },
            };
            StepParams::AgeVerify(AgeVerifyParams { min_age })
        }
        "light_sign" => {
            let terms = match present("terms") {
                Some(Value::String(s)) if !s.is_empty() && chars(s) <= MAX_TERMS => s.clone(),
                Some(Value::String(_)) => {
                    return Err(invalid_params(
                        i,
                        ".params.terms",
                        format!("terms must be 1 to {MAX_TERMS} characters"),
                    ))
                }
                Some(other) => {
                    return Err(invalid_params(
                        i,
                        ".params.terms",
                        format!("terms must be a string, not {}", kind(other)),
                    ))
                }
                None => return Err(invalid_params(i, ".params.terms", "light_sign needs params.terms")),
            };
            let title = match present("title") {
                None => None,
                Some(Value::String(s)) if chars(s) <= MAX_TITLE => Some(s.clone()),
                Some(Value::String(_)) => {
                    return Err(invalid_params(
                        i,
                        ".params.title",
                        format!("title must be at most {MAX_TITLE} characters"),
                    ))
                }
                Some(other) => {
                    return Err(invalid_params(
                        i,
                        ".params.title",
                        format!("title must be a string, not {}", kind(other)),
                    ))
                }
            };
            StepParams::LightSign(LightSignParams { terms, title })
        }
        _ => {
            let documents = match present("documents") {
                None => None,
                Some(v) => {
                    let names = string_list(v, i, ".params.documents", "documents")?;
                    if names.is_empty() {
                        return Err(invalid_params(
                            i,
                            ".params.documents",
                            "documents must name at least one document",
                        ));
                    }
                    Some(names)
                }
            };
            StepParams::Sign(SignParams { documents })
        }
    };
    Ok(Step { params, gate })
}

fn string_list(v: &Value, i: usize, rest: &str, name: &str) -> Result<Vec<String>, ValidationError> {
    let arr = v.as_array().ok_or_else(|| {
        invalid_params(i, rest, format!("{name} must be an array of strings, not {}", kind(v)))
    })?;
    arr.iter()
        .enumerate()
        .map(|(j, x)| {
            x.as_str().map(str::to_owned).ok_or_else(|| {
                invalid_params(
                    i,
                    &format!("{rest}[{j}]"),
                    format!("{name} entries must be strings, not {}", kind(x)),
                )
            })
        })
        .collect()
}

/// Binds uploaded documents to sign steps (docs/DECISIONS.md §2).
///
/// `uploaded` are the filenames of the `document` parts, in upload order. Returns, for each step,
/// the indices into `uploaded` it signs, in signing order (empty for non-sign steps).
/// Errors (`request/invalid-params`): a JSON create with a sign step (`uploaded` is `None`), zero
/// documents, duplicate filenames, a name with no uploaded part, an uploaded part no sign step uses,
/// `documents` omitted while several sign steps exist, or over 50 documents.
///
/// ```
/// use uip_types::{validate, CreateSessionRequest, Step};
/// let req = CreateSessionRequest::new(vec![Step::sign(["b.pdf", "a.pdf"])]);
/// let map = validate::bind_documents(&req, Some(&["a.pdf", "b.pdf"])).unwrap();
/// assert_eq!(map, vec![vec![1, 0]]);
/// ```
pub fn bind_documents(
    req: &CreateSessionRequest,
    uploaded: Option<&[&str]>,
) -> Result<Vec<Vec<usize>>, ValidationError> {
    let sign_steps: Vec<usize> = req
        .steps
        .iter()
        .enumerate()
        .filter(|(_, s)| matches!(s.params, StepParams::Sign(_)))
        .map(|(i, _)| i)
        .collect();
    let uploaded = match uploaded {
        Some(u) => u,
        None if sign_steps.is_empty() => return Ok(vec![Vec::new(); req.steps.len()]),
        None => {
            return Err(invalid_params(
                sign_steps[0],
                "",
                "sign needs multipart/form-data with document parts",
            ))
        }
    };
    if uploaded.len() > MAX_DOCUMENTS {
        return Err(ValidationError::at(
            ErrorCode::TooLarge,
            "document",
            format!("at most {MAX_DOCUMENTS} documents may be uploaded"),
        ));
    }
    for (j, name) in uploaded.iter().enumerate() {
        if name.is_empty() {
            return Err(ValidationError::at(
                ErrorCode::InvalidParams,
                "document",
                "every document needs a filename",
            ));
        }
        if uploaded[..j].contains(name) {
            return Err(ValidationError::at(
                ErrorCode::InvalidParams,
                "document",
                format!("duplicate document filename `{name}`"),
            ));
        }
    }
    if sign_steps.is_empty() && !uploaded.is_empty() {
        return Err(ValidationError::at(
            ErrorCode::InvalidParams,
            "document",
            "documents were uploaded but no step is a sign step",
        ));
    }
    let mut used = vec![false; uploaded.len()];
    let mut out = vec![Vec::new(); req.steps.len()];
    for &i in &sign_steps {
        let StepParams::Sign(p) = &req.steps[i].params else { continue };
        let indices: Vec<usize> = match &p.documents {
            None if sign_steps.len() == 1 => (0..uploaded.len()).collect(),
            None => {
                return Err(invalid_params(
                    i,
                    ".params.documents",
                    "documents must be listed when a session has several sign steps",
                ))
            }
            Some(names) => {
                let mut idx = Vec::with_capacity(names.len());
                for (j, n) in names.iter().enumerate() {
                    let k = uploaded.iter().position(|u| u == n).ok_or_else(|| {
                        invalid_params(
                            i,
                            &format!(".params.documents[{j}]"),
                            format!("no uploaded document is named `{n}`"),
                        )
                    })?;
                    idx.push(k);
                }
                idx
            }
        };
        if indices.is_empty() {
            return Err(invalid_params(i, ".params.documents", "a sign step needs at least one document"));
        }
        for &k in &indices {
            used[k] = true;
        }
        out[i] = indices;
    }
    if let Some(k) = used.iter().position(|u| !u) {
        return Err(ValidationError::at(
            ErrorCode::InvalidParams,
            "document",
            format!("uploaded document `{}` is not used by any sign step", uploaded[k]),
        ));
    }
    Ok(out)
}

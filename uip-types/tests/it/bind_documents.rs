//! `validate::bind_documents`: how uploaded `document` parts bind to sign steps (docs/DECISIONS.md §2).

use uip_types::validate::{self, ValidationError};
use uip_types::{CreateSessionRequest, ErrorCode, Step};

const NONE: Vec<usize> = Vec::new();

fn req(steps: Vec<Step>) -> CreateSessionRequest {
    CreateSessionRequest::new(steps)
}

fn err(r: &CreateSessionRequest, uploaded: Option<&[&str]>) -> ValidationError {
    validate::bind_documents(r, uploaded).unwrap_err()
}

#[test]
fn one_sign_step_without_list_takes_every_upload_in_upload_order() {
    let r = req(vec![Step::identify_default(), Step::sign_all(), Step::age_verify(18)]);
    let map = validate::bind_documents(&r, Some(&["b.pdf", "a.pdf", "c.txt"])).unwrap();
    assert_eq!(map, vec![vec![], vec![0, 1, 2], vec![]]);
    let map = validate::bind_documents(&r, Some(&["only.pdf"])).unwrap();
    assert_eq!(map, vec![vec![], vec![0], vec![]]);
}

#[test]
fn one_sign_step_with_list_uses_the_declared_order() {
    let r = req(vec![Step::sign(["c.txt", "a.pdf", "b.pdf"])]);
    let map = validate::bind_documents(&r, Some(&["a.pdf", "b.pdf", "c.txt"])).unwrap();
    assert_eq!(map, vec![vec![2, 0, 1]]);
}

#[test]
fn several_sign_steps_need_explicit_lists() {
    let r = req(vec![Step::sign_all(), Step::identify_default(), Step::sign_all()]);
    let e = err(&r, Some(&["a.pdf", "b.pdf"]));
    assert_eq!(
        (e.code.clone(), e.param.as_deref()),
        (ErrorCode::InvalidParams, Some("steps[0].params.documents"))
    );

    let r = req(vec![Step::sign(["a.pdf"]), Step::identify_default(), Step::sign_all()]);
    let e = err(&r, Some(&["a.pdf", "b.pdf"]));
    assert_eq!(
        (e.code.clone(), e.param.as_deref()),
        (ErrorCode::InvalidParams, Some("steps[2].params.documents"))
    );

    let r = req(vec![Step::sign(["a.pdf"]), Step::identify_default(), Step::sign(["b.pdf"])]);
    assert_eq!(
        validate::bind_documents(&r, Some(&["a.pdf", "b.pdf"])).unwrap(),
        vec![vec![0], vec![], vec![1]]
    );
}

#[test]
fn a_document_listed_by_two_sign_steps_is_fine() {
    let r = req(vec![Step::sign(["terms.pdf", "a.pdf"]), Step::sign(["terms.pdf", "b.pdf"])]);
    let map = validate::bind_documents(&r, Some(&["a.pdf", "terms.pdf", "b.pdf"])).unwrap();
    assert_eq!(map, vec![vec![1, 0], vec![1, 2]]);
}

#[test]
fn a_listed_name_without_an_upload_is_refused() {
    let r = req(vec![Step::identify_default(), Step::sign(["a.pdf", "missing.pdf"])]);
    let e = err(&r, Some(&["a.pdf"]));
    assert_eq!(
        (e.code.clone(), e.param.as_deref()),
        (ErrorCode::InvalidParams, Some("steps[1].params.documents[1]"))
    );
    assert!(e.message.contains("missing.pdf"), "{e}");
}

#[test]
fn an_unused_upload_is_refused() {
    let r = req(vec![Step::sign(["a.pdf"])]);
    let e = err(&r, Some(&["a.pdf", "stray.pdf"]));
    assert_eq!((e.code.clone(), e.param.as_deref()), (ErrorCode::InvalidParams, Some("document")));
    assert!(e.message.contains("stray.pdf"), "{e}");

    // Uploads with no sign step at all.
    let r = req(vec![Step::identify_default()]);
    let e = err(&r, Some(&["a.pdf"]));
    assert_eq!((e.code.clone(), e.param.as_deref()), (ErrorCode::InvalidParams, Some("document")));
}

#[test]
fn duplicate_and_empty_filenames_are_refused() {
    let r = req(vec![Step::sign_all()]);
    let e = err(&r, Some(&["a.pdf", "b.pdf", "a.pdf"]));
    assert_eq!((e.code.clone(), e.param.as_deref()), (ErrorCode::InvalidParams, Some("document")));
    assert!(e.message.contains("duplicate") && e.message.contains("a.pdf"), "{e}");

    let e = err(&r, Some(&["a.pdf", ""]));
    assert_eq!((e.code.clone(), e.param.as_deref()), (ErrorCode::InvalidParams, Some("document")));
}

#[test]
fn a_sign_step_needs_at_least_one_document() {
    let r = req(vec![Step::identify_default(), Step::sign_all()]);
    let e = err(&r, Some(&[]));
    assert_eq!(
        (e.code.clone(), e.param.as_deref()),
        (ErrorCode::InvalidParams, Some("steps[1].params.documents"))
    );
}

#[test]
fn a_json_create_with_a_sign_step_is_refused() {
    let r = req(vec![Step::identify_default(), Step::sign(["a.pdf"])]);
    let e = err(&r, None);
    assert_eq!((e.code.clone(), e.param.as_deref()), (ErrorCode::InvalidParams, Some("steps[1]")));
    assert!(e.message.contains("multipart/form-data"), "{e}");
}

#[test]
fn sessions_without_sign_steps_bind_nothing() {
    let r = req(vec![Step::identify_default(), Step::light_sign("t")]);
    assert_eq!(validate::bind_documents(&r, None).unwrap(), vec![NONE, NONE]);
    assert_eq!(validate::bind_documents(&r, Some(&[])).unwrap(), vec![NONE, NONE]);
}

#[test]
fn at_most_fifty_documents() {
    let names: Vec<String> = (0..51).map(|i| format!("doc{i}.pdf")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let r = req(vec![Step::sign_all()]);
    let map = validate::bind_documents(&r, Some(&refs[..50])).unwrap();
    assert_eq!(map, vec![(0..50).collect::<Vec<_>>()]);
    let e = err(&r, Some(&refs));
    assert_eq!(e.code, ErrorCode::TooLarge);
    assert_eq!(e.code.http_status(), Some(413));
    assert_eq!(validate::MAX_DOCUMENTS, 50);
    assert_eq!(validate::MAX_DOCUMENT_BYTES, 50 * 1024 * 1024);
    assert_eq!(validate::MAX_MULTIPART_BODY, 51 * 1024 * 1024);
}

//! Multipart creates: the parts on the wire, and the limits checked before sending.

use crate::support as common;

use bytes::Bytes;
use common::*;
use uip_client::{CreateSessionRequest, Document, Error, ErrorCode, Step};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer};

/// One received part.
#[derive(Debug)]
struct ReceivedPart {
    name: Option<String>,
    filename: Option<String>,
    content_type: Option<String>,
    bytes: Vec<u8>,
}

/// Parses a received multipart body with `multer`, using the boundary of its content type.
async fn parts(request: &wiremock::Request) -> Vec<ReceivedPart> {
    let content_type = request.headers.get("content-type").unwrap().to_str().unwrap();
    assert!(content_type.starts_with("multipart/form-data"), "{content_type}");
    let boundary = multer::parse_boundary(content_type).unwrap();
    let body = Bytes::from(request.body.clone());
    let stream = futures::stream::once(async move { Ok::<_, std::convert::Infallible>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut out = Vec::new();
    while let Some(field) = multipart.next_field().await.unwrap() {
        let name = field.name().map(str::to_owned);
        let filename = field.file_name().map(str::to_owned);
        let content_type = field.content_type().map(|m| m.to_string());
        let bytes = field.bytes().await.unwrap().to_vec();
        out.push(ReceivedPart { name, filename, content_type, bytes });
    }
    out
}

fn temp_file(name: &str, contents: &[u8]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("uip-client-test-{}-{}", std::process::id(), uuid_like()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

fn uuid_like() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
}

#[tokio::test]
async fn a_sign_create_sends_the_session_part_then_one_document_part_per_file() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/sessions"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .respond_with(json(200, "created_session.json"))
        .expect(1)
        .mount(&server)
        .await;

    let binary: Vec<u8> = (0..=255u8).cycle().take(70_000).collect(); // every byte value, CRLFs included
    let lease = b"%PDF-1.7\r\n--not-a-boundary\r\n\r\nLease of flat 3, 12 High Street.\n".to_vec();
    let file = temp_file("lease.pdf", &lease);
    let mut req = CreateSessionRequest::new(vec![
        Step::identify_default().gate(),
        Step::sign(["lease.pdf", "scan.bin"]),
        Step::sign(["annex.txt"]),
    ]);
    req.client_reference_id = Some("order_4815".into());
    let docs = vec![
        Document::from_path(&file).await.unwrap(),
        Document::from_bytes("scan.bin", binary.clone()),
        Document::from_bytes("annex.txt", "Parking space 12 is included.")
            .with_content_type("text/plain; charset=utf-8"),
    ];
    let created = client(&server).create_session_with_documents(&req, docs).await.unwrap();
    assert_eq!(created.id, "sess_abc123");

    let requests = received(&server).await;
    let r = &requests[0];
    assert!(r.headers.get("idempotency-key").is_some());
    let content_length: usize = r.headers["content-length"].to_str().unwrap().parse().unwrap();
    assert_eq!(content_length, r.body.len());

    let parts = parts(r).await;
    let names: Vec<_> = parts.iter().map(|p| p.name.as_deref().unwrap()).collect();
    assert_eq!(names, ["session", "document", "document", "document"]);

    let session = &parts[0];
    assert_eq!(session.content_type.as_deref(), Some("application/json"));
    assert_eq!(session.filename, None);
    let sent: serde_json::Value = serde_json::from_slice(&session.bytes).unwrap();
    assert_eq!(sent, req.to_value());
    let parsed: CreateSessionRequest = serde_json::from_slice(&session.bytes).unwrap();
    assert_eq!(parsed, req);

    let docs: Vec<_> = parts[1..]
        .iter()
        .map(|p| (p.filename.as_deref().unwrap(), p.content_type.as_deref().unwrap()))
        .collect();
    assert_eq!(
        docs,
        [
            ("lease.pdf", "application/pdf"),
            ("scan.bin", "application/octet-stream"),
            ("annex.txt", "text/plain; charset=utf-8")
        ]
    );
    assert_eq!(parts[1].bytes, lease);
    assert_eq!(parts[2].bytes, binary);
    assert_eq!(parts[3].bytes, b"Parking space 12 is included.");
    std::fs::remove_file(&file).ok();
}

#[tokio::test]
async fn the_builder_sends_documents_as_multipart() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/sessions"))
        .respond_with(json(200, "created_session.json"))
        .expect(1)
        .mount(&server)
        .await;
    client(&server)
        .session()
        .light_sign("I accept.")
        .sign_all()
        .documents([Document::from_bytes("b.txt", "B"), Document::from_bytes("a.txt", "A")])
        .send()
        .await
        .unwrap();
    let parts = parts(&received(&server).await[0]).await;
    let got: Vec<_> =
        parts.iter().map(|p| (p.name.clone().unwrap(), p.filename.clone(), p.bytes.clone())).collect();
    assert_eq!(got[1], ("document".into(), Some("b.txt".into()), b"B".to_vec()));
    assert_eq!(got[2], ("document".into(), Some("a.txt".into()), b"A".to_vec()));
    assert_eq!(got.len(), 3);
}

#[tokio::test]
async fn a_51st_document_is_refused_before_any_request() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(json(200, "created_session.json"))
        .expect(0)
        .mount(&server)
        .await;
    let c = client(&server);
    let docs = |n: usize| (0..n).map(|i| Document::from_bytes(format!("d{i}.txt"), "x")).collect::<Vec<_>>();
    let req = CreateSessionRequest::new(vec![Step::sign_all()]);

    let err = c.create_session_with_documents(&req, docs(51)).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    assert_eq!(err.code(), Some(&ErrorCode::TooLarge));
    assert_eq!(err.param(), Some("document"));

    // 50 is fine (checked without sending).
    assert!(c.session().sign_all().documents(docs(50)).build().is_ok());
}

#[tokio::test]
async fn more_than_50_mib_in_total_is_refused_before_any_request() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(json(200, "created_session.json"))
        .expect(0)
        .mount(&server)
        .await;
    let c = client(&server);
    const MIB: usize = 1024 * 1024;
    let half = Bytes::from(vec![0u8; 25 * MIB]);
    let req = CreateSessionRequest::new(vec![Step::sign_all()]);

    let over = vec![
        Document::from_bytes("a.bin", half.clone()),
        Document::from_bytes("b.bin", Bytes::from(vec![0u8; 25 * MIB + 1])),
    ];
    let err = c.create_session_with_documents(&req, over).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    assert_eq!(err.code(), Some(&ErrorCode::TooLarge));

    // Exactly 50 MiB is within the limit (checked without sending).
    let exact = [Document::from_bytes("a.bin", half.clone()), Document::from_bytes("b.bin", half)];
    assert!(c.session().sign_all().documents(exact).build().is_ok());
}

#[tokio::test]
async fn documents_that_do_not_bind_to_sign_steps_are_refused_before_any_request() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(json(200, "created_session.json"))
        .expect(0)
        .mount(&server)
        .await;
    let c = client(&server);
    let a = || Document::from_bytes("a.pdf", "A");
    let cases: Vec<(CreateSessionRequest, Vec<Document>, &str)> = vec![
        // A name with no uploaded part.
        (
            CreateSessionRequest::new(vec![Step::sign(["a.pdf", "b.pdf"])]),
            vec![a()],
            "steps[0].params.documents[1]",
        ),
        // An uploaded part no sign step uses.
        (
            CreateSessionRequest::new(vec![Step::sign(["a.pdf"])]),
            vec![a(), Document::from_bytes("b.pdf", "B")],
            "document",
        ),
        // Duplicate filenames.
        (CreateSessionRequest::new(vec![Step::sign_all()]), vec![a(), a()], "document"),
        // Documents but no sign step.
        (CreateSessionRequest::new(vec![Step::age_verify(18)]), vec![a()], "document"),
        // Several sign steps must list their documents.
        (
            CreateSessionRequest::new(vec![Step::sign_all(), Step::sign(["a.pdf"])]),
            vec![a()],
            "steps[0].params.documents",
        ),
        // A sign step with no documents at all.
        (CreateSessionRequest::new(vec![Step::sign_all()]), vec![], "steps[0]"),
        // Names that cannot be carried in a part header.
        (CreateSessionRequest::new(vec![Step::sign_all()]), vec![a().with_name("a\".pdf")], "document"),
        (CreateSessionRequest::new(vec![Step::sign_all()]), vec![a().with_name("a\r\nb.pdf")], "document"),
        // A content type that is not one.
        (
            CreateSessionRequest::new(vec![Step::sign_all()]),
            vec![a().with_content_type("not a type")],
            "document",
        ),
    ];
    for (req, docs, param) in cases {
        let err = c.create_session_with_documents(&req, docs).await.unwrap_err();
        let Error::InvalidInput(v) = &err else { panic!("{param}: {err:?}") };
        assert_eq!(v.param.as_deref(), Some(param), "{err}");
    }
}

#[tokio::test]
async fn a_missing_file_is_an_io_error() {
    let err = Document::from_path("/definitely/not/here.pdf").await.unwrap_err();
    let Error::Io { path, .. } = &err else { panic!("{err:?}") };
    assert_eq!(path, std::path::Path::new("/definitely/not/here.pdf"));
    let dir = std::env::temp_dir();
    assert!(matches!(Document::from_path(&dir).await, Err(Error::Io { .. })));
}

#[tokio::test]
async fn a_file_that_changed_size_is_not_sent_truncated() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(json(200, "created_session.json"))
        .expect(0)
        .mount(&server)
        .await;
    let file = temp_file("grows.txt", b"short");
    let doc = Document::from_path(&file).await.unwrap();
    assert_eq!((doc.name(), doc.len(), doc.content_type()), ("grows.txt", 5, "text/plain"));
    std::fs::write(&file, b"much longer now").unwrap();
    let req = CreateSessionRequest::new(vec![Step::sign_all()]);
    let err = client(&server).create_session_with_documents(&req, vec![doc]).await.unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    std::fs::remove_file(&file).ok();
}

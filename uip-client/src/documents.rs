//! Documents uploaded with a `sign` session.

use std::fmt;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use reqwest::multipart::{Form, Part};
use uip_types::validate::{bind_documents, MAX_DOCUMENTS, MAX_DOCUMENT_BYTES};
use uip_types::{CreateSessionRequest, ErrorCode};

use crate::error::Error;

/// One file to upload with a create whose steps include `sign`.
///
/// Its filename is the name `sign` steps refer to in their `documents` list, and must be unique
/// within a create. The content type is guessed from the filename's extension
/// (`application/octet-stream` when unknown) and can be overridden.
///
/// ```
/// use uip_client::Document;
/// let doc = Document::from_bytes("terms.pdf", b"%PDF-1.7 ...".to_vec());
/// assert_eq!(doc.name(), "terms.pdf");
/// assert_eq!(doc.content_type(), "application/pdf");
/// assert_eq!(doc.len(), 12);
/// let doc = doc.with_content_type("application/x-custom");
/// assert_eq!(doc.content_type(), "application/x-custom");
/// ```
#[derive(Clone)]
pub struct Document {
    name: String,
    content_type: String,
    len: u64,
    source: Source,
}

#[derive(Clone)]
enum Source {
    Bytes(Bytes),
    /// Streamed from disk on every attempt.
    File(PathBuf),
}

impl fmt::Debug for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = match &self.source {
            Source::Bytes(_) => "memory",
            Source::File(_) => "file",
        };
        f.debug_struct("Document")
            .field("name", &self.name)
            .field("content_type", &self.content_type)
            .field("len", &self.len)
            .field("source", &source)
            .finish()
    }
}

fn guess(name: &str) -> String {
    mime_guess::from_path(name).first_or_octet_stream().essence_str().to_owned()
}

impl Document {
    /// A document held in memory.
    ///
    /// ```
    /// let doc = uip_client::Document::from_bytes("a.txt", "hello");
    /// assert_eq!(doc.content_type(), "text/plain");
    /// ```
    pub fn from_bytes(name: impl Into<String>, bytes: impl Into<Bytes>) -> Document {
        let name = name.into();
        let bytes = bytes.into();
        Document { content_type: guess(&name), len: bytes.len() as u64, name, source: Source::Bytes(bytes) }
    }

    /// A document read from a file, streamed from disk when sent (and again on each retry).
    ///
    /// Its name is the file's name (without directories). The size is taken now; a file whose
    /// size changes before it is sent makes the call fail with [`Error::Io`].
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), uip_client::Error> {
    /// let doc = uip_client::Document::from_path("contracts/lease.pdf").await?;
    /// assert_eq!(doc.name(), "lease.pdf");
    /// # Ok(()) }
    /// ```
    pub async fn from_path(path: impl AsRef<Path>) -> Result<Document, Error> {
        let path = path.as_ref().to_path_buf();
        let io = |source| Error::Io { path: path.clone(), source };
        let meta = tokio::fs::metadata(&path).await.map_err(io)?;
        if !meta.is_file() {
            return Err(io(std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file")));
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| io(std::io::Error::new(std::io::ErrorKind::InvalidInput, "no file name")))?;
        Ok(Document { content_type: guess(&name), len: meta.len(), name, source: Source::File(path) })
    }

    /// The same document under another filename (the content type is kept).
    ///
    /// ```
    /// let doc = uip_client::Document::from_bytes("tmp123.pdf", "%PDF").with_name("lease.pdf");
    /// assert_eq!((doc.name(), doc.content_type()), ("lease.pdf", "application/pdf"));
    /// ```
    pub fn with_name(mut self, name: impl Into<String>) -> Document {
        self.name = name.into();
        self
    }

    /// The same document with this content type (checked before sending).
    ///
    /// ```
    /// let doc = uip_client::Document::from_bytes("notes", "hi").with_content_type("text/markdown");
    /// assert_eq!(doc.content_type(), "text/markdown");
    /// ```
    pub fn with_content_type(mut self, content_type: impl Into<String>) -> Document {
        self.content_type = content_type.into();
        self
    }

    /// The filename.
    ///
    /// ```
    /// assert_eq!(uip_client::Document::from_bytes("a.pdf", "A").name(), "a.pdf");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The content type.
    ///
    /// ```
    /// assert_eq!(uip_client::Document::from_bytes("x.unknownext", "A").content_type(), "application/octet-stream");
    /// ```
    pub fn content_type(&self) -> &str {
        &self.content_type
    }

    /// Size in bytes.
    ///
    /// ```
    /// assert_eq!(uip_client::Document::from_bytes("a.pdf", vec![0u8; 10]).len(), 10);
    /// ```
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the document has no bytes (allowed: an empty file can be signed).
    ///
    /// ```
    /// assert!(uip_client::Document::from_bytes("empty.txt", "").is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    async fn part(&self) -> Result<Part, Error> {
        let body = match &self.source {
            Source::Bytes(b) => reqwest::Body::from(b.clone()),
            Source::File(path) => {
                let io = |source| Error::Io { path: path.clone(), source };
                let file = tokio::fs::File::open(path).await.map_err(io)?;
                let len = file.metadata().await.map_err(io)?.len();
                if len != self.len {
                    return Err(io(std::io::Error::other(format!(
                        "the file changed size from {} to {len} bytes",
                        self.len
                    ))));
                }
                reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(file))
            }
        };
        Part::stream_with_length(body, self.len)
            .file_name(self.name.clone())
            .mime_str(&self.content_type)
            .map_err(|_| invalid_document(format!("`{}` is not a valid content type", self.content_type)))
    }
}

fn invalid_document(message: String) -> Error {
    Error::invalid(ErrorCode::InvalidParams, "document", message)
}

/// Checks documents against the limits and the request's sign steps, before anything is sent
/// (docs/DECISIONS.md §2: ≤ 50 documents, ≤ 50 MiB combined, unique filenames, every name bound).
pub(crate) fn check(req: &CreateSessionRequest, documents: &[Document]) -> Result<(), Error> {
    if documents.len() > MAX_DOCUMENTS {
        return Err(Error::invalid(
            ErrorCode::TooLarge,
            "document",
            format!("at most {MAX_DOCUMENTS} documents may be uploaded, not {}", documents.len()),
        ));
    }
    let total: u64 = documents.iter().map(|d| d.len).sum();
    if total > MAX_DOCUMENT_BYTES {
        return Err(Error::invalid(
            ErrorCode::TooLarge,
            "document",
            format!("documents may total at most {MAX_DOCUMENT_BYTES} bytes (50 MiB), not {total}"),
        ));
    }
    for d in documents {
        if d.name.chars().any(|c| c.is_control() || c == '"' || c == '\\') {
            return Err(invalid_document(format!(
                "document filename {:?} must not contain quotes, backslashes or control characters",
                d.name
            )));
        }
        if d.content_type.parse::<mime_guess::Mime>().is_err() {
            return Err(invalid_document(format!("`{}` is not a valid content type", d.content_type)));
        }
    }
    let names: Vec<&str> = documents.iter().map(|d| d.name.as_str()).collect();
    bind_documents(req, Some(&names))?;
    Ok(())
}

/// The multipart body: part `session` (the JSON create body), then one `document` part per file.
pub(crate) async fn form(session: Bytes, documents: &[Document]) -> Result<Form, Error> {
    let len = session.len() as u64;
    let session = Part::stream_with_length(reqwest::Body::from(session), len)
        .mime_str("application/json")
        .map_err(|_| invalid_document("application/json".into()))?;
    let mut form = Form::new().part("session", session);
    for d in documents {
        form = form.part("document", d.part().await?);
    }
    Ok(form)
}

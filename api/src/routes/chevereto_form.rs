//! Reading a Chevereto upload request (query string, multipart or
//! urlencoded form) while spending nothing on a caller not yet known.
//!
//! A key in a header or the query string is checked before the body is
//! read. A key in the form is checked as soon as its field is reached.
//! Until then at most [`PRE_AUTH_BYTES`] of the body are held (a file part
//! that comes before the key is held in memory, never stored); past that
//! the request is refused 401 (Chevereto code 100) and the rest of the
//! body is read and dropped, so the client gets the answer. Bodies held
//! whole once the caller is known (urlencoded forms, base64 sources) take
//! a lease on the request memory budget ([`crate::body`]).

use std::io;

use axum::body::{Body, Bytes};
use axum::extract::multipart::Field;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{HeaderMap, header};
use futures::{StreamExt, TryStreamExt};

use crate::auth::{Caller, authenticate, key_from_headers, key_from_query};
use crate::body::Lease;
use crate::error::ApiError;
use crate::ingest::{Pending, UploadMeta};
use crate::params;
use crate::quota;
use crate::state::AppState;

/// Bytes of a request held before its key is known (form fields and a
/// file part sent ahead of the key).
pub const PRE_AUTH_BYTES: u64 = 2 * 1024 * 1024;

/// Largest text field other than `source`.
const MAX_FIELD_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Json,
    Txt,
    Redirect,
}

/// The form as read so far.
#[derive(Debug, Default)]
pub struct Form {
    pub key: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub tags: Option<String>,
    pub album_id: Option<String>,
    pub category_id: Option<String>,
    pub width: Option<String>,
    pub expiration: Option<String>,
    pub nsfw: Option<String>,
    pub format: Format,
    pub use_file_date: Option<String>,
    /// The file came as `image` (imgBB style): answer with `data`.
    pub imgbb: bool,
    pub source: Option<Source>,
}

#[derive(Debug)]
pub enum Source {
    /// A binary part, stored by the intake's [`Pending`] (or held until
    /// the key is known).
    File { filename: Option<String> },
    /// Base64 data or a URL.
    Text(String),
}

impl Form {
    pub fn set(&mut self, name: &str, value: String) -> Result<(), ApiError> {
        let empty_to_none = |v: String| (!v.trim().is_empty()).then_some(v);
        match name {
            "key" => self.key = empty_to_none(value),
            "title" | "name" => self.title = empty_to_none(value),
            "description" => self.description = empty_to_none(value),
            "tags" => self.tags = Some(value),
            "album_id" => self.album_id = empty_to_none(value),
            "category_id" => self.category_id = empty_to_none(value),
            "width" => self.width = empty_to_none(value),
            "expiration" => self.expiration = empty_to_none(value),
            "nsfw" => self.nsfw = Some(value),
            "use_file_date" => self.use_file_date = Some(value),
            "format" => {
                self.format = match value.trim() {
                    "" | "json" => Format::Json,
                    "txt" => Format::Txt,
                    "redirect" => Format::Redirect,
                    other => {
                        return Err(ApiError::BadRequest(format!(
                            "invalid 'format' value {other:?}: expected json, txt or redirect"
                        )));
                    }
                };
            }
            "source" | "image" | "file" => {
                if self.source.is_some() {
                    return Err(ApiError::BadRequest("send one source per upload".into()));
                }
                self.imgbb |= name == "image";
                self.source = Some(Source::Text(value));
            }
            _ => {} // Unknown parameters are ignored, as Chevereto does.
        }
        Ok(())
    }

    pub fn meta(&self, filename: Option<String>) -> Result<UploadMeta, ApiError> {
        let now = mediaq_shared::repo::now();
        Ok(UploadMeta {
            filename,
            title: self.title.clone(),
            description: self.description.clone(),
            tags: self.tags.as_deref().map(params::tags).unwrap_or_default(),
            album_id: self.album_id.clone().filter(|a| !a.is_empty()),
            category_id: self.category_id.clone(),
            nsfw: self.nsfw.as_deref().map(|v| params::flag("nsfw", v)).transpose()?.unwrap_or(false),
            // Chevereto images are public: their URLs are meant to be shared.
            is_public: true,
            resize_width: self.width.as_deref().map(params::width).transpose()?,
            expires_at: self.expiration.as_deref().map(|v| params::expiration(v, now)).transpose()?,
            use_file_date: self
                .use_file_date
                .as_deref()
                .map(|v| params::flag("use_file_date", v))
                .transpose()?
                .unwrap_or(false),
        })
    }
}

/// A request being read: who sent it (once known) and what it holds.
pub struct Intake<'a> {
    state: &'a AppState,
    headers: HeaderMap,
    pub caller: Option<Caller>,
    /// The upload, from the moment the caller is known.
    pub pending: Option<Pending>,
    /// Memory held by this request's body.
    pub lease: Lease,
    /// Bytes held while no key was known.
    early: u64,
    /// A file part that came before the key, stored once it is known.
    /// Kept as the chunks that arrived: no large contiguous buffer.
    early_file: Option<Vec<Bytes>>,
}

impl<'a> Intake<'a> {
    pub fn new(state: &'a AppState, request: &Request) -> Self {
        Self {
            state,
            headers: request.headers().clone(),
            caller: None,
            pending: None,
            lease: Lease::for_request(request),
            early: 0,
            early_file: None,
        }
    }

    /// Checks `key`, then reserves quota room for the body and stores a
    /// file part held so far. Once per request.
    async fn authenticate(&mut self, key: &str) -> Result<(), ApiError> {
        if self.caller.is_some() {
            return Ok(());
        }
        let caller = authenticate(self.state, key).await?;
        let mut pending = Pending::new(self.state, &caller.user);
        pending.reserve_for_body(&self.headers).await?;
        self.caller = Some(caller);
        let early = self.early_file.take();
        let pending = self.pending.insert(pending);
        if let Some(chunks) = early {
            pending.store(Box::pin(futures::stream::iter(chunks.into_iter().map(Ok)))).await?;
        }
        Ok(())
    }

    /// Counts `n` more bytes held in memory: against the request budget
    /// always (when `budgeted`) or while the caller is unknown, and, while
    /// it is unknown, against the pre-auth bound.
    fn hold(&mut self, n: u64, budgeted: bool) -> Result<(), ApiError> {
        if self.caller.is_some() {
            return if budgeted { self.lease.add(n) } else { Ok(()) };
        }
        self.early += n;
        if self.early > PRE_AUTH_BYTES {
            tracing::info!(held = self.early, "request refused: no key within the first bytes");
            return Err(ApiError::MissingKey);
        }
        self.lease.add(n)
    }

    /// The caller, authenticating by the form's key when no earlier one.
    pub async fn caller(&mut self, form: &Form) -> Result<Caller, ApiError> {
        if self.caller.is_none() {
            self.authenticate(form.key.as_deref().ok_or(ApiError::MissingKey)?).await?;
        }
        self.caller.clone().ok_or(ApiError::MissingKey)
    }

    /// Reads the whole request into `form` (the file into storage).
    pub async fn read(&mut self, request: Request, form: &mut Form) -> Result<(), ApiError> {
        if let Some(query) = request.uri().query() {
            for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
                form.set(&k, v.into_owned())?;
            }
        }
        let max_body = max_body_bytes(self.state);
        let declared = self.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|n| n > max_body) {
            return Err(ApiError::TooLarge { limit: self.state.config.max_upload_bytes });
        }
        let early_key = key_from_headers(&self.headers).or_else(|| key_from_query(request.uri().query()));
        if let Some(key) = early_key.filter(|k| !k.is_empty())
            && let Err(e) = self.authenticate(&key).await
        {
            // Read the rest (dropping it) so the client gets this answer.
            quota::drain(request.into_body(), max_body).await;
            return Err(e);
        }
        let content_type =
            self.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
        if content_type.starts_with("multipart/form-data") {
            self.read_multipart(request, form).await
        } else if content_type.starts_with("application/x-www-form-urlencoded") {
            self.read_urlencoded(request.into_body(), form).await
        } else {
            Ok(())
        }
    }

    async fn read_multipart(&mut self, request: Request, form: &mut Form) -> Result<(), ApiError> {
        let mut multipart =
            Multipart::from_request(request, &()).await.map_err(|e| ApiError::BadRequest(e.body_text()))?;
        let outcome = self.read_fields(&mut multipart, form).await;
        if outcome.is_err() && self.caller.is_none() {
            // Refused before the key: read the rest, holding nothing.
            while let Ok(Some(mut field)) = multipart.next_field().await {
                while let Ok(Some(_)) = field.chunk().await {}
            }
        }
        outcome
    }

    async fn read_fields(&mut self, multipart: &mut Multipart, form: &mut Form) -> Result<(), ApiError> {
        while let Some(field) = multipart.next_field().await.map_err(|e| ApiError::BadRequest(e.body_text()))? {
            let name = field.name().unwrap_or_default().to_owned();
            let is_source = matches!(name.as_str(), "source" | "image" | "file");
            if is_source && field.file_name().is_some() {
                if form.source.is_some() {
                    return Err(ApiError::BadRequest("send one source per upload".into()));
                }
                form.imgbb |= name == "image";
                form.source = Some(Source::File { filename: field.file_name().map(str::to_owned) });
                self.take_file(field).await?;
                continue;
            }
            let (file_limit, inline_limit) = params::inline_limits(self.state.config.max_upload_bytes);
            let value = if is_source {
                // A text source (base64 or a URL) is held in memory: capped lower.
                self.read_text(field, inline_limit, &name, true).await.map_err(|e| {
                    if matches!(e, ApiError::BadRequest(_)) { ApiError::TooLarge { limit: file_limit } } else { e }
                })?
            } else {
                self.read_text(field, MAX_FIELD_BYTES, &name, false).await?
            };
            let is_key = name == "key";
            form.set(&name, value)?;
            if is_key && let Some(key) = form.key.clone() {
                self.authenticate(&key).await?;
            }
        }
        Ok(())
    }

    /// A file part: streamed to storage once the caller is known, else
    /// held in memory up to the pre-auth bound.
    async fn take_file(&mut self, mut field: Field<'_>) -> Result<(), ApiError> {
        if let Some(pending) = self.pending.as_mut() {
            return pending.store(Box::pin(field.map_err(io::Error::other))).await;
        }
        let mut chunks = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(|e| ApiError::BadRequest(e.body_text()))? {
            self.hold(chunk.len() as u64, true)?;
            chunks.push(chunk);
        }
        self.early_file = Some(chunks);
        Ok(())
    }

    async fn read_text(
        &mut self,
        mut field: Field<'_>,
        limit: usize,
        name: &str,
        budgeted: bool,
    ) -> Result<String, ApiError> {
        let mut buf = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(|e| ApiError::BadRequest(e.body_text()))? {
            if buf.len() + chunk.len() > limit {
                return Err(ApiError::BadRequest(format!("form field '{name}' is longer than {limit} bytes")));
            }
            self.hold(chunk.len() as u64, budgeted)?;
            buf.extend_from_slice(&chunk);
        }
        String::from_utf8(buf).map_err(|_| ApiError::BadRequest(format!("form field '{name}' is not valid UTF-8")))
    }

    /// An urlencoded body: scanned for the key pair by pair while the
    /// caller is unknown, held against the budget, parsed at the end.
    async fn read_urlencoded(&mut self, body: Body, form: &mut Form) -> Result<(), ApiError> {
        let (file_limit, limit) = params::inline_limits(self.state.config.max_upload_bytes);
        let mut stream = body.into_data_stream();
        // Sized from the declared length (within what may be held) so the
        // buffer does not grow by doubling.
        let declared = self.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
        let bound = if self.caller.is_some() { limit } else { PRE_AUTH_BYTES as usize };
        let mut buf: Vec<u8> = Vec::with_capacity(declared.unwrap_or(0).min(bound));
        let mut scanned = 0;
        let outcome: Result<(), ApiError> = async {
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| ApiError::BadRequest(format!("the form could not be read: {e}")))?;
                if buf.len() + chunk.len() > limit {
                    return Err(ApiError::TooLarge { limit: file_limit });
                }
                self.hold(chunk.len() as u64, true)?;
                buf.extend_from_slice(&chunk);
                if self.caller.is_none()
                    && let Some(end) = buf.iter().rposition(|&b| b == b'&')
                {
                    self.key_in(&buf[scanned..end]).await?;
                    scanned = end;
                }
            }
            Ok(())
        }
        .await;
        if let Err(e) = outcome {
            if self.caller.is_none() {
                while let Some(Ok(_)) = stream.next().await {}
            }
            return Err(e);
        }
        for (k, v) in url::form_urlencoded::parse(&buf) {
            form.set(&k, v.into_owned())?;
        }
        Ok(())
    }

    /// Authenticates by a `key` pair among complete `pairs`, if any.
    async fn key_in(&mut self, pairs: &[u8]) -> Result<(), ApiError> {
        let key = url::form_urlencoded::parse(pairs).find(|(k, _)| k == "key").map(|(_, v)| v.into_owned());
        match key.filter(|k| !k.trim().is_empty()) {
            Some(key) => self.authenticate(key.trim()).await,
            None => Ok(()),
        }
    }
}

/// Largest request body accepted: the upload limit, plus room for base64
/// growth (4/3) and the other form fields.
fn max_body_bytes(state: &AppState) -> u64 {
    state.config.max_upload_bytes.saturating_mul(4) / 3 + 1024 * 1024
}

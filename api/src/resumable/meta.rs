//! What a resumable upload was told about its file: `filename`,
//! `filetype`, `folderId`, `title` (tus `Upload-Metadata`, Uppy's
//! `filename`, `type` and `metadata`), stored as JSON on its row.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::ingest::UploadMeta;

#[derive(Debug, Default, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct FileMeta {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filetype: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folder_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// Longest value kept.
const MAX_VALUE: usize = 1024;

impl FileMeta {
    /// Takes the known keys of `pairs`; others are ignored.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, String)>) -> Result<Self, ApiError> {
        let mut meta = Self::default();
        for (key, value) in pairs {
            if value.len() > MAX_VALUE || value.chars().any(char::is_control) {
                return Err(ApiError::BadRequest(format!("metadata '{key}' is too long or has control characters")));
            }
            let value = Some(value).filter(|v| !v.is_empty());
            match key {
                "filename" | "name" => meta.filename = meta.filename.or(value),
                "filetype" | "type" => meta.filetype = meta.filetype.or(value),
                "folderId" => meta.folder_id = value,
                "title" => meta.title = value,
                _ => {}
            }
        }
        Ok(meta)
    }

    /// tus `Upload-Metadata`: `key base64value` pairs separated by commas.
    pub fn from_tus(header: Option<&str>) -> Result<Self, ApiError> {
        let Some(header) = header.map(str::trim).filter(|h| !h.is_empty()) else { return Ok(Self::default()) };
        let mut pairs = Vec::new();
        for pair in header.split(',') {
            let mut it = pair.trim().splitn(2, ' ');
            let key = it.next().unwrap_or_default();
            let value = match it.next().map(str::trim) {
                Some(v) if !v.is_empty() => {
                    let bytes = STANDARD
                        .decode(v)
                        .map_err(|_| ApiError::BadRequest(format!("Upload-Metadata '{key}' is not base64")))?;
                    String::from_utf8(bytes)
                        .map_err(|_| ApiError::BadRequest(format!("Upload-Metadata '{key}' is not UTF-8")))?
                }
                _ => String::new(),
            };
            if key.is_empty() {
                return Err(ApiError::BadRequest("Upload-Metadata has an empty key".into()));
            }
            pairs.push((key, value));
        }
        Self::from_pairs(pairs)
    }

    /// Back as `Upload-Metadata`, for HEAD.
    pub fn to_tus(&self) -> String {
        let fields = [
            ("filename", &self.filename),
            ("filetype", &self.filetype),
            ("folderId", &self.folder_id),
            ("title", &self.title),
        ];
        let pairs: Vec<String> =
            fields.iter().filter_map(|(k, v)| v.as_ref().map(|v| format!("{k} {}", STANDARD.encode(v)))).collect();
        pairs.join(",")
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    pub fn from_json(s: &str) -> Self {
        serde_json::from_str(s).unwrap_or_default()
    }

    /// What the ingest pipeline records.
    pub fn upload_meta(&self) -> UploadMeta {
        UploadMeta {
            filename: self.filename.clone(),
            title: self.title.clone(),
            album_id: self.folder_id.clone(),
            ..UploadMeta::default()
        }
    }

    /// Uppy's `metadata` object (and `metadata[k]` query keys).
    pub fn from_map(
        filename: Option<String>,
        filetype: Option<String>,
        map: &BTreeMap<String, String>,
    ) -> Result<Self, ApiError> {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        pairs.extend(filename.map(|f| ("filename", f)));
        pairs.extend(filetype.map(|t| ("filetype", t)));
        pairs.extend(map.iter().map(|(k, v)| (k.as_str(), v.clone())));
        Self::from_pairs(pairs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tus_metadata_round_trips() {
        let meta = FileMeta::from_tus(Some("filename d29ybGRfZG9taW5hdGlvbl9wbGFuLnBkZg==,is_confidential,title aGk="))
            .unwrap();
        assert_eq!(meta.filename.as_deref(), Some("world_domination_plan.pdf"));
        assert_eq!(meta.title.as_deref(), Some("hi"));
        assert_eq!(FileMeta::from_tus(Some(&meta.to_tus())).unwrap(), meta);
        assert!(FileMeta::from_tus(Some("filename !!!")).is_err());
    }
}

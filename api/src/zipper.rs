//! A folder as a streamed ZIP: its files and subfolders (as paths), made
//! while it is sent. Entries are stored, not compressed (media are
//! compressed already), with ZIP64 fields so files and archives past
//! 4 GiB work; the CRC goes in a data descriptor after each entry, so no
//! file is read twice or held in memory. Bytes flow object stream →
//! `async_zip` writer → a 256 KiB pipe → the response body: memory stays
//! flat however large the folder.
//!
//! Names are made safe (no path separators, control characters, `.` or
//! `..`) and unique within each folder, case-insensitively (`cat.jpg`,
//! `cat (2).jpg`), so every archive extracts the same on every system.

use std::collections::HashSet;
use std::io;

use async_zip::tokio::write::ZipFileWriter;
use async_zip::{Compression, ZipDateTime, ZipEntryBuilder};
use axum::body::Body;
use bytes::Bytes;
use futures::{AsyncWriteExt, StreamExt, TryStreamExt};
use tokio_util::io::ReaderStream;

use mediaq_shared::domain::{MediaStatus, UserId};
use mediaq_shared::repo::Folder;
use mediaq_shared::repo::folders::MAX_FOLDER_DEPTH;
use mediaq_shared::storage::ObjectKey;

use crate::error::ApiError;
use crate::policy::is_live;
use crate::state::AppState;

/// Bytes between the ZIP writer and the response.
const PIPE_BYTES: usize = 256 * 1024;
/// Files read from the database per page while listing a folder.
const PAGE: u64 = 500;

/// One file of the archive.
#[derive(Debug, Clone)]
pub struct Entry {
    pub path: String,
    pub key: ObjectKey,
    pub modified: chrono::DateTime<chrono::Utc>,
}

/// A name safe as one path segment.
pub fn safe_name(name: &str) -> String {
    let clean: String =
        name.chars().map(|c| if c == '/' || c == '\\' || c.is_control() { '_' } else { c }).take(200).collect();
    let trimmed = clean.trim();
    if trimmed.is_empty() || trimmed.chars().all(|c| c == '.') { "_".to_owned() } else { trimmed.to_owned() }
}

/// `name`, or `stem (n).ext`, not yet in `taken` (compared case-insensitively).
pub fn unique(name: &str, taken: &mut HashSet<String>) -> String {
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() => (s, format!(".{e}")),
        _ => (name, String::new()),
    };
    let mut candidate = name.to_owned();
    let mut n = 2;
    while !taken.insert(candidate.to_lowercase()) {
        candidate = format!("{stem} ({n}){ext}");
        n += 1;
    }
    candidate
}

/// Every ready, live file under `root` with its path in the archive
/// (subfolders as directories), at most [`MAX_FOLDER_DEPTH`] levels.
pub async fn entries(state: &AppState, root: &Folder) -> Result<Vec<Entry>, ApiError> {
    let mut out = Vec::new();
    let mut queue = vec![(root.id.clone(), String::new(), 1i64)];
    while let Some((folder, prefix, depth)) = queue.pop() {
        let mut taken = HashSet::new();
        for child in state.repo.child_folders(root.owner_id, Some(&folder)).await? {
            let name = unique(&safe_name(&child.name), &mut taken);
            if depth < MAX_FOLDER_DEPTH {
                queue.push((child.id, format!("{prefix}{name}/"), depth + 1));
            }
        }
        files_of(state, root.owner_id, &folder, &prefix, &mut taken, &mut out).await?;
    }
    Ok(out)
}

async fn files_of(
    state: &AppState,
    owner: UserId,
    folder: &str,
    prefix: &str,
    taken: &mut HashSet<String>,
    out: &mut Vec<Entry>,
) -> Result<(), ApiError> {
    let mut offset = 0;
    loop {
        let (page, _) = state.repo.list_folder_media(owner, folder, offset, PAGE).await?;
        let n = page.len() as u64;
        for m in page.into_iter().filter(|m| m.status == MediaStatus::Ready && is_live(m)) {
            let Some(key) = ObjectKey::parse(&m.original_key) else { continue };
            let name = unique(&safe_name(&m.original_filename), taken);
            out.push(Entry { path: format!("{prefix}{name}"), key, modified: m.updated_at });
        }
        if n < PAGE {
            return Ok(());
        }
        offset += n;
    }
}

/// The archive of `entries` as a response body, written as it is read.
/// A failure midway (an object gone, storage down) ends the body with an
/// error, so the client sees a broken transfer, never a short archive.
pub fn body(state: &AppState, entries: Vec<Entry>) -> Body {
    let (writer, reader) = tokio::io::duplex(PIPE_BYTES);
    let state = state.clone();
    let task = tokio::spawn(async move { write(&state, entries, writer).await });
    let tail = futures::stream::once(async move {
        match task.await {
            Ok(Ok(())) => None,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "zip stream failed");
                Some(Err(e))
            }
            Err(e) => Some(Err(io::Error::other(e))),
        }
    })
    .filter_map(futures::future::ready);
    let stream = ReaderStream::with_capacity(reader, 64 * 1024).chain(tail);
    Body::from_stream(stream.map_ok(Bytes::from))
}

async fn write(state: &AppState, entries: Vec<Entry>, pipe: tokio::io::DuplexStream) -> io::Result<()> {
    let mut zip = ZipFileWriter::with_tokio(pipe);
    for e in entries {
        let mut source = state.storage.get(&e.key, None).await.map_err(io::Error::other)?.stream;
        let entry = ZipEntryBuilder::new(e.path.into(), Compression::Stored)
            .last_modification_date(ZipDateTime::from_chrono(&e.modified))
            .unix_permissions(0o644);
        let mut out = zip.write_entry_stream(entry).await.map_err(io::Error::other)?;
        while let Some(chunk) = source.try_next().await? {
            out.write_all(&chunk).await?;
        }
        out.close().await.map_err(io::Error::other)?;
    }
    let mut pipe = zip.close().await.map_err(io::Error::other)?.into_inner();
    tokio::io::AsyncWriteExt::shutdown(&mut pipe).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_safe_and_unique() {
        assert_eq!(safe_name("../../etc/passwd"), ".._.._etc_passwd");
        assert_eq!(safe_name(".."), "_");
        assert_eq!(safe_name("a\\b\u{0}c"), "a_b_c");
        assert_eq!(safe_name("   "), "_");
        let mut taken = HashSet::new();
        assert_eq!(unique("cat.jpg", &mut taken), "cat.jpg");
        assert_eq!(unique("Cat.JPG", &mut taken), "Cat (2).JPG");
        assert_eq!(unique("cat.jpg", &mut taken), "cat (3).jpg");
        assert_eq!(unique("README", &mut taken), "README");
        assert_eq!(unique("readme", &mut taken), "readme (2)");
    }
}

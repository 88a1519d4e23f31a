//! Files of any type on both stacks: a PDF, a ZIP archive and unknown
//! bytes through every native ingest route (multipart, base64, presigned)
//! become kind `file`, checksummed, without derivatives, and are served
//! only as attachments with `nosniff`; the Chevereto route still refuses
//! them (415, 612); `MEDIAQ_ALLOWED_TYPES` narrows what is taken.

use std::time::Duration;

use mediaq_tests::{Stack, both_stacks, both_stacks_with};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// A small but real PDF (one page with a line of text), `tag` inside.
pub(crate) fn pdf(tag: &str) -> Vec<u8> {
    let stream = format!("BT /F1 24 Tf 72 720 Td ({tag}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_owned(),
        format!("<< /Length {} >>\nstream\n{stream}\nendstream", stream.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes(),
    );
    out
}

/// A real ZIP archive (stored entries) holding `files`.
pub(crate) fn zip(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in files {
        let crc = crc32fast::hash(data);
        let offset = out.len() as u32;
        let len = data.len() as u32;
        let header = |sig: u32, central: bool| {
            let mut h = sig.to_le_bytes().to_vec();
            if central {
                h.extend_from_slice(&20u16.to_le_bytes());
            }
            for v in [20u16, 0, 0, 0, 0] {
                h.extend_from_slice(&v.to_le_bytes());
            }
            for v in [crc, len, len] {
                h.extend_from_slice(&v.to_le_bytes());
            }
            h.extend_from_slice(&(name.len() as u16).to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes());
            if central {
                for v in [0u16, 0, 0] {
                    h.extend_from_slice(&v.to_le_bytes());
                }
                h.extend_from_slice(&0u32.to_le_bytes());
                h.extend_from_slice(&offset.to_le_bytes());
            }
            h.extend_from_slice(name.as_bytes());
            h
        };
        out.extend(header(0x0403_4b50, false));
        out.extend_from_slice(data);
        central.extend(header(0x0201_4b50, true));
    }
    let start = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    for v in [0u16, 0, files.len() as u16, files.len() as u16] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&start.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

pub(crate) fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// `POST /api/v1/files` with one multipart `file` (and extra fields).
pub(crate) async fn upload(
    stack: &Stack,
    key: &str,
    bytes: Vec<u8>,
    name: &str,
    fields: &[(&str, &str)],
) -> (u16, Value) {
    let mut form =
        reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()));
    for (k, v) in fields {
        form = form.text((*k).to_owned(), (*v).to_owned());
    }
    let res = stack.http.post(stack.url("/api/v1/files")).bearer_auth(key).multipart(form).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Uploads and waits until ready; returns the file resource.
pub(crate) async fn ready(stack: &Stack, key: &str, bytes: Vec<u8>, name: &str) -> Value {
    let (status, body) = upload(stack, key, bytes, name, &[]).await;
    assert_eq!(status, 202, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    let done = stack.wait_settled(key, &id, Duration::from_secs(60)).await;
    assert_eq!(done["status"], "ready", "{done}");
    done
}

/// GETs `url`; status, headers and bytes.
pub(crate) async fn get(stack: &Stack, url: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let res = stack.http.get(url).send().await.unwrap();
    (res.status().as_u16(), res.headers().clone(), res.bytes().await.unwrap().to_vec())
}

/// The signed download of file `id` (through `/download`): its bytes.
pub(crate) async fn download(stack: &Stack, key: &str, path: &str) -> (reqwest::header::HeaderMap, Vec<u8>) {
    let (status, body) = stack.call(Method::GET, path, Some(key), None).await;
    assert_eq!(status, 200, "{body}");
    let (status, headers, bytes) = get(stack, body["url"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    (headers, bytes)
}

fn is_attachment(headers: &reqwest::header::HeaderMap) -> bool {
    headers.get("content-disposition").and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("attachment"))
}

both_stacks!(any_file_type_is_stored_checksummed_and_served_as_attachment, |stack: Stack| async move {
    let key = stack.key("alice");
    // Multipart PDF.
    let doc = pdf("report");
    let file = ready(&stack, &key, doc.clone(), "report.pdf").await;
    assert_eq!(
        (file["kind"].as_str(), file["contentType"].as_str()),
        (Some("file"), Some("application/pdf")),
        "{file}"
    );
    assert_eq!(file["sha256"], sha256(&doc));
    assert_eq!(file["sizeBytes"], doc.len());
    assert_eq!(file["variants"], json!({}), "no derivatives for files");
    assert_eq!((file["version"].as_u64(), file["versionCount"].as_u64()), (Some(1), Some(1)));
    let id = file["id"].as_str().unwrap();
    let (headers, bytes) = download(&stack, &key, &format!("/api/v1/files/{id}/download")).await;
    assert_eq!(bytes, doc);
    assert!(is_attachment(&headers), "signed download must be an attachment: {headers:?}");
    // Public: every URL of its original is an attachment with nosniff.
    let (_, public) =
        stack.call(Method::PATCH, &format!("/api/v1/files/{id}"), Some(&key), Some(json!({ "isPublic": true }))).await;
    for url in [public["url"].as_str().unwrap(), public["publicUrl"].as_str().unwrap()] {
        let (status, headers, bytes) = get(&stack, url).await;
        assert_eq!((status, bytes.len()), (200, doc.len()), "{url}");
        assert!(is_attachment(&headers), "{url}: {headers:?}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{url}");
    }
    let (status, link) = stack.call(Method::POST, "/api/v1/links", Some(&key), Some(json!({ "fileId": id }))).await;
    assert_eq!(status, 201, "{link}");
    let (status, headers, bytes) = get(&stack, &format!("{}/download", link["url"].as_str().unwrap())).await;
    assert_eq!(status, 200);
    assert!(is_attachment(&headers) && bytes == doc, "{headers:?}");
    // Downloads through the download, public and link routes were counted.
    let counted = stack.call(Method::GET, &format!("/api/v1/files/{id}"), Some(&key), None).await.1;
    assert_eq!(counted["downloads"], 4, "{counted}");
    // Base64 JSON ZIP, and unknown bytes.
    let archive = zip(&[("a.txt", b"hello"), ("b/c.txt", b"world")]);
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &archive);
    let (status, body) = stack
        .call(Method::POST, "/api/v1/files", Some(&key), Some(json!({ "base64": b64, "name": "backup.zip" })))
        .await;
    assert_eq!(status, 202, "{body}");
    let done = stack.wait_settled(&key, body["id"].as_str().unwrap(), Duration::from_secs(60)).await;
    assert_eq!(
        (done["status"].as_str(), done["kind"].as_str(), done["contentType"].as_str()),
        (Some("ready"), Some("file"), Some("application/zip"))
    );
    assert_eq!(done["sha256"], sha256(&archive));
    let notes = b"plain notes, no magic bytes".to_vec();
    let done = ready(&stack, &key, notes.clone(), "notes.txt").await;
    assert_eq!((done["kind"].as_str(), done["contentType"].as_str()), (Some("file"), Some("application/octet-stream")));
    assert_eq!(done["name"], "notes.txt");
    // Presigned: initiate with any type, PUT, complete; the worker hashes it.
    let (status, init) = stack
        .call(
            Method::POST,
            "/api/v1/files/initiate",
            Some(&key),
            Some(json!({ "name": "arch.zip", "contentType": "application/zip", "sizeBytes": archive.len() })),
        )
        .await;
    assert_eq!(status, 200, "{init}");
    let put = stack.http.put(init["uploadUrl"].as_str().unwrap()).body(archive.clone()).send().await.unwrap();
    assert!(put.status().is_success(), "{}", put.status());
    let (status, body) =
        stack.call(Method::POST, "/api/v1/files/complete", Some(&key), Some(json!({ "fileId": init["fileId"] }))).await;
    assert_eq!(status, 202, "{body}");
    let done = stack.wait_settled(&key, init["fileId"].as_str().unwrap(), Duration::from_secs(60)).await;
    assert_eq!((done["status"].as_str(), done["kind"].as_str()), (Some("ready"), Some("file")), "{done}");
    assert_eq!(done["sha256"], sha256(&archive));
    // The Chevereto route keeps images and videos only.
    let path = stack.data_dir.path().join("report.pdf");
    std::fs::write(&path, &doc).unwrap();
    let (status, body) = stack.chevereto_upload(&key, &path, &[]).await;
    assert_eq!((status, body["error"]["code"].as_u64()), (415, Some(612)), "{body}");
});

both_stacks_with!(
    allowed_types_narrow_what_is_taken,
    &[("MEDIAQ_ALLOWED_TYPES", "application/pdf, image/*")],
    |stack: Stack| async move {
        let key = stack.key("alice");
        let (status, body) = upload(&stack, &key, zip(&[("a", b"a")]), "a.zip", &[]).await;
        assert_eq!(status, 415, "{body}");
        assert_eq!(body["status"], 415, "problem+json: {body}");
        let (status, _) = upload(&stack, &key, b"unknown".to_vec(), "x.bin", &[]).await;
        assert_eq!(status, 415);
        ready(&stack, &key, pdf("ok"), "ok.pdf").await;
        ready(&stack, &key, std::fs::read(mediaq_tests::corpus("skimage_chelsea.png")).unwrap(), "cat.png").await;
        let (status, body) = stack
            .call(
                Method::POST,
                "/api/v1/files/initiate",
                Some(&key),
                Some(json!({ "name": "v.mp4", "contentType": "video/mp4", "sizeBytes": 10 })),
            )
            .await;
        assert_eq!(status, 415, "{body}");
        let listed = stack.call(Method::GET, "/api/v1/files", Some(&key), None).await.1;
        assert_eq!(listed["total"], 2, "nothing refused was kept: {listed}");
    }
);

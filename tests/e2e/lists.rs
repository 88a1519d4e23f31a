//! Lists on both stacks: the files list sorts, orders, filters (kind,
//! isPublic, name search taken literally, folderId=root, sha256) and pages
//! with `total` and `totalPages`, a 400 for any bad value; folders, shares
//! and links lists page and sort too; `views` and `downloads` count every
//! concurrent hit exactly.

use mediaq_tests::{Stack, both_stacks, corpus};
use reqwest::Method;
use serde_json::{Value, json};

use crate::files_any::{get, pdf, ready, sha256, zip};

fn names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{list}"))
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_owned())
        .collect()
}

both_stacks!(files_lists_sort_filter_search_and_page, |stack: Stack| async move {
    let key = stack.key("alice");
    let list = |q: &str| stack.call(Method::GET, &format!("/api/v1/files?{q}"), Some(&key), None);
    let chelsea = std::fs::read(corpus("skimage_chelsea.png")).unwrap();
    let big = pdf(&"x".repeat(4000));
    ready(&stack, &key, chelsea.clone(), "Zebra.png").await;
    ready(&stack, &key, pdf("a"), "100%_Report.pdf").await;
    ready(&stack, &key, big.clone(), "100x report.pdf").await;
    let archive = ready(&stack, &key, zip(&[("a", b"a")]), "archive.zip").await;
    let (status, folder) = stack.call(Method::POST, "/api/v1/folders", Some(&key), Some(json!({ "name": "F" }))).await;
    assert_eq!(status, 201);
    let fid = folder["id"].as_str().unwrap();
    stack
        .call(
            Method::PATCH,
            &format!("/api/v1/files/{}", archive["id"].as_str().unwrap()),
            Some(&key),
            Some(json!({ "folderId": fid, "isPublic": true })),
        )
        .await;

    assert_eq!(
        names(&list("sort=name&order=asc").await.1),
        ["100%_Report.pdf", "100x report.pdf", "Zebra.png", "archive.zip"]
    );
    assert_eq!(names(&list("sort=size&order=desc&limit=1").await.1), ["Zebra.png"]);
    assert_eq!(list("kind=file").await.1["total"], 3);
    assert_eq!(names(&list("kind=image").await.1), ["Zebra.png"]);
    assert_eq!(names(&list("isPublic=true").await.1), ["archive.zip"]);
    assert_eq!(list("isPublic=false").await.1["total"], 3);
    // `q`: case-insensitive, `%` and `_` literal.
    assert_eq!(names(&list("q=REPORT&sort=name&order=asc").await.1), ["100%_Report.pdf", "100x report.pdf"]);
    assert_eq!(names(&list("q=100%25_").await.1), ["100%_Report.pdf"]);
    assert_eq!(list("q=_").await.1["total"], 1);
    assert_eq!(list("folderId=root").await.1["total"], 3);
    assert_eq!(names(&list(&format!("folderId={fid}")).await.1), ["archive.zip"]);
    assert_eq!(names(&list(&format!("sha256={}", sha256(&big))).await.1), ["100x report.pdf"]);
    assert_eq!(list(&format!("sha256={}", sha256(b"none"))).await.1["total"], 0);
    // Paging.
    let page = list("limit=3&page=2&sort=name&order=asc").await.1;
    assert_eq!(
        (page["total"].as_u64(), page["totalPages"].as_u64(), page["page"].as_u64(), page["limit"].as_u64()),
        (Some(4), Some(2), Some(2), Some(3)),
        "{page}"
    );
    assert_eq!(names(&page), ["archive.zip"]);
    // Newest first by default; updatedAt sorts.
    assert_eq!(names(&list("").await.1)[0], "archive.zip");
    assert_eq!(names(&list("sort=updatedAt").await.1)[0], "archive.zip");
    // Bad values are 400 problem+json.
    for q in ["sort=bogus", "order=up", "limit=101", "limit=0", "page=x", "kind=doc", "isPublic=maybe", "sha256=xyz"] {
        let (status, body) = list(q).await;
        assert_eq!((status, body["status"].as_u64()), (400, Some(400)), "{q}: {body}");
    }
    // Folders, links and shares lists page and sort.
    for name in ["b", "a", "c"] {
        stack.call(Method::POST, "/api/v1/folders", Some(&key), Some(json!({ "name": name }))).await;
    }
    let folders = stack.call(Method::GET, "/api/v1/folders?sort=name&order=desc&limit=2", Some(&key), None).await.1;
    assert_eq!(
        (names(&folders), folders["total"].as_u64(), folders["totalPages"].as_u64()),
        (vec!["F".to_owned(), "c".to_owned()], Some(4), Some(2)),
        "{folders}"
    );
    assert_eq!(stack.call(Method::GET, "/api/v1/folders?sort=size", Some(&key), None).await.0, 400);
    for _ in 0..3 {
        stack.call(Method::POST, "/api/v1/links", Some(&key), Some(json!({ "folderId": fid }))).await;
    }
    let links = stack.call(Method::GET, "/api/v1/links?limit=2&page=2&order=asc", Some(&key), None).await.1;
    assert_eq!((links["items"].as_array().unwrap().len(), links["total"].as_u64()), (1, Some(3)), "{links}");
    assert_eq!(stack.call(Method::GET, "/api/v1/links?order=sideways", Some(&key), None).await.0, 400);
    stack.key("bob");
    stack.call(Method::POST, "/api/v1/shares", Some(&key), Some(json!({ "folderId": fid, "username": "bob" }))).await;
    let shares = stack.call(Method::GET, "/api/v1/shares/by-me?sort=createdAt&limit=1", Some(&key), None).await.1;
    assert_eq!((shares["total"].as_u64(), shares["totalPages"].as_u64()), (Some(1), Some(1)), "{shares}");
    assert_eq!(stack.call(Method::GET, "/api/v1/shares/with-me?limit=500", Some(&key), None).await.0, 400);
});

both_stacks!(views_and_downloads_count_concurrent_hits_exactly, |stack: Stack| async move {
    let key = stack.key("alice");
    let file = ready(&stack, &key, std::fs::read(corpus("skimage_chelsea.png")).unwrap(), "cat.png").await;
    let id = file["id"].as_str().unwrap().to_owned();
    let public = stack
        .call(Method::PATCH, &format!("/api/v1/files/{id}"), Some(&key), Some(json!({ "isPublic": true })))
        .await
        .1;
    let download = public["publicUrl"].as_str().unwrap().to_owned();
    let viewer = public["viewerUrl"].as_str().unwrap().to_owned();
    let hits: Vec<_> = (0..60)
        .map(|i| {
            let url = if i % 2 == 0 { download.clone() } else { viewer.clone() };
            let http = stack.http.clone();
            tokio::spawn(async move { http.get(url).send().await.unwrap().status().as_u16() })
        })
        .collect();
    for h in hits {
        assert_eq!(h.await.unwrap(), 200);
    }
    let (status, _, _) = get(&stack, &download).await;
    assert_eq!(status, 200);
    let now = stack.call(Method::GET, &format!("/api/v1/files/{id}"), Some(&key), None).await.1;
    assert_eq!((now["downloads"].as_u64(), now["views"].as_u64()), (Some(31), Some(30)), "{now}");
    let sorted = stack.call(Method::GET, "/api/v1/files?sort=downloads", Some(&key), None).await.1;
    assert_eq!(sorted["items"][0]["id"], id.as_str());
});

//! Folders (albums) on both stacks: nesting, listing, rename, move without
//! cycles, breadcrumbs, files per folder, album_id on upload, recursive
//! delete with purge, and no access for anyone else.

use std::time::{Duration, Instant};

use mediaq_tests::{Stack, both_stacks, corpus};
use reqwest::Method;
use serde_json::{Value, json};

async fn upload_into(stack: &Stack, key: &str, folder: &str) -> (u16, Value) {
    let bytes = std::fs::read(corpus("skimage_chelsea.png")).unwrap();
    let form = reqwest::multipart::Form::new()
        .text("folderId", folder.to_owned())
        .part("file", reqwest::multipart::Part::bytes(bytes).file_name("cat.png"));
    let res = stack.http.post(stack.url("/api/v1/files")).bearer_auth(key).multipart(form).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

both_stacks!(folders_nest_move_list_and_delete, |stack: Stack| async move {
    let alice = stack.key("alice");
    let bob = stack.key("bob");
    let create = |name: &str, parent: Option<&str>| {
        stack.call(Method::POST, "/api/v1/folders", Some(&alice), Some(json!({ "name": name, "parentId": parent })))
    };
    let (status, trips) = create("Trips", None).await;
    assert_eq!(status, 201, "{trips}");
    let trips = trips["id"].as_str().unwrap().to_owned();
    let paris = create("Paris", Some(&trips)).await.1["id"].as_str().unwrap().to_owned();
    let louvre = create("Louvre", Some(&paris)).await.1["id"].as_str().unwrap().to_owned();
    let other = create("Other", None).await.1["id"].as_str().unwrap().to_owned();
    assert_eq!(create("", None).await.0, 400);
    // Bob cannot nest into Alice's folder, see it, list it or change it.
    assert_eq!(
        stack
            .call(Method::POST, "/api/v1/folders", Some(&bob), Some(json!({ "name": "x", "parentId": trips })))
            .await
            .0,
        400
    );
    for (method, path) in [
        (Method::GET, format!("/api/v1/folders/{trips}")),
        (Method::GET, format!("/api/v1/folders/{trips}/path")),
        (Method::GET, format!("/api/v1/folders?parentId={trips}")),
        (Method::GET, format!("/api/v1/files?folderId={trips}")),
        (Method::DELETE, format!("/api/v1/folders/{trips}")),
    ] {
        assert_eq!(stack.call(method.clone(), &path, Some(&bob), None).await.0, 404, "{method} {path}");
    }
    assert_eq!(
        stack
            .call(Method::PATCH, &format!("/api/v1/folders/{trips}"), Some(&bob), Some(json!({ "name": "mine" })))
            .await
            .0,
        404
    );
    assert_eq!(stack.call(Method::GET, "/api/v1/folders", None, None).await.0, 401);
    // Listing and breadcrumbs.
    let root = stack.call(Method::GET, "/api/v1/folders", Some(&alice), None).await.1;
    let names: Vec<&str> = root["items"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Other", "Trips"]);
    assert_eq!(stack.call(Method::GET, "/api/v1/folders", Some(&bob), None).await.1["items"], json!([]));
    let path = stack.call(Method::GET, &format!("/api/v1/folders/{louvre}/path"), Some(&alice), None).await.1;
    let crumbs: Vec<&str> = path["items"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(crumbs, ["Trips", "Paris", "Louvre"]);
    let got = stack.call(Method::GET, &format!("/api/v1/folders/{paris}"), Some(&alice), None).await.1;
    assert_eq!(
        (got["parentId"].as_str(), got["children"][0]["name"].as_str()),
        (Some(trips.as_str()), Some("Louvre")),
        "{got}"
    );
    // Rename; move; no cycles.
    let patch =
        |id: &str, body: Value| stack.call(Method::PATCH, &format!("/api/v1/folders/{id}"), Some(&alice), Some(body));
    assert_eq!(patch(&paris, json!({ "name": "Paris 2024" })).await.1["name"], "Paris 2024");
    let (status, cycle) = patch(&trips, json!({ "parentId": louvre })).await;
    assert_eq!(status, 400, "{cycle}");
    assert_eq!(patch(&trips, json!({ "parentId": trips })).await.0, 400);
    assert_eq!(patch(&louvre, json!({ "parentId": other })).await.1["parentId"], other.as_str());
    assert!(patch(&louvre, json!({ "parentId": null })).await.1["parentId"].is_null());
    assert_eq!(patch(&louvre, json!({ "parentId": paris })).await.0, 200);
    // Files in folders: upload into one, list per folder, move between.
    let (status, file) = upload_into(&stack, &alice, &louvre).await;
    assert_eq!(status, 202, "{file}");
    let id = file["id"].as_str().unwrap().to_owned();
    stack.wait_settled(&alice, &id, Duration::from_secs(60)).await;
    assert_eq!(upload_into(&stack, &bob, &louvre).await.0, 400);
    let (status, chev) = stack.chevereto_upload(&bob, &corpus("skimage_chelsea.png"), &[("album_id", &louvre)]).await;
    assert_eq!((status, chev["status_code"].as_u64()), (400, Some(400)), "{chev}");
    let (status, chev) = stack.chevereto_upload(&alice, &corpus("skimage_chelsea.png"), &[("album_id", &paris)]).await;
    assert_eq!(status, 200, "{chev}");
    let in_paris = stack.call(Method::GET, &format!("/api/v1/files?folderId={paris}"), Some(&alice), None).await.1;
    assert_eq!(in_paris["total"], 1, "{in_paris}");
    let in_louvre = stack.call(Method::GET, &format!("/api/v1/files?folderId={louvre}"), Some(&alice), None).await.1;
    assert_eq!((in_louvre["total"].as_u64(), in_louvre["items"][0]["id"].as_str()), (Some(1), Some(id.as_str())));
    assert_eq!(
        stack
            .call(Method::PATCH, &format!("/api/v1/files/{id}"), Some(&alice), Some(json!({ "folderId": "nope" })))
            .await
            .0,
        400
    );
    let bob_folder =
        stack.call(Method::POST, "/api/v1/folders", Some(&bob), Some(json!({ "name": "b" }))).await.1["id"]
            .as_str()
            .unwrap()
            .to_owned();
    assert_eq!(
        stack
            .call(Method::PATCH, &format!("/api/v1/files/{id}"), Some(&alice), Some(json!({ "folderId": bob_folder })))
            .await
            .0,
        400
    );
    assert_eq!(
        stack
            .call(Method::PATCH, &format!("/api/v1/files/{id}"), Some(&alice), Some(json!({ "folderId": other })))
            .await
            .0,
        200
    );
    assert_eq!(
        stack.call(Method::GET, &format!("/api/v1/files?folderId={other}"), Some(&alice), None).await.1["total"],
        1
    );
    assert_eq!(
        stack
            .call(Method::PATCH, &format!("/api/v1/files/{id}"), Some(&alice), Some(json!({ "folderId": louvre })))
            .await
            .0,
        200
    );
    // Recursive permanent delete: folders and media gone, objects purged
    // (without `permanent` it goes to the trash: see tests/e2e/trash.rs).
    let chev_id = chev["image"]["id_encoded"].as_str().unwrap().to_owned();
    assert_eq!(
        stack.call(Method::DELETE, &format!("/api/v1/folders/{trips}?permanent=true"), Some(&alice), None).await.0,
        204
    );
    for f in [&trips, &paris, &louvre] {
        assert_eq!(stack.call(Method::GET, &format!("/api/v1/folders/{f}"), Some(&alice), None).await.0, 404);
    }
    for m in [&id, &chev_id] {
        assert_eq!(stack.call(Method::GET, &format!("/api/v1/files/{m}"), Some(&alice), None).await.0, 404);
    }
    assert_eq!(stack.call(Method::GET, &format!("/api/v1/folders/{other}"), Some(&alice), None).await.0, 200);
    let me = stack.call(Method::GET, "/api/v1/auth/me", Some(&alice), None).await.1;
    assert_eq!((me["fileCount"].as_u64(), me["usedBytes"].as_u64()), (Some(0), Some(0)), "{me}");
    if stack.kind == mediaq_tests::Kind::Embedded {
        let deadline = Instant::now() + Duration::from_secs(30);
        while [&id, &chev_id].iter().any(|m| stack.data_dir.path().join("objects/media").join(m).exists()) {
            assert!(Instant::now() < deadline, "objects left after the folder was deleted");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
});

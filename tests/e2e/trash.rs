//! The trash on both stacks: a deleted file or folder is neither listed
//! nor served (public URLs included) until restored; a folder goes and
//! comes back as a whole; restore falls back to the root; permanent
//! deletes, removing one entry and emptying purge the objects; trashed
//! bytes count against the quota until removed; the Chevereto delete URL
//! removes for good. A race test drives trash, restore, permanent delete
//! and processing against each other.

use std::time::{Duration, Instant};

use mediaq_tests::{Stack, both_stacks, both_stacks_with, corpus};
use reqwest::Method;
use serde_json::{Value, json};

use crate::files_any::{get, pdf, ready, upload};

async fn folder(stack: &Stack, key: &str, name: &str, parent: Option<&str>) -> String {
    let (status, body) =
        stack.call(Method::POST, "/api/v1/folders", Some(key), Some(json!({ "name": name, "parentId": parent }))).await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

async fn file_in(stack: &Stack, key: &str, name: &str, folder: Option<&str>) -> Value {
    let (status, body) =
        upload(stack, key, pdf(name), name, &folder.map(|f| vec![("folderId", f)]).unwrap_or_default()).await;
    assert_eq!(status, 202, "{body}");
    stack.wait_settled(key, body["id"].as_str().unwrap(), Duration::from_secs(60)).await
}

async fn trash(stack: &Stack, key: &str) -> Value {
    let (status, body) = stack.call(Method::GET, "/api/v1/trash", Some(key), None).await;
    assert_eq!(status, 200, "{body}");
    body
}

fn ids(list: &Value) -> Vec<String> {
    list["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect()
}

/// Waits until media `id` has no object left in storage.
async fn purged(stack: &Stack, id: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while stack.objects_of(id) > 0 {
        assert!(Instant::now() < deadline, "objects of {id} still there");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

both_stacks!(trash_hides_restores_and_removes_files_and_folders, |stack: Stack| async move {
    let key = stack.key("alice");
    let bob = stack.key("bob");
    // A public file goes to the trash: not listed, not served, restorable.
    let a = file_in(&stack, &key, "a.pdf", None).await;
    let a_id = a["id"].as_str().unwrap().to_owned();
    let public = stack
        .call(Method::PATCH, &format!("/api/v1/files/{a_id}"), Some(&key), Some(json!({ "isPublic": true })))
        .await
        .1;
    let urls = [public["url"].as_str().unwrap().to_owned(), public["publicUrl"].as_str().unwrap().to_owned()];
    assert_eq!(get(&stack, &urls[0]).await.0, 200);
    let used = stack.call(Method::GET, "/api/v1/auth/me", Some(&key), None).await.1["usedBytes"].as_u64().unwrap();
    assert_eq!(stack.call(Method::DELETE, &format!("/api/v1/files/{a_id}"), Some(&bob), None).await.0, 404);
    assert_eq!(stack.call(Method::DELETE, &format!("/api/v1/files/{a_id}"), Some(&key), None).await.0, 204);
    assert_eq!(stack.call(Method::GET, &format!("/api/v1/files/{a_id}"), Some(&key), None).await.0, 404);
    for url in &urls {
        assert_eq!(get(&stack, url).await.0, 404, "{url} served while trashed");
    }
    assert_eq!(stack.call(Method::GET, "/api/v1/files", Some(&key), None).await.1["total"], 0);
    let listed = trash(&stack, &key).await;
    assert_eq!(
        (ids(&listed), listed["total"].as_u64(), listed["totalPages"].as_u64()),
        (vec![a_id.clone()], Some(1), Some(1)),
        "{listed}"
    );
    let item = &listed["items"][0];
    assert_eq!((item["type"].as_str(), item["name"].as_str()), (Some("file"), Some("a.pdf")));
    assert!(item["purgeAt"].as_str().unwrap() > item["deletedAt"].as_str().unwrap());
    assert_eq!(trash(&stack, &bob).await["total"], 0);
    let me = stack.call(Method::GET, "/api/v1/auth/me", Some(&key), None).await.1;
    assert_eq!(me["usedBytes"].as_u64(), Some(used), "trashed bytes still count");
    assert_eq!(stack.call(Method::POST, &format!("/api/v1/trash/{a_id}/restore"), Some(&bob), None).await.0, 404);
    let (status, back) = stack.call(Method::POST, &format!("/api/v1/trash/{a_id}/restore"), Some(&key), None).await;
    assert_eq!((status, back["id"].as_str()), (200, Some(a_id.as_str())), "{back}");
    assert_eq!(get(&stack, &urls[1]).await.0, 200, "served again after restore");
    assert_eq!(trash(&stack, &key).await["total"], 0);

    // A folder tree goes to the trash as a whole and comes back as one.
    let f = folder(&stack, &key, "F", None).await;
    let s = folder(&stack, &key, "S", Some(&f)).await;
    let b = file_in(&stack, &key, "b.pdf", Some(&f)).await;
    let c = file_in(&stack, &key, "c.pdf", Some(&s)).await;
    let (b_id, c_id) = (b["id"].as_str().unwrap().to_owned(), c["id"].as_str().unwrap().to_owned());
    assert_eq!(stack.call(Method::DELETE, &format!("/api/v1/folders/{f}"), Some(&key), None).await.0, 204);
    for path in [
        format!("/api/v1/folders/{f}"),
        format!("/api/v1/folders/{s}"),
        format!("/api/v1/files/{b_id}"),
        format!("/api/v1/files/{c_id}"),
    ] {
        assert_eq!(stack.call(Method::GET, &path, Some(&key), None).await.0, 404, "{path}");
    }
    let listed = trash(&stack, &key).await;
    assert_eq!(ids(&listed), vec![f.clone()], "one entry for the folder: {listed}");
    assert_eq!(listed["items"][0]["type"], "folder");
    assert_eq!(
        listed["items"][0]["sizeBytes"].as_u64(),
        Some(b["sizeBytes"].as_u64().unwrap() + c["sizeBytes"].as_u64().unwrap())
    );
    let (status, back) = stack.call(Method::POST, &format!("/api/v1/trash/{f}/restore"), Some(&key), None).await;
    assert_eq!((status, back["name"].as_str()), (200, Some("F")), "{back}");
    let in_s = stack.call(Method::GET, &format!("/api/v1/files?folderId={s}"), Some(&key), None).await.1;
    assert_eq!(ids(&in_s), vec![c_id.clone()]);

    // Removed for good from the trash: rows and objects go.
    assert_eq!(stack.call(Method::DELETE, &format!("/api/v1/folders/{f}"), Some(&key), None).await.0, 204);
    assert_eq!(stack.call(Method::DELETE, &format!("/api/v1/trash/{f}"), Some(&key), None).await.0, 204);
    assert_eq!(trash(&stack, &key).await["total"], 0);
    purged(&stack, &b_id).await;
    purged(&stack, &c_id).await;

    // Restore falls back to the root when the folder is gone.
    let g = folder(&stack, &key, "G", None).await;
    let d = file_in(&stack, &key, "d.pdf", Some(&g)).await;
    let d_id = d["id"].as_str().unwrap().to_owned();
    assert_eq!(stack.call(Method::DELETE, &format!("/api/v1/files/{d_id}"), Some(&key), None).await.0, 204);
    assert_eq!(
        stack.call(Method::DELETE, &format!("/api/v1/folders/{g}?permanent=true"), Some(&key), None).await.0,
        204
    );
    let (status, back) = stack.call(Method::POST, &format!("/api/v1/trash/{d_id}/restore"), Some(&key), None).await;
    assert_eq!(status, 200, "{back}");
    let root = stack.call(Method::GET, "/api/v1/files?folderId=root", Some(&key), None).await.1;
    assert!(ids(&root).contains(&d_id), "{root}");

    // Permanent delete skips the trash; emptying removes everything.
    assert_eq!(
        stack.call(Method::DELETE, &format!("/api/v1/files/{d_id}?permanent=true"), Some(&key), None).await.0,
        204
    );
    purged(&stack, &d_id).await;
    assert_eq!(stack.call(Method::DELETE, &format!("/api/v1/files/{a_id}"), Some(&key), None).await.0, 204);
    assert_eq!(trash(&stack, &key).await["total"], 1);
    assert_eq!(stack.call(Method::DELETE, "/api/v1/trash", Some(&key), None).await.0, 204);
    assert_eq!(trash(&stack, &key).await["total"], 0);
    purged(&stack, &a_id).await;
    let me = stack.call(Method::GET, "/api/v1/auth/me", Some(&key), None).await.1;
    assert_eq!(me["usedBytes"], 0, "{me}");

    // The Chevereto delete URL removes a trashed media for good.
    let (status, chev) = stack.chevereto_upload(&key, &corpus("skimage_chelsea.png"), &[]).await;
    assert_eq!(status, 200, "{chev}");
    let e_id = chev["image"]["id_encoded"].as_str().unwrap().to_owned();
    assert_eq!(stack.call(Method::DELETE, &format!("/api/v1/files/{e_id}"), Some(&key), None).await.0, 204);
    assert_eq!(get(&stack, chev["image"]["url"].as_str().unwrap()).await.0, 404);
    let res = stack.http.post(chev["image"]["delete_url"].as_str().unwrap()).send().await.unwrap();
    assert!(res.status().is_success() || res.status().is_redirection(), "{}", res.status());
    assert_eq!(trash(&stack, &key).await["total"], 0);
    purged(&stack, &e_id).await;
});

both_stacks_with!(no_trash_days_means_permanent_deletes, &[("MEDIAQ_TRASH_DAYS", "0")], |stack: Stack| async move {
    let key = stack.key("alice");
    let a = ready(&stack, &key, pdf("x"), "x.pdf").await;
    let id = a["id"].as_str().unwrap();
    assert_eq!(stack.call(Method::DELETE, &format!("/api/v1/files/{id}"), Some(&key), None).await.0, 204);
    assert_eq!(trash(&stack, &key).await["total"], 0);
    purged(&stack, id).await;
});

both_stacks!(trash_restore_delete_and_processing_race, |stack: Stack| async move {
    let key = stack.key("alice");
    let png = std::fs::read(corpus("skimage_chelsea.png")).unwrap();
    for round in 0..20 {
        // Processing runs while trash, restore and (every third round) a
        // permanent delete race each other.
        let (status, body) = upload(&stack, &key, png.clone(), "cat.png", &[]).await;
        assert_eq!(status, 202, "{body}");
        let id = body["id"].as_str().unwrap().to_owned();
        let call = |m: Method, p: String| stack.call(m, &p, Some(&key), None);
        let permanent = round % 3 == 0;
        let (t, r, d) = tokio::join!(
            call(Method::DELETE, format!("/api/v1/files/{id}")),
            call(Method::POST, format!("/api/v1/trash/{id}/restore")),
            async {
                if permanent { call(Method::DELETE, format!("/api/v1/files/{id}?permanent=true")).await.0 } else { 0 }
            }
        );
        assert!(
            matches!(t.0, 204 | 404) && matches!(r.0, 200 | 404) && matches!(d, 0 | 204 | 404),
            "round {round}: {t:?} {r:?} {d}"
        );
        let in_trash = ids(&trash(&stack, &key).await).contains(&id);
        let (got, file) = call(Method::GET, format!("/api/v1/files/{id}")).await;
        let deleted = permanent && d == 204;
        match (deleted, in_trash, got) {
            (true, false, 404) => purged(&stack, &id).await,
            (false, true, 404) => {
                // Restorable, and then processing settles it ready.
                assert_eq!(call(Method::POST, format!("/api/v1/trash/{id}/restore")).await.0, 200);
                assert_eq!(stack.wait_settled(&key, &id, Duration::from_secs(60)).await["status"], "ready");
            }
            (false, false, 200) => {
                assert_eq!(stack.wait_settled(&key, &id, Duration::from_secs(60)).await["status"], "ready", "{file}");
            }
            other => panic!("round {round}: inconsistent state {other:?}: {file}"),
        }
        if deleted {
            // A deleted file never comes back, whatever finishes later.
            assert_eq!(call(Method::POST, format!("/api/v1/trash/{id}/restore")).await.0, 404);
            assert_eq!(call(Method::GET, format!("/api/v1/files/{id}")).await.0, 404);
        }
    }
});

/// Dates the trash entry `id` (a file or a folder) back by `days`, as if
/// it had been trashed then.
async fn backdate(stack: &Stack, id: &str, days: i64) {
    let at = chrono::Utc::now() - chrono::Duration::days(days);
    let sql = ["UPDATE media SET trashed_at = $1 WHERE id = $2", "UPDATE folders SET trashed_at = $1 WHERE id = $2"];
    match stack.kind {
        mediaq_tests::Kind::Embedded => {
            let url = format!("sqlite://{}", stack.data_dir.path().join("mediaq.db").display());
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            for q in sql {
                sqlx::query(q).bind(at).bind(id).execute(&pool).await.unwrap();
            }
            pool.close().await;
        }
        mediaq_tests::Kind::Production => {
            let pool = sqlx::PgPool::connect(&stack.env["MEDIAQ_DATABASE_URL"]).await.unwrap();
            for q in sql {
                sqlx::query(q).bind(at).bind(id).execute(&pool).await.unwrap();
            }
            pool.close().await;
        }
    }
}

both_stacks_with!(the_sweep_removes_trash_past_its_days, &[("MEDIAQ_TRASH_DAYS", "7")], |stack: Stack| async move {
    let key = stack.key("alice");
    let old = file_in(&stack, &key, "old.pdf", None).await;
    let young = file_in(&stack, &key, "young.pdf", None).await;
    let f = folder(&stack, &key, "Old", None).await;
    let inside = file_in(&stack, &key, "in.pdf", Some(&f)).await;
    let (old_id, young_id, in_id) =
        (old["id"].as_str().unwrap(), young["id"].as_str().unwrap(), inside["id"].as_str().unwrap());
    for path in [format!("/api/v1/files/{old_id}"), format!("/api/v1/files/{young_id}"), format!("/api/v1/folders/{f}")]
    {
        assert_eq!(stack.call(Method::DELETE, &path, Some(&key), None).await.0, 204);
    }
    let listed = trash(&stack, &key).await;
    let purge_at = listed["items"][0]["purgeAt"].as_str().unwrap().to_owned();
    let deleted_at = listed["items"][0]["deletedAt"].as_str().unwrap().to_owned();
    let days = chrono::DateTime::parse_from_rfc3339(&purge_at).unwrap()
        - chrono::DateTime::parse_from_rfc3339(&deleted_at).unwrap();
    assert_eq!(days.num_days(), 7);
    backdate(&stack, old_id, 8).await;
    backdate(&stack, &f, 8).await;
    let out = stack.command(&["sweep"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(ids(&trash(&stack, &key).await), vec![young_id.to_owned()]);
    purged(&stack, old_id).await;
    purged(&stack, in_id).await;
    assert!(stack.objects_of(young_id) > 0, "a younger entry is kept");
});

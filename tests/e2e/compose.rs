//! docker-compose.yml stays consistent with the configuration code: every
//! MEDIAQ_* name it sets exists, api and worker share one setup, the
//! signing secret is the operator's own (compose refuses to start without
//! it) and presigned URLs use an endpoint clients can reach.

use std::collections::BTreeMap;

use mediaq_shared::config::{Config, KNOWN_VARIABLES};
use serde_yaml::Value;

fn environment(service: &Value) -> BTreeMap<String, String> {
    let env = &service["environment"];
    if let Some(map) = env.as_mapping() {
        return map
            .iter()
            .map(|(k, v)| (k.as_str().unwrap().to_owned(), v.as_str().map_or_else(|| format!("{v:?}"), str::to_owned)))
            .collect();
    }
    env.as_sequence()
        .unwrap()
        .iter()
        .map(|kv| {
            let (k, v) = kv.as_str().unwrap().split_once('=').unwrap();
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

/// Compose's `${VAR:-default}` and `${VAR:?error}`: defaults are filled in,
/// required variables are collected (and given a value of the kind an
/// operator would set).
fn interpolate(value: &str, required: &mut Vec<String>) -> String {
    let Some(inner) = value.strip_prefix("${").and_then(|v| v.strip_suffix('}')) else { return value.to_owned() };
    if let Some((var, _)) = inner.split_once(":?") {
        required.push(var.to_owned());
        return "0123456789abcdef0123456789abcdef0123456789abcdef".to_owned();
    }
    inner.split_once(":-").map_or_else(String::new, |(_, default)| default.to_owned())
}

#[test]
fn compose_file_matches_the_config_code() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docker-compose.yml")).unwrap();
    let mut doc: Value = serde_yaml::from_str(&text).unwrap();
    doc.apply_merge().unwrap();
    let services = &doc["services"];
    for name in ["api", "worker", "postgres", "redis", "minio"] {
        assert!(!services[name].is_null(), "service {name} is missing");
    }
    let api = environment(&services["api"]);
    let worker = environment(&services["worker"]);
    for (name, env) in [("api", &api), ("worker", &worker)] {
        for var in env.keys().filter(|k| k.starts_with("MEDIAQ_")) {
            assert!(KNOWN_VARIABLES.contains(&var.as_str()), "{name} sets unknown {var}");
        }
        // The values must pass the same validation mediaq runs at start-up.
        let mut required = Vec::new();
        let only_ours: BTreeMap<String, String> = env
            .iter()
            .filter(|(k, _)| k.starts_with("MEDIAQ_"))
            .map(|(k, v)| (k.clone(), interpolate(v, &mut required)))
            .collect();
        assert_eq!(required, ["MEDIAQ_SIGNING_SECRET"], "{name}: the operator must set exactly the signing secret");
        let public = &only_ours["MEDIAQ_S3_PUBLIC_ENDPOINT"];
        assert_ne!(public, &only_ours["MEDIAQ_S3_ENDPOINT"], "{name}: presigned URLs would name an internal host");
        let config = Config::from_map(&only_ours).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!config.is_embedded(), "{name} should use postgres + s3");
    }
    for var in
        ["MEDIAQ_DATABASE_URL", "MEDIAQ_QUEUE_URL", "MEDIAQ_STORAGE", "MEDIAQ_S3_BUCKET", "MEDIAQ_SIGNING_SECRET"]
    {
        assert_eq!(api.get(var), worker.get(var), "api and worker disagree on {var}");
    }
    assert!(format!("{:?}", services["minio"]["ports"]).contains("9000:9000"), "MinIO must be reachable by clients");
    let command = |s: &Value| format!("{:?}", s["command"]);
    assert!(command(&services["api"]).contains("serve"));
    assert!(command(&services["worker"]).contains("work"));
}

//! A bad MEDIAQ_* value stops start-up with a message naming the variable.

use mediaq_tests::binary;

#[test]
fn bad_values_fail_start_up_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    for (var, value) in [
        ("MEDIAQ_MAX_UPLOAD_BYTES", "lots"),
        ("MEDIAQ_LISTEN", "localhost"),
        ("MEDIAQ_STORAGE", "tape"),
        ("MEDIAQ_FETCH_ALLOW_PRIVATE", "maybe"),
        ("MEDIAQ_DATABASE_URL", "mysql://db/x"),
        ("MEDIAQ_PUBLIC_URL", "not a url"),
    ] {
        for command in ["serve", "work", "all"] {
            let out = std::process::Command::new(binary())
                .arg(command)
                .env("MEDIAQ_DATA_DIR", dir.path())
                .env(var, value)
                .output()
                .unwrap();
            assert!(!out.status.success(), "{command} started with {var}={value}");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(stderr.contains(var), "{command} with {var}={value} said: {stderr}");
        }
    }
}

#[test]
fn short_or_sample_signing_secrets_stop_start_up() {
    let dir = tempfile::tempdir().unwrap();
    for secret in ["too-short-0123456789", "change-me-to-a-long-random-string"] {
        for command in ["serve", "work", "all"] {
            let out = std::process::Command::new(binary())
                .arg(command)
                .env("MEDIAQ_DATA_DIR", dir.path())
                .env("MEDIAQ_SIGNING_SECRET", secret)
                .output()
                .unwrap();
            assert!(!out.status.success(), "{command} started with MEDIAQ_SIGNING_SECRET={secret}");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(stderr.contains("MEDIAQ_SIGNING_SECRET"), "{command} said: {stderr}");
            assert!(!stderr.contains(secret), "{command} printed the secret: {stderr}");
        }
    }
}

#[test]
fn help_lists_every_command() {
    let out = std::process::Command::new(binary()).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for command in ["all", "serve", "work", "migrate", "key"] {
        assert!(help.contains(command), "--help does not mention {command}:\n{help}");
    }
}

//! Password hashing (argon2id, default parameters) and the rules a
//! username and a password must follow.
//!
//! Hashing is CPU- and memory-heavy (a core and ~19 MiB for tens of
//! milliseconds) and is reachable without an account (register, login,
//! link passwords), so it runs on the blocking pool behind a semaphore
//! with one permit per core: a flood of attempts queues instead of taking
//! every core and unbounded memory. A request that cannot get a permit
//! within [`MAX_WAIT`], or finds [`MAX_WAITING`] requests already queued,
//! is answered 429 with `Retry-After`.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::error::ApiError;

/// Longest wait for a hashing permit.
pub const MAX_WAIT: Duration = Duration::from_secs(10);
/// Requests allowed to wait for a permit at once; more are refused.
pub const MAX_WAITING: usize = 256;

/// One per process on purpose (STYLE avoids singletons): what it guards is
/// the process's cores and memory, however many routers share them.
static HASHING: LazyLock<Gate> =
    LazyLock::new(|| Gate::new(std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)));

/// A semaphore with a bounded queue in front of it.
pub struct Gate {
    permits: Semaphore,
    waiting: AtomicUsize,
}

impl Gate {
    pub fn new(permits: usize) -> Self {
        Self { permits: Semaphore::new(permits.max(1)), waiting: AtomicUsize::new(0) }
    }

    /// A permit, or 429 when too many wait or the wait is too long.
    async fn enter(&self) -> Result<SemaphorePermit<'_>, ApiError> {
        struct Waiting<'a>(&'a AtomicUsize);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::AcqRel);
            }
        }
        let _waiting = Waiting(&self.waiting);
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= MAX_WAITING {
            return Err(ApiError::RateLimited { retry_after: 1 });
        }
        match tokio::time::timeout(MAX_WAIT, self.permits.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(closed)) => Err(ApiError::Internal(format!("password hashing: {closed}"))),
            Err(_) => Err(ApiError::RateLimited { retry_after: MAX_WAIT.as_secs() }),
        }
    }

    /// Runs `work` on the blocking pool while holding a permit (kept until
    /// the work ends, even when the request is gone).
    pub async fn run<T: Send + 'static>(
        &'static self,
        work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let permit = self.enter().await?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(|e| ApiError::Internal(format!("password hashing task: {e}")))?
    }
}

const MIN_PASSWORD: usize = 8;
/// Longer inputs only cost hashing time.
const MAX_PASSWORD: usize = 256;

/// Usernames: 3–32 ASCII letters, digits, `_`, `-` or `.`.
pub fn check_username(name: &str) -> Result<(), ApiError> {
    let ok = (3..=32).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ApiError::BadRequest("invalid 'username': expected 3 to 32 letters, digits, '_', '-' or '.'".into()))
    }
}

pub fn check_password(field: &str, password: &str) -> Result<(), ApiError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD || password.len() > MAX_PASSWORD {
        return Err(ApiError::BadRequest(format!(
            "invalid '{field}': expected {MIN_PASSWORD} to {MAX_PASSWORD} characters"
        )));
    }
    Ok(())
}

/// The PHC string of an argon2id hash of `password` with a random salt.
pub async fn hash(password: String) -> Result<String, ApiError> {
    HASHING
        .run(move || {
            let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
                .map_err(|e| ApiError::Internal(format!("salt: {e}")))?;
            Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| ApiError::Internal(format!("password hash: {e}")))
        })
        .await
}

/// Whether `password` matches `stored`. Without a stored hash, a hash is
/// computed anyway and false returned, so the answer takes as long as for
/// an existing account (no user enumeration by timing).
pub async fn verify(password: String, stored: Option<String>) -> Result<bool, ApiError> {
    let Some(stored) = stored else {
        hash(password).await?;
        return Ok(false);
    };
    HASHING
        .run(move || {
            let parsed =
                PasswordHash::new(&stored).map_err(|e| ApiError::Internal(format!("stored password hash: {e}")))?;
            Ok(Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        })
        .await
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    #[tokio::test]
    async fn the_gate_bounds_concurrency_and_its_queue() {
        static GATE: LazyLock<Gate> = LazyLock::new(|| Gate::new(2));
        static RUNNING: AtomicUsize = AtomicUsize::new(0);
        static PEAK: AtomicUsize = AtomicUsize::new(0);
        let work = || {
            let now = RUNNING.fetch_add(1, Ordering::SeqCst) + 1;
            PEAK.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(20));
            RUNNING.fetch_sub(1, Ordering::SeqCst);
            Ok(())
        };
        let runs: Vec<_> = (0..12).map(|_| tokio::spawn(GATE.run(work))).collect();
        for run in runs {
            run.await.unwrap().unwrap();
        }
        assert!(PEAK.load(Ordering::SeqCst) <= 2, "more hashes ran at once than permits");
        // A full queue is refused at once.
        GATE.waiting.store(MAX_WAITING, Ordering::SeqCst);
        assert!(matches!(GATE.run(work).await, Err(ApiError::RateLimited { .. })));
        GATE.waiting.store(0, Ordering::SeqCst);
    }

    #[tokio::test]
    async fn hashes_verify_and_rules_hold() {
        let h = hash("correct horse".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse".into(), Some(h.clone())).await.unwrap());
        assert!(!verify("wrong horse".into(), Some(h)).await.unwrap());
        assert!(!verify("anything".into(), None).await.unwrap());
        assert!(check_username("alice_1").is_ok());
        assert!(check_username("a").is_err() && check_username("al ice").is_err());
        assert!(check_password("password", "short").is_err());
        assert!(check_password("password", "long enough").is_ok());
    }
}

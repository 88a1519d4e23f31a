//! Writing the audit log from handlers: who (user and which credential,
//! never the secret), from where (the peer address), did what to what,
//! with what result. A failed write is logged, never fails the request.

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use mediaq_shared::domain::User;
use mediaq_shared::repo::AuditEntry;

use crate::auth::{Caller, Credential};
use crate::state::AppState;

/// The peer's IP address, when the server knows it.
#[derive(Debug, Clone, Default)]
pub struct ClientIp(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        Ok(Self(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string())))
    }
}

/// Who did something.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub id: Option<i64>,
    pub name: Option<String>,
    pub credential: Option<String>,
}

impl From<&Caller> for Actor {
    fn from(c: &Caller) -> Self {
        let credential = match c.credential {
            Credential::Key(id) => format!("key:{id}"),
            Credential::Session(id) => format!("session:{id}"),
        };
        Self { id: Some(c.user.id.0), name: Some(c.user.username.clone()), credential: Some(credential) }
    }
}

impl From<&User> for Actor {
    fn from(u: &User) -> Self {
        Self { id: Some(u.id.0), name: Some(u.username.clone()), credential: None }
    }
}

/// Appends one entry.
pub async fn record(state: &AppState, actor: Actor, ip: &ClientIp, action: &str, target: Option<String>, ok: bool) {
    let entry = AuditEntry {
        actor_id: actor.id,
        actor_name: actor.name,
        credential: actor.credential,
        ip: ip.0.clone(),
        action: action.to_owned(),
        target,
        result: if ok { "ok" } else { "failed" }.to_owned(),
        ..AuditEntry::default()
    };
    if let Err(e) = state.repo.append_audit(&entry).await {
        tracing::warn!(error = %e, action, "audit entry not written");
    }
}

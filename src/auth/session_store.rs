//! actix-session storage in our own database: sessions are shared by every app instance and
//! can be listed and revoked per user. Only a hash of the session key is stored.

use std::collections::HashMap;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration as CookieDuration;
use chrono::Duration;
use diesel::prelude::*;

use crate::db::schema::sessions;
use crate::db::{Db, DbError};
use crate::domain::time;

/// Session-state keys that the store copies into columns.
pub const USER_ID: &str = "uid";
/// Marks a session that could not be loaded because the database is away (never stored).
pub const UNAVAILABLE: &str = "_db_unavailable";
pub const USER_AGENT: &str = "ua";

#[derive(Clone)]
pub struct DbSessionStore {
    db: Db,
}

impl DbSessionStore {
    pub fn new(db: Db) -> Self {
        DbSessionStore { db }
    }
}

type State = HashMap<String, String>;

fn columns(state: &State) -> (Option<i64>, String) {
    let user_id = state.get(USER_ID).and_then(|v| v.parse::<i64>().ok());
    let ua = state
        .get(USER_AGENT)
        .and_then(|v| serde_json::from_str::<String>(v).ok())
        .unwrap_or_default();
    (user_id, ua.chars().take(300).collect())
}

fn ttl(d: &CookieDuration) -> Duration {
    Duration::seconds(d.whole_seconds().max(1))
}

fn new_key() -> Result<(SessionKey, String), anyhow::Error> {
    let raw = super::random_token();
    let hash = super::token_hash(&raw);
    let key = SessionKey::try_from(raw).map_err(|e| anyhow::anyhow!("session key: {e}"))?;
    Ok((key, hash))
}

impl DbSessionStore {
    async fn insert(
        &self,
        state: State,
        ttl_: &CookieDuration,
    ) -> Result<SessionKey, anyhow::Error> {
        let (key, hash) = new_key()?;
        let json = serde_json::to_string(&state)?;
        let (user_id, ua) = columns(&state);
        let expires = ttl(ttl_);
        self.db
            .run(move |conn| {
                let now = time::now();
                diesel::insert_into(sessions::table)
                    .values((
                        sessions::key_hash.eq(hash),
                        sessions::user_id.eq(user_id),
                        sessions::state.eq(json),
                        sessions::user_agent.eq(ua),
                        sessions::created_at.eq(now),
                        sessions::last_seen_at.eq(now),
                        sessions::expires_at.eq(now + expires),
                    ))
                    .execute(conn)
                    .map_err(DbError::from)
            })
            .await?;
        Ok(key)
    }
}

impl SessionStore for DbSessionStore {
    async fn load(&self, session_key: &SessionKey) -> Result<Option<State>, LoadError> {
        let hash = super::token_hash(session_key.as_ref());
        let state: Result<Option<String>, DbError> = self
            .db
            .run(move |conn| {
                sessions::table
                    .filter(sessions::key_hash.eq(hash))
                    .filter(sessions::expires_at.gt(time::now()))
                    .select(sessions::state)
                    .first(conn)
                    .optional()
                    .map_err(DbError::from)
            })
            .await;
        let state = match state {
            Ok(s) => s,
            // actix-session turns a load error into a bare 500. While the database is away,
            // hand the request a marked session instead, so the user extractors answer 503
            // like every other page (the mark is never stored).
            Err(e) if crate::error::is_unavailable(&e) => {
                let mut marked = State::new();
                marked.insert(UNAVAILABLE.into(), "true".into());
                return Ok(Some(marked));
            }
            Err(e) => return Err(LoadError::Other(e.into())),
        };
        match state {
            None => Ok(None),
            Some(s) => serde_json::from_str(&s)
                .map(Some)
                .map_err(|e| LoadError::Deserialization(e.into())),
        }
    }

    async fn save(
        &self,
        mut session_state: State,
        ttl_: &CookieDuration,
    ) -> Result<SessionKey, SaveError> {
        session_state.remove(UNAVAILABLE);
        self.insert(session_state, ttl_)
            .await
            .map_err(SaveError::Other)
    }

    async fn update(
        &self,
        session_key: SessionKey,
        mut session_state: State,
        ttl_: &CookieDuration,
    ) -> Result<SessionKey, UpdateError> {
        session_state.remove(UNAVAILABLE);
        let hash = super::token_hash(session_key.as_ref());
        let json = serde_json::to_string(&session_state)
            .map_err(|e| UpdateError::Serialization(e.into()))?;
        let (user_id, ua) = columns(&session_state);
        let expires = ttl(ttl_);
        let updated = self
            .db
            .run(move |conn| {
                let now = time::now();
                diesel::update(
                    sessions::table
                        .filter(sessions::key_hash.eq(hash))
                        .filter(sessions::expires_at.gt(now)),
                )
                .set((
                    sessions::state.eq(json),
                    sessions::user_id.eq(user_id),
                    sessions::user_agent.eq(ua),
                    sessions::last_seen_at.eq(now),
                    sessions::expires_at.eq(now + expires),
                ))
                .execute(conn)
                .map_err(DbError::from)
            })
            .await
            .map_err(|e| UpdateError::Other(e.into()))?;
        if updated == 1 {
            Ok(session_key)
        } else {
            // Revoked or expired meanwhile (say, signed out from another device while this
            // request ran): start a new, anonymous session rather than revive the old one.
            let mut state = session_state;
            for key in [
                USER_ID,
                USER_AGENT,
                super::extract::CREATED,
                super::extract::SID,
            ] {
                state.remove(key);
            }
            self.insert(state, ttl_).await.map_err(UpdateError::Other)
        }
    }

    async fn update_ttl(
        &self,
        session_key: &SessionKey,
        ttl_: &CookieDuration,
    ) -> Result<(), anyhow::Error> {
        let hash = super::token_hash(session_key.as_ref());
        let expires = ttl(ttl_);
        let result = self
            .db
            .run(move |conn| {
                let now = time::now();
                // At most one write a minute per session: reading pages stays cheap. Read
                // first: on SQLite even an UPDATE that changes no row takes the write lock,
                // and would queue behind (and hold up) the posts being committed.
                let due = sessions::table
                    .filter(sessions::key_hash.eq(&hash))
                    .filter(sessions::expires_at.gt(now))
                    .filter(sessions::last_seen_at.lt(now - Duration::seconds(60)))
                    .select(sessions::id)
                    .first::<i64>(conn)
                    .optional()
                    .map_err(DbError::from)?;
                if due.is_none() {
                    return Ok(0);
                }
                diesel::update(
                    sessions::table
                        .filter(sessions::key_hash.eq(hash))
                        .filter(sessions::expires_at.gt(now))
                        .filter(sessions::last_seen_at.lt(now - Duration::seconds(60))),
                )
                .set((
                    sessions::last_seen_at.eq(now),
                    sessions::expires_at.eq(now + expires),
                ))
                .execute(conn)
                .map_err(DbError::from)
            })
            .await;
        // Extending the expiry is best effort: a failure must not fail the page it rides on.
        if let Err(e) = result {
            tracing::warn!(error = %e, "could not extend a session's expiry");
        }
        Ok(())
    }

    async fn delete(&self, session_key: &SessionKey) -> Result<(), anyhow::Error> {
        let hash = super::token_hash(session_key.as_ref());
        self.db
            .run(move |conn| {
                diesel::delete(sessions::table.filter(sessions::key_hash.eq(hash)))
                    .execute(conn)
                    .map_err(DbError::from)
            })
            .await?;
        Ok(())
    }
}

/// Removes expired sessions; run periodically.
pub fn purge_expired(conn: &mut crate::db::DbConn) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::expires_at.le(time::now()))).execute(conn)
}

//! SQLite persistence: WAL mode, versioned migrations, one transaction per group commit.

use std::path::Path;

use bytes::Bytes;
use rusqlite::{params, Connection, OpenFlags};

use super::{Business, Delivery, Dirty, IdempotencyRecord, State, StoreError};
use crate::engine::session::Session;

/// Migrations in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[include_str!("migrations/0001_init.sql")];

/// Every table the migrations create.
const TABLES: &[&str] = &["businesses", "sessions", "documents", "idempotency", "deliveries"];

/// Refuses a file that is neither empty nor a sandbox database (another application's SQLite
/// file, or no SQLite file at all), looking at it read-only: such a file is never modified
/// (docs/DECISIONS.md §11).
fn refuse_foreign(path: &Path) -> Result<(), StoreError> {
    if std::fs::metadata(path).map_or(true, |m| m.len() == 0) {
        return Ok(());
    }
    let not_ours = |why: String| StoreError::NotSandbox(why);
    let inspect = || -> rusqlite::Result<(i64, Vec<String>)> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        let version = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let mut stmt = conn.prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
        )?;
        let tables = stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<_>>()?;
        Ok((version, tables))
    };
    let (version, tables) = match inspect() {
        Ok(found) => found,
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) => {
            return Err(not_ours("it is not a SQLite database".to_owned()))
        }
        Err(e) => return Err(e.into()),
    };
    let foreign: Vec<&str> = tables.iter().map(String::as_str).filter(|t| !TABLES.contains(t)).collect();
    if !foreign.is_empty() {
        return Err(not_ours(format!("it holds other tables ({})", foreign.join(", "))));
    }
    if version == 0 && !tables.is_empty() {
        return Err(not_ours("its tables were not made by the sandbox".to_owned()));
    }
    Ok(())
}

pub(super) struct Db {
    conn: Connection,
}

impl Db {
    pub fn open(path: &Path) -> Result<Db, StoreError> {
        refuse_foreign(path)?;
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "wal_autocheckpoint", 10_000)?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version as usize > MIGRATIONS.len() {
            return Err(StoreError::Migration(format!(
                "database schema version {version} is newer than this sandbox knows ({})",
                MIGRATIONS.len()
            )));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
        }
        Ok(Db { conn })
    }

    /// Reads everything back into a fresh state, re-queueing open deliveries in order.
    pub fn load(&self) -> Result<State, StoreError> {
        let mut state = State::default();
        let mut stmt = self.conn.prepare("SELECT json FROM businesses")?;
        for row in stmt.query_map([], |r| r.get::<_, String>(0))? {
            let b: Business = serde_json::from_str(&row?)?;
            state.insert_business(b);
        }
        let mut stmt = self.conn.prepare("SELECT json FROM sessions")?;
        for row in stmt.query_map([], |r| r.get::<_, String>(0))? {
            let s: Session = serde_json::from_str(&row?)?;
            if !s.status.is_terminal() {
                state.active.insert(s.id.clone());
            }
            state.last_session_seq = state.last_session_seq.max(s.seq);
            state.sessions.insert(s.id.clone(), Box::new(s));
        }
        let mut stmt =
            self.conn.prepare("SELECT session_id, idx, bytes FROM documents ORDER BY session_id, idx")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, Option<Vec<u8>>>(2)?))
        })?;
        for row in rows {
            let (sid, idx, bytes) = row?;
            let docs = state.documents.entry(sid.into()).or_default();
            let idx = idx as usize;
            if docs.len() <= idx {
                docs.resize(idx + 1, None);
            }
            docs[idx] = bytes.map(Bytes::from);
        }
        state.documents.retain(|_, d| d.iter().any(Option::is_some));
        let mut stmt = self.conn.prepare("SELECT business_id, key, json FROM idempotency")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
        })?;
        for row in rows {
            let (b, k, json) = row?;
            let rec: IdempotencyRecord = serde_json::from_str(&json)?;
            state.idempotency.insert((b, k), rec);
        }
        let mut stmt = self.conn.prepare("SELECT json FROM deliveries ORDER BY seq")?;
        let now = crate::clock::real_now();
        for row in stmt.query_map([], |r| r.get::<_, String>(0))? {
            let mut d: Delivery = serde_json::from_str(&row?)?;
            d.business_id = state.deliveries_business_id(&d.business_id);
            state.next_seq = state.next_seq.max(d.seq + 1);
            state.delivery_ids.insert(d.delivery_id.clone(), d.seq);
            state.delivery_log.entry(d.business_id.to_string()).or_default().push(d.seq);
            if d.is_open() {
                let due = d.next_attempt_at.unwrap_or(now);
                state.enqueue(uip_types::SessionId::from(d.session_id()), d.seq, due);
            }
            state.deliveries.insert(d.seq, Box::new(d));
        }
        Ok(state)
    }

    /// Test hook: `full` caps the file at the pages it has now (SQLite's `max_page_count`, per
    /// connection), so a write that needs one more page fails with `SQLITE_FULL` as on a full
    /// disk; `!full` lifts the cap (space freed).
    #[cfg(test)]
    pub fn set_full(&self, full: bool) -> Result<(), StoreError> {
        let max: i64 = if full {
            self.conn.query_row("PRAGMA page_count", [], |r| r.get(0))?
        } else {
            i64::from(u32::MAX >> 1)
        };
        self.conn.query_row(&format!("PRAGMA max_page_count = {max}"), [], |r| r.get::<_, i64>(0))?;
        Ok(())
    }

    /// Writes one group commit's rows in one transaction.
    pub fn store(&mut self, rows: &[Row]) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        for row in rows {
            match row {
                Row::Business { id, json } => {
                    tx.prepare_cached("INSERT INTO businesses (id, json) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET json = excluded.json")?
                        .execute(params![id, json])?;
                }
                Row::Session { id, business_id, json, purged } => {
                    tx.prepare_cached(
                        "INSERT INTO sessions (id, business_id, json) VALUES (?1, ?2, ?3) \
                         ON CONFLICT (id) DO UPDATE SET json = excluded.json",
                    )?
                    .execute(params![id, business_id, json])?;
                    let mut purge = tx.prepare_cached(
                        "UPDATE documents SET bytes = NULL WHERE session_id = ?1 AND idx = ?2",
                    )?;
                    for i in purged {
                        purge.execute(params![id, *i as i64])?;
                    }
                }
                Row::Documents { session_id, documents } => {
                    let mut put = tx.prepare_cached(
                        "INSERT OR REPLACE INTO documents (session_id, idx, bytes) VALUES (?1, ?2, ?3)",
                    )?;
                    for (i, d) in documents.iter().enumerate() {
                        put.execute(params![session_id, i as i64, d.as_deref()])?;
                    }
                }
                Row::Idempotency { business_id, key, json } => {
                    tx.prepare_cached(
                        "INSERT OR REPLACE INTO idempotency (business_id, key, json) VALUES (?1, ?2, ?3)",
                    )?
                    .execute(params![business_id, key, json])?;
                }
                Row::IdempotencyRemoved { business_id, key } => {
                    tx.prepare_cached("DELETE FROM idempotency WHERE business_id = ?1 AND key = ?2")?
                        .execute(params![business_id, key])?;
                }
                Row::Delivery { seq, delivery_id, session_id, json } => {
                    tx.prepare_cached(
                        "INSERT INTO deliveries (seq, delivery_id, session_id, json) VALUES (?1, ?2, ?3, ?4) \
                         ON CONFLICT (seq) DO UPDATE SET json = excluded.json",
                    )?
                    .execute(params![*seq as i64, &**delivery_id, session_id, json])?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }
}

/// One row to write, encoded while the state is locked (so a group commit stores one
/// consistent moment) and written after the lock is released.
pub(super) enum Row {
    Business { id: String, json: String },
    Session { id: String, business_id: String, json: String, purged: Vec<usize> },
    Documents { session_id: String, documents: Vec<Option<Bytes>> },
    Idempotency { business_id: String, key: String, json: String },
    IdempotencyRemoved { business_id: String, key: String },
    Delivery { seq: u64, delivery_id: std::sync::Arc<str>, session_id: String, json: String },
}

/// The rows for what `dirty` names, as `state` holds it now.
pub(super) fn rows(state: &State, dirty: &Dirty) -> Result<Vec<Row>, StoreError> {
    let mut rows = Vec::new();
    for id in &dirty.businesses {
        if let Some(b) = state.businesses.get(id) {
            rows.push(Row::Business { id: id.clone(), json: serde_json::to_string(b)? });
        }
    }
    for id in &dirty.sessions {
        if let Some(s) = state.sessions.get(id) {
            let purged = s.documents.iter().enumerate().filter(|(_, d)| d.purged).map(|(i, _)| i).collect();
            rows.push(Row::Session {
                id: id.to_string(),
                business_id: s.business_id.clone(),
                json: serde_json::to_string(s)?,
                purged,
            });
        }
    }
    // A new session's documents, as they are now: a slot purged since the create (in the same
    // group commit) is written empty, so the order against the sessions' purges does not matter.
    for id in &dirty.new_documents {
        if let Some(docs) = state.documents.get(id) {
            rows.push(Row::Documents { session_id: id.to_string(), documents: docs.clone() });
        }
    }
    for key in &dirty.idempotency {
        if let Some(rec) = state.idempotency.get(key) {
            rows.push(Row::Idempotency {
                business_id: key.0.clone(),
                key: key.1.clone(),
                json: serde_json::to_string(rec)?,
            });
        }
    }
    for key in &dirty.idempotency_removed {
        if !state.idempotency.contains_key(key) {
            rows.push(Row::IdempotencyRemoved { business_id: key.0.clone(), key: key.1.clone() });
        }
    }
    for seq in &dirty.deliveries {
        if let Some(d) = state.deliveries.get(seq) {
            rows.push(Row::Delivery {
                seq: *seq,
                delivery_id: d.delivery_id.clone(),
                session_id: d.session_id().to_owned(),
                json: serde_json::to_string(d)?,
            });
        }
    }
    Ok(rows)
}

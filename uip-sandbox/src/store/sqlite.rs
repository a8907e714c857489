//! SQLite persistence: WAL mode, versioned migrations, one transaction per group commit.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{params, Connection, OpenFlags};
use uip_types::SessionId;

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

/// Test hook: one JSON row a group commit wrote: (table, JSON).
#[cfg(test)]
pub(super) type Written = (&'static str, String);

pub(super) struct Db {
    /// Declared first, so dropped first: its connection closes before `conn`, and the last
    /// connection's close checkpoints the whole WAL and removes it.
    checkpointer: Checkpointer,
    conn: Connection,
    /// Commits since the checkpointer was last asked for a checkpoint.
    commits: u32,
    /// The buffer every JSON row is encoded into, kept from one commit to the next.
    buf: Vec<u8>,
    /// Test hook: the rows of each group commit, once asked for ([`Db::keep_written`]).
    #[cfg(test)]
    written: Option<Vec<Vec<Written>>>,
}

impl Db {
    pub fn open(path: &Path) -> Result<Db, StoreError> {
        refuse_foreign(path)?;
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // A thread of its own copies the WAL into the file as it grows (`Checkpointer`); the
        // checkpoint a commit runs past 10 000 pages then finds little left to copy, and lets
        // the WAL start over (one run while commits go on cannot).
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
        let checkpointer = Checkpointer::start(path)?;
        Ok(Db {
            checkpointer,
            conn,
            commits: 0,
            buf: Vec::new(),
            #[cfg(test)]
            written: None,
        })
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
            state.sessions.insert(s.id.clone(), Arc::new(s));
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
            state.deliveries.insert(d.seq, Arc::new(d));
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

    /// Test hook: from now on, each group commit's encoded rows are kept (see [`Db::written`]).
    #[cfg(test)]
    pub fn keep_written(&mut self) {
        self.written.get_or_insert_with(Vec::new);
    }

    /// Test hook: the rows each group commit wrote since [`Db::keep_written`], in order: per
    /// commit, (table, JSON) of every JSON row.
    #[cfg(test)]
    pub fn written(&self) -> &[Vec<Written>] {
        self.written.as_deref().unwrap_or_default()
    }

    /// Encodes one group commit's entries and writes them in one transaction. Called without
    /// the state's lock: the entries are the commit's own (shared entries are never changed in
    /// place once taken, see [`snapshot`]).
    pub fn store(&mut self, entries: &[Entry]) -> Result<(), StoreError> {
        #[cfg(test)]
        let mut log = Vec::new();
        #[cfg(test)]
        let mut keep = |table: &'static str, json: &ToSqlOutput| {
            if let (Some(_), ToSqlOutput::Borrowed(ValueRef::Text(json))) = (&self.written, json) {
                log.push((table, String::from_utf8_lossy(json).into_owned()));
            }
        };
        #[cfg(not(test))]
        let keep = |_: &'static str, _: &ToSqlOutput| {};
        // One buffer for every JSON row, kept for the next commit unless a row made it large.
        let mut buf = std::mem::take(&mut self.buf);
        let tx = self.conn.transaction()?;
        for entry in entries {
            match entry {
                Entry::Business(b) => {
                    let json = encode(&mut buf, b)?;
                    keep("businesses", &json);
                    tx.prepare_cached("INSERT INTO businesses (id, json) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET json = excluded.json")?
                        .execute(params![b.id, json])?;
                }
                Entry::Session(s) => {
                    let json = encode(&mut buf, &**s)?;
                    keep("sessions", &json);
                    tx.prepare_cached(
                        "INSERT INTO sessions (id, business_id, json) VALUES (?1, ?2, ?3) \
                         ON CONFLICT (id) DO UPDATE SET json = excluded.json",
                    )?
                    .execute(params![s.id.as_str(), s.business_id, json])?;
                    let mut purge = tx.prepare_cached(
                        "UPDATE documents SET bytes = NULL WHERE session_id = ?1 AND idx = ?2",
                    )?;
                    for (i, _) in s.documents.iter().enumerate().filter(|(_, d)| d.purged) {
                        purge.execute(params![s.id.as_str(), i as i64])?;
                    }
                }
                Entry::Documents { session_id, documents } => {
                    let mut put = tx.prepare_cached(
                        "INSERT OR REPLACE INTO documents (session_id, idx, bytes) VALUES (?1, ?2, ?3)",
                    )?;
                    for (i, d) in documents.iter().enumerate() {
                        put.execute(params![session_id.as_str(), i as i64, d.as_deref()])?;
                    }
                }
                Entry::Idempotency { key, record } => {
                    let json = encode(&mut buf, record)?;
                    keep("idempotency", &json);
                    tx.prepare_cached(
                        "INSERT OR REPLACE INTO idempotency (business_id, key, json) VALUES (?1, ?2, ?3)",
                    )?
                    .execute(params![key.0, key.1, json])?;
                }
                Entry::IdempotencyRemoved(key) => {
                    tx.prepare_cached("DELETE FROM idempotency WHERE business_id = ?1 AND key = ?2")?
                        .execute(params![key.0, key.1])?;
                }
                Entry::Delivery(d) => {
                    let json = encode(&mut buf, &**d)?;
                    keep("deliveries", &json);
                    tx.prepare_cached(
                        "INSERT INTO deliveries (seq, delivery_id, session_id, json) VALUES (?1, ?2, ?3, ?4) \
                         ON CONFLICT (seq) DO UPDATE SET json = excluded.json",
                    )?
                    .execute(params![d.seq as i64, &*d.delivery_id, d.session_id(), json])?;
                }
            }
        }
        tx.commit()?;
        if buf.capacity() <= KEPT_BUFFER {
            self.buf = buf;
        }
        self.commits += 1;
        if self.commits >= CHECKPOINT_EVERY {
            self.commits = 0;
            self.checkpointer.wake();
        }
        #[cfg(test)]
        if let Some(written) = &mut self.written {
            written.push(log);
        }
        Ok(())
    }
}

/// The largest encoding buffer kept between commits.
const KEPT_BUFFER: usize = 64 * 1024;

/// Commits between two checkpoints: a commit writes about 4–5 pages to the WAL, so the WAL is
/// copied into the database file about every 5 MB.
const CHECKPOINT_EVERY: u32 = 256;

/// Copies the WAL into the database file on a thread of its own, with its own connection
/// (`PRAGMA wal_checkpoint(PASSIVE)`: it never blocks a commit). With `synchronous = NORMAL` a
/// commit is durable once in the WAL; the checkpoint is where SQLite copies pages and syncs the
/// file, and inside a commit it held every waiting writer (BENCHMARKS.md, round 2 part 3).
/// A checkpoint that fails is logged and tried again at the next wake: the WAL keeps every
/// commit meanwhile.
struct Checkpointer {
    wake: Option<std::sync::mpsc::SyncSender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    fn start(path: &Path) -> Result<Checkpointer, StoreError> {
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // A wake that arrives while a checkpoint runs is kept; more are not needed.
        let (wake, asked) = std::sync::mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("uip-sandbox-checkpoint".to_owned())
            .spawn(move || {
                while asked.recv().is_ok() {
                    let done = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(0));
                    if let Err(e) = done {
                        tracing::warn!(error = %e, "WAL checkpoint failed; retried at the next one");
                    }
                }
            })
            .map_err(StoreError::Thread)?;
        Ok(Checkpointer { wake: Some(wake), thread: Some(thread) })
    }

    /// Asks for a checkpoint (at once if none runs, else right after the one running).
    fn wake(&self) {
        if let Some(wake) = &self.wake {
            let _ = wake.try_send(());
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.wake = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Encodes `value` as JSON into `buf` (reused for every row of a commit), as SQL text:
/// serde_json writes UTF-8 only, so the bytes are bound as they are, without a second pass.
fn encode<'a>(buf: &'a mut Vec<u8>, value: &impl serde::Serialize) -> Result<ToSqlOutput<'a>, StoreError> {
    buf.clear();
    serde_json::to_writer(&mut *buf, value)?;
    Ok(ToSqlOutput::Borrowed(ValueRef::Text(buf)))
}

/// One entry a group commit stores, taken while the state is locked, so that the commit stores
/// one consistent moment. Sessions and deliveries are shared rather than copied: a write never
/// changes an entry a commit holds, it changes its own copy (`Arc::make_mut`). The entries are
/// encoded and written after the lock is released.
pub(super) enum Entry {
    Business(Business),
    Session(Arc<Session>),
    /// A new session's documents.
    Documents {
        session_id: SessionId,
        documents: Vec<Option<Bytes>>,
    },
    Idempotency {
        key: (String, String),
        record: IdempotencyRecord,
    },
    IdempotencyRemoved((String, String)),
    Delivery(Arc<Delivery>),
}

/// The entries for what `dirty` names, as `state` holds them now.
pub(super) fn snapshot(state: &State, dirty: &Dirty) -> Vec<Entry> {
    let mut entries = Vec::with_capacity(
        dirty.businesses.len()
            + dirty.sessions.len()
            + dirty.new_documents.len()
            + dirty.idempotency.len()
            + dirty.idempotency_removed.len()
            + dirty.deliveries.len(),
    );
    for id in &dirty.businesses {
        if let Some(b) = state.businesses.get(id) {
            entries.push(Entry::Business(b.clone()));
        }
    }
    for id in &dirty.sessions {
        if let Some(s) = state.sessions.get(id) {
            entries.push(Entry::Session(s.clone()));
        }
    }
    // A new session's documents, as they are now: a slot purged since the create (in the same
    // group commit) is written empty, so the order against the sessions' purges does not matter.
    for id in &dirty.new_documents {
        if let Some(docs) = state.documents.get(id) {
            entries.push(Entry::Documents { session_id: id.clone(), documents: docs.clone() });
        }
    }
    for key in &dirty.idempotency {
        if let Some(rec) = state.idempotency.get(key) {
            entries.push(Entry::Idempotency { key: key.clone(), record: rec.clone() });
        }
    }
    for key in &dirty.idempotency_removed {
        if !state.idempotency.contains_key(key) {
            entries.push(Entry::IdempotencyRemoved(key.clone()));
        }
    }
    for seq in &dirty.deliveries {
        if let Some(d) = state.deliveries.get(seq) {
            entries.push(Entry::Delivery(d.clone()));
        }
    }
    entries
}

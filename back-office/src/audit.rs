//! The audit log's hash chain: how an entry is sealed onto the one before it, and the verifier
//! that walks a stored log and names the first entry that does not fit.
//!
//! Every entry carries the hash of the entry before it (`prev_hash`, [`GENESIS`] for the first)
//! and its own hash over that and all of its contents ([`entry_hash`]). Changing, deleting or
//! moving a stored entry therefore breaks the chain at that entry, unless every later entry is
//! rewritten too; the head hash, kept outside the database, catches that and the deletion of
//! the newest entries, which a chain alone cannot.
//!
//! Storage is the server's business; this module is pure so the rules are tested here.

use sha2::{Digest as _, Sha256};

/// The `prev_hash` of the first entry.
pub const GENESIS: [u8; 32] = [0; 32];

/// Domain label hashed first, so an entry hash is never valid as any other hash (and a new
/// format gets a new label).
const DOMAIN: &[u8] = b"fieldseal/audit/v1";

/// One stored entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditEntry {
    /// Position in the chain: 1, 2, 3 … without gaps.
    pub seq: u64,
    /// When it happened, Unix milliseconds.
    pub at_ms: i64,
    /// Who: `clerk:7`, `portal`, `device:0003`, `system`.
    pub actor: String,
    /// What: e.g. `payment.matched`, `case.opened`.
    pub action: String,
    /// What it concerns: a ticket number, `entry:12`, `clerk:3`, or empty.
    pub subject: String,
    /// A JSON object, exactly as stored and hashed (never re-serialized).
    pub detail: String,
    /// The hash of the entry before ([`GENESIS`] before the first).
    pub prev_hash: [u8; 32],
    /// [`entry_hash`] over `prev_hash` and this entry.
    pub hash: [u8; 32],
}

impl AuditEntry {
    /// The hash this entry's contents call for (equal to `hash` unless it was changed).
    pub fn computed_hash(&self) -> [u8; 32] {
        entry_hash(&self.prev_hash, self.seq, self.at_ms, &self.actor, &self.action, &self.subject, &self.detail)
    }
}

/// An event to append; [`seal`] gives it its place in the chain.
#[derive(Debug, Clone, Copy)]
pub struct NewEntry<'a> {
    /// When it happened, Unix milliseconds.
    pub at_ms: i64,
    /// Who: `clerk:7`, `portal`, `device:0003`, `system`.
    pub actor: &'a str,
    /// What: e.g. `payment.matched`, `case.opened`.
    pub action: &'a str,
    /// What it concerns: a ticket number, `entry:12`, `clerk:3`, or empty.
    pub subject: &'a str,
    /// A JSON object with the particulars; never personal data.
    pub detail: &'a serde_json::Value,
}

/// SHA-256 over the domain label `fieldseal/audit/v1`, `prev`, `seq` (u64 big-endian), `at_ms`
/// (i64 big-endian), then `actor`, `action`, `subject` and `detail`, each as its UTF-8 length
/// (u32 big-endian) followed by its bytes. Every field has a fixed size or a length prefix, so
/// two different entries never hash the same input.
///
/// # Panics
/// If a text is 4 GiB or longer, which neither SQLite (1 GB) nor PostgreSQL (1 GB) can store.
pub fn entry_hash(
    prev: &[u8; 32],
    seq: u64,
    at_ms: i64,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &str,
) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(DOMAIN);
    h.update(prev);
    h.update(seq.to_be_bytes());
    h.update(at_ms.to_be_bytes());
    for text in [actor, action, subject, detail] {
        let len = u32::try_from(text.len()).expect("an audit text is shorter than 4 GiB (databases store up to 1 GB)");
        h.update(len.to_be_bytes());
        h.update(text.as_bytes());
    }
    h.finalize().into()
}

/// Builds the entry that follows `prev` (its seq and hash; `None` for an empty log). The detail
/// is serialized here, once; the stored string is what is hashed.
pub fn seal(prev: Option<(u64, [u8; 32])>, new: &NewEntry<'_>) -> AuditEntry {
    // Past u64::MAX (never) the seq repeats, which the store's primary key refuses.
    let (seq, prev_hash) = prev.map_or((1, GENESIS), |(seq, hash)| (seq.saturating_add(1), hash));
    let detail = new.detail.to_string();
    let hash = entry_hash(&prev_hash, seq, new.at_ms, new.actor, new.action, new.subject, &detail);
    AuditEntry {
        seq,
        at_ms: new.at_ms,
        actor: new.actor.to_owned(),
        action: new.action.to_owned(),
        subject: new.subject.to_owned(),
        detail,
        prev_hash,
        hash,
    }
}

/// A log that checked out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// Entries checked.
    pub entries: u64,
    /// The last entry's seq (0 for an empty log).
    pub head_seq: u64,
    /// The last entry's hash ([`GENESIS`] for an empty log): record it elsewhere to catch the
    /// deletion of the newest entries later.
    pub head_hash: [u8; 32],
    /// The last entry's time, Unix milliseconds (`None` for an empty log).
    pub head_at_ms: Option<i64>,
}

/// Where and how a log breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    /// The first entry (in stored order) that does not fit, by its seq; `None` when the row's
    /// seq cannot be read.
    pub seq: Option<u64>,
    /// That row's position in stored order, from 1.
    pub position: u64,
    /// What is wrong.
    pub reason: BrokenReason,
    /// Entries 1 to this one checked out and are not implicated (0: none can be vouched for).
    pub intact_through: u64,
}

/// What is wrong at the first broken entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokenReason {
    /// Entry `missing` (up to the broken entry's seq − 1) is nowhere in the log: deleted.
    /// `previous` is the entry stored before the broken one (`None` at the start of the log).
    Missing {
        /// The entry before, if any.
        previous: Option<u64>,
        /// The first missing seq.
        missing: u64,
    },
    /// The entry is stored where entry `expected` belongs, and entry `expected` comes later, at
    /// row `expected_at`: the rows were reordered.
    Reordered {
        /// The seq that belongs at this row.
        expected: u64,
        /// The row where that entry is stored.
        expected_at: u64,
    },
    /// The entry's seq is not above the one stored before it (`previous`): out of order or
    /// repeated.
    NotAscending {
        /// The seq stored before.
        previous: u64,
    },
    /// Entry 1's `prev_hash` is not [`GENESIS`].
    NotGenesis,
    /// The entry's hash does not match its contents, while it still links to the entry before:
    /// edited in place.
    Changed,
    /// The entry matches its own hash but does not link to the entry before: one of the two was
    /// replaced by an entry with a recomputed hash.
    Unlinked,
    /// Neither its hash nor its link to the entry before match: moved here from another place in
    /// the log, or rewritten.
    Misplaced,
    /// The row is not an audit entry at all (what is wrong with it, e.g. "a hash that is not 32
    /// bytes").
    Malformed(&'static str),
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Some(seq) = self.seq else {
            let BrokenReason::Malformed(what) = &self.reason else {
                return write!(f, "row {} of the audit log is broken", self.position);
            };
            return write!(f, "row {} of the audit log is not a valid entry ({what})", self.position);
        };
        let before = seq.saturating_sub(1);
        match &self.reason {
            BrokenReason::Missing { previous, missing } => {
                let which = if *missing == before {
                    format!("entry {missing} is missing")
                } else if missing.saturating_add(1) == before {
                    format!("entries {missing} and {before} are missing")
                } else {
                    format!("entries {missing} to {before} are missing")
                };
                match previous {
                    Some(p) => write!(f, "entry {seq} follows entry {p}: {which}"),
                    None => write!(f, "the log starts at entry {seq}: {which}"),
                }
            }
            BrokenReason::Reordered { expected, expected_at } => write!(
                f,
                "entry {seq} is out of order: it is stored at row {}, where entry {expected} belongs, and entry \
                 {expected} comes later, at row {expected_at} (the rows were reordered)",
                self.position
            ),
            BrokenReason::NotAscending { previous } => {
                write!(f, "entry {seq} follows entry {previous}: the entries are out of order or repeated")
            }
            BrokenReason::NotGenesis => {
                write!(f, "entry {seq} does not start the chain (its prev_hash is not the genesis value)")
            }
            BrokenReason::Changed => {
                write!(f, "entry {seq} was changed after it was written (its hash does not match its contents)")
            }
            BrokenReason::Unlinked => write!(
                f,
                "entry {seq} does not link to entry {before} (its prev_hash is not entry {before}'s hash): one of \
                 the two was replaced by a rewritten entry after entry {seq} was written"
            ),
            BrokenReason::Misplaced => write!(
                f,
                "entry {seq} is not the entry written as entry {seq}: neither its hash nor its link to entry \
                 {before} match (it was moved here from elsewhere in the log, or rewritten)"
            ),
            BrokenReason::Malformed(what) => {
                write!(f, "entry {seq} (row {}) is not a valid entry ({what})", self.position)
            }
        }
    }
}

impl std::error::Error for Broken {}

/// Where the verifier stands.
#[derive(Debug, Clone, Default)]
enum State {
    /// Every entry so far fits.
    #[default]
    Checking,
    /// A seq was skipped at row `position` (entry `found` stood where `missing` belongs); the
    /// rest of the log is scanned for `missing` to tell a reorder from a deletion.
    Skipped { missing: u64, found: u64, position: u64, previous: Option<u64> },
    /// Decided.
    Broken(Broken),
}

/// Checks a stored log entry by entry, in stored order, so any number of rows can be streamed
/// through it in pages: [`push`](Self::push) each row, then [`finish`](Self::finish).
///
/// `push` answers `Err` as soon as the log is known to be broken (and from then on); a skipped
/// seq is only decided at the end, or when the missing entry turns up later (a reorder). Only
/// [`finish`](Self::finish) gives the verdict.
#[derive(Debug, Clone, Default)]
pub struct Verifier {
    /// Rows pushed.
    position: u64,
    /// The last entry that fit: seq, hash, time.
    head: Option<(u64, [u8; 32], i64)>,
    state: State,
}

impl Verifier {
    /// A verifier at the start of a log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rows pushed so far.
    pub fn rows(&self) -> u64 {
        self.position
    }

    fn intact_through(&self) -> u64 {
        self.head.map_or(0, |(seq, _, _)| seq)
    }

    fn decide(&mut self, seq: Option<u64>, position: u64, reason: BrokenReason, intact_through: u64) -> Broken {
        let broken = Broken { seq, position, reason, intact_through };
        self.state = State::Broken(broken.clone());
        broken
    }

    /// Checks the next row in stored order.
    pub fn push(&mut self, e: &AuditEntry) -> Result<(), Broken> {
        self.position += 1;
        match &self.state {
            State::Broken(b) => return Err(b.clone()),
            State::Skipped { missing, found, position, .. } => {
                if e.seq == *missing {
                    let (seq, at, reason) =
                        (*found, *position, BrokenReason::Reordered { expected: *missing, expected_at: self.position });
                    return Err(self.decide(Some(seq), at, reason, self.intact_through()));
                }
                return Ok(());
            }
            State::Checking => {}
        }
        let position = self.position;
        let previous = self.head.map(|(seq, _, _)| seq);
        let expected = previous.map_or(1, |p| p.saturating_add(1));
        if e.seq > expected {
            self.state = State::Skipped { missing: expected, found: e.seq, position, previous };
            return Ok(());
        }
        if e.seq < expected {
            let reason = match previous {
                Some(previous) => BrokenReason::NotAscending { previous },
                None => BrokenReason::Malformed("seq 0; the log starts at 1"),
            };
            return Err(self.decide(Some(e.seq), position, reason, self.intact_through()));
        }
        let prev_hash = self.head.map_or(GENESIS, |(_, hash, _)| hash);
        let linked = e.prev_hash == prev_hash;
        let sound = e.hash == e.computed_hash();
        let (reason, intact_through) = match (previous, linked, sound) {
            (_, true, true) => {
                self.head = Some((e.seq, e.hash, e.at_ms));
                return Ok(());
            }
            (None, false, _) => (BrokenReason::NotGenesis, 0),
            (Some(_), true, false) => (BrokenReason::Changed, self.intact_through()),
            (None, true, false) => (BrokenReason::Changed, 0),
            // The entry before may be the one rewritten.
            (Some(p), false, true) => (BrokenReason::Unlinked, p.saturating_sub(1)),
            (Some(_), false, false) => (BrokenReason::Misplaced, self.intact_through()),
        };
        Err(self.decide(Some(e.seq), position, reason, intact_through))
    }

    /// Counts a row that could not be read as an entry (`seq` if it could be read) as the next
    /// row, and returns the verdict if that decides it.
    pub fn push_malformed(&mut self, seq: Option<u64>, what: &'static str) -> Result<(), Broken> {
        self.position += 1;
        match &self.state {
            State::Broken(b) => Err(b.clone()),
            // Perhaps the missing entry, but unreadable: the skip stays the first break.
            State::Skipped { .. } => Ok(()),
            State::Checking => {
                let (position, intact) = (self.position, self.intact_through());
                Err(self.decide(seq, position, BrokenReason::Malformed(what), intact))
            }
        }
    }

    /// The verdict on all rows pushed.
    pub fn finish(self) -> Result<Verified, Broken> {
        match self.state {
            State::Broken(b) => Err(b),
            State::Skipped { missing, found, position, previous } => Err(Broken {
                seq: Some(found),
                position,
                reason: BrokenReason::Missing { previous, missing },
                intact_through: previous.unwrap_or(0),
            }),
            State::Checking => Ok(Verified {
                entries: self.position,
                head_seq: self.head.map_or(0, |(seq, _, _)| seq),
                head_hash: self.head.map_or(GENESIS, |(_, hash, _)| hash),
                head_at_ms: self.head.map(|(_, _, at)| at),
            }),
        }
    }
}

/// An entry time as `YYYY-MM-DD hh:mm:ss UTC`.
pub fn format_utc(at_ms: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at_ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(format).ok())
        .unwrap_or_else(|| format!("{at_ms} ms after 1970-01-01 UTC"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn chain(n: u64) -> Vec<AuditEntry> {
        let mut out: Vec<AuditEntry> = Vec::new();
        for i in 0..n {
            let subject = format!("{:012}", 100_000 + i);
            let detail = json!({"amount_cents": 3000 + i, "by": "camt"});
            let new = NewEntry {
                at_ms: 1_764_633_600_000 + i64::try_from(i).expect("small") * 1000,
                actor: if i % 2 == 0 { "system" } else { "clerk:7" },
                action: "payment.matched",
                subject: &subject,
                detail: &detail,
            };
            let prev = out.last().map(|e| (e.seq, e.hash));
            out.push(seal(prev, &new));
        }
        out
    }

    fn verify(entries: &[AuditEntry]) -> Result<Verified, Broken> {
        let mut v = Verifier::new();
        for e in entries {
            // Keep pushing after an error: the verdict must stay the first break.
            let _ = v.push(e);
        }
        v.finish()
    }

    fn broken(entries: &[AuditEntry]) -> Broken {
        verify(entries).expect_err("the tampered log is refused")
    }

    /// Recomputes an edited entry's hash, as an attacker with the algorithm would.
    fn rehash(e: &mut AuditEntry) {
        e.hash = e.computed_hash();
    }

    #[test]
    fn known_answer_vector_for_a_two_entry_chain() {
        // python3 -c 'import hashlib,struct
        // def t(s): b=s.encode(); return struct.pack(">I",len(b))+b
        // def h(p,q,at,a,c,s,d): return hashlib.sha256(b"fieldseal/audit/v1"+p+struct.pack(">Qq",q,at)+t(a)+t(c)+t(s)+t(d)).digest()
        // h1=h(bytes(32),1,1764633600000,"system","case.indexed","400100000017","{\"photos\":2}")
        // h2=h(h1,2,-5,"clerk:7","payment.matched","entry:12","{\"z\":1,\"a\":\"ü\"}")
        // print(h1.hex()); print(h2.hex())'
        let first = json!({"photos": 2});
        let e1 = seal(
            None,
            &NewEntry {
                at_ms: 1_764_633_600_000,
                actor: "system",
                action: "case.indexed",
                subject: "400100000017",
                detail: &first,
            },
        );
        // Key order as written (preserve_order) or sorted: the stored string is what counts,
        // so this entry is built from its string directly.
        let detail2 = r#"{"z":1,"a":"ü"}"#;
        let h2 = entry_hash(&e1.hash, 2, -5, "clerk:7", "payment.matched", "entry:12", detail2);
        assert_eq!((e1.seq, e1.prev_hash, e1.detail.as_str()), (1, GENESIS, r#"{"photos":2}"#));
        assert_eq!(hex::encode(e1.hash), "067567c7b1d20e60f4b5b8088c8bcd089b82dbc05798c4295a1d6f615935fa98");
        assert_eq!(hex::encode(h2), "d6c9f91bb32bd590e03e37c19671121e38393e6958e0520d140023dfd1ff7f47");
    }

    #[test]
    fn seal_continues_the_chain() {
        let log = chain(3);
        assert_eq!(log.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(log[1].prev_hash, log[0].hash);
        assert_eq!(log[2].prev_hash, log[1].hash);
        assert!(log.iter().all(|e| e.hash == e.computed_hash()));
    }

    #[test]
    fn an_intact_chain_of_1000_verifies() {
        let log = chain(1000);
        let last = log.last().expect("entries");
        assert_eq!(
            verify(&log),
            Ok(Verified { entries: 1000, head_seq: 1000, head_hash: last.hash, head_at_ms: Some(last.at_ms) })
        );
    }

    #[test]
    fn an_empty_log_verifies_with_the_genesis_head() {
        assert_eq!(verify(&[]), Ok(Verified { entries: 0, head_seq: 0, head_hash: GENESIS, head_at_ms: None }));
    }

    #[test]
    fn every_field_edited_is_detected_as_changed() {
        let edits: [fn(&mut AuditEntry); 6] = [
            |e| e.at_ms += 1,
            |e| e.actor.push('x'),
            |e| e.action = "case.withdrawn".into(),
            |e| e.subject.clear(),
            |e| e.detail = e.detail.replace("30", "00"),
            |e| e.hash[31] ^= 1,
        ];
        for edit in edits {
            let mut log = chain(10);
            edit(&mut log[4]);
            let b = broken(&log);
            assert_eq!((b.seq, b.position, &b.reason, b.intact_through), (Some(5), 5, &BrokenReason::Changed, 4));
            assert_eq!(
                b.to_string(),
                "entry 5 was changed after it was written (its hash does not match its contents)"
            );
        }
    }

    #[test]
    fn a_deleted_entry_is_named_as_missing() {
        let mut log = chain(10);
        log.remove(5);
        let b = broken(&log);
        assert_eq!(
            (b.seq, b.position, &b.reason, b.intact_through),
            (Some(7), 6, &BrokenReason::Missing { previous: Some(5), missing: 6 }, 5)
        );
        assert_eq!(b.to_string(), "entry 7 follows entry 5: entry 6 is missing");
        log.drain(5..7);
        assert_eq!(broken(&log).to_string(), "entry 9 follows entry 5: entries 6 to 8 are missing");
    }

    #[test]
    fn deleted_first_entries_are_named() {
        let log = chain(5);
        let b = broken(&log[2..]);
        assert_eq!((b.seq, b.position, b.intact_through), (Some(3), 1, 0));
        assert_eq!(b.to_string(), "the log starts at entry 3: entries 1 and 2 are missing");
    }

    #[test]
    fn swapped_rows_are_named_as_reordered() {
        let mut log = chain(20);
        log.swap(4, 11);
        let b = broken(&log);
        assert_eq!(
            (b.seq, b.position, &b.reason, b.intact_through),
            (Some(12), 5, &BrokenReason::Reordered { expected: 5, expected_at: 12 }, 4)
        );
        assert!(b.to_string().starts_with("entry 12 is out of order: it is stored at row 5, where entry 5 belongs"));
    }

    #[test]
    fn a_moved_entry_is_named_where_it_lands() {
        // Entry 3 moved to the end: rows 1, 2, 4 … 10, 3.
        let mut log = chain(10);
        let moved = log.remove(2);
        log.push(moved);
        let b = broken(&log);
        assert_eq!(
            (b.seq, b.position, &b.reason),
            (Some(4), 3, &BrokenReason::Reordered { expected: 3, expected_at: 10 })
        );
    }

    #[test]
    fn swapped_seq_values_are_caught_by_the_hashes() {
        // What a reorder looks like when rows are read in seq order (PostgreSQL): the contents of
        // entries 5 and 6 trade places, each keeping the other's seq.
        let mut log = chain(10);
        let (a, b) = (log[4].clone(), log[5].clone());
        log[4] = AuditEntry { seq: 5, ..b };
        log[5] = AuditEntry { seq: 6, ..a };
        let br = broken(&log);
        assert_eq!((br.seq, br.position, &br.reason, br.intact_through), (Some(5), 5, &BrokenReason::Misplaced, 4));
        assert!(br.to_string().starts_with("entry 5 is not the entry written as entry 5"), "{br}");
    }

    #[test]
    fn a_repeated_entry_is_named() {
        let mut log = chain(5);
        log.insert(3, log[1].clone());
        let b = broken(&log);
        assert_eq!((b.seq, b.position, &b.reason), (Some(2), 4, &BrokenReason::NotAscending { previous: 3 }));
        assert_eq!(b.to_string(), "entry 2 follows entry 3: the entries are out of order or repeated");
    }

    #[test]
    fn a_rewritten_entry_with_a_recomputed_hash_breaks_the_next_link() {
        let mut log = chain(10);
        log[6].detail = r#"{"amount_cents":0}"#.into();
        rehash(&mut log[6]);
        let b = broken(&log);
        assert_eq!((b.seq, b.position, &b.reason, b.intact_through), (Some(8), 8, &BrokenReason::Unlinked, 6));
        assert!(b.to_string().starts_with("entry 8 does not link to entry 7"), "{b}");
    }

    #[test]
    fn a_rewritten_last_entry_is_not_caught_without_the_head() {
        // The chain alone cannot see this: the head hash recorded elsewhere does.
        let mut log = chain(4);
        let before = verify(&log).expect("intact").head_hash;
        log[3].detail = "{}".into();
        rehash(&mut log[3]);
        let after = verify(&log).expect("still consistent");
        assert_ne!(after.head_hash, before);
    }

    #[test]
    fn a_first_entry_not_from_genesis_is_named() {
        let mut log = chain(3);
        log[0].prev_hash = [7; 32];
        rehash(&mut log[0]);
        let b = broken(&log);
        assert_eq!((b.seq, &b.reason, b.intact_through), (Some(1), &BrokenReason::NotGenesis, 0));
        assert_eq!(b.to_string(), "entry 1 does not start the chain (its prev_hash is not the genesis value)");
    }

    #[test]
    fn a_malformed_row_is_named_by_position() {
        let log = chain(3);
        let mut v = Verifier::new();
        v.push(&log[0]).expect("fits");
        let b = v.push_malformed(None, "a hash that is not 32 bytes").expect_err("broken");
        assert_eq!((b.seq, b.position, b.intact_through), (None, 2, 1));
        assert_eq!(b.to_string(), "row 2 of the audit log is not a valid entry (a hash that is not 32 bytes)");
        assert_eq!(v.push(&log[1]), Err(b.clone()), "stays broken");
        assert_eq!(v.finish(), Err(b));
    }

    #[test]
    fn the_first_break_wins() {
        let mut log = chain(10);
        log[2].detail.push(' ');
        log.remove(7);
        assert_eq!(broken(&log).seq, Some(3));
    }

    #[test]
    fn times_are_shown_in_utc() {
        assert_eq!(format_utc(1_764_633_600_000), "2025-12-02 00:00:00 UTC");
    }
}

//! Transaction keys: a stable identity of each bank transaction, so it is counted once.

use super::*;

/// A stable identity of one bank transaction, used to count it once: when the same statement
/// is imported twice, and when a transaction arrives first in a camt.054 notification and later
/// in a camt.053 statement. `tx_index` is the transaction's 0-based position in
/// `entry.transactions`.
///
/// The rule, first that applies:
/// 1. The transaction's `AcctSvcrRef` (`TxDtls/Refs`), unique by ISO 20022's definition:
///    `acct:<account>|asr:<ref>` (with `|tx:<index>` appended if another transaction of the same
///    entry carries the same reference, which a correct bank never does).
/// 2. The entry's `AcctSvcrRef` and the index: `acct:<account>|easr:<ref>|tx:<index>`.
/// 3. Otherwise `acct:<account>|h:<sha256 hex>` over the account, booking date, currency,
///    direction, reversal flag, amount, `NtryRef`, `EndToEndId`, `TxId`, the index, and how many
///    earlier entries of the same report have the same values (so that two genuinely separate,
///    identical-looking payments in one report get two keys, while importing the same report
///    again gives the same keys).
///
/// `<account>` is the report's account (our own) without whitespace, upper-cased; references
/// are bank references, written with `%`, `|` and whitespace percent-escaped. The payer's name,
/// account and remittance text never enter a key, not even hashed (the payer-chosen
/// `EndToEndId` enters rule 3's hash only).
///
/// Limits: the key recognises the same transaction in two files only when the bank writes the
/// same references in both. A bank that gives a `TxDtls/AcctSvcrRef` in the notification but
/// not in the statement, writes the account as IBAN in one and as `Othr/Id` in the other, or
/// books a notified transaction in a batch with others, produces two keys. Status is not part of
/// the key: a pending entry and its later booking share rule 1 and 2 keys (rule 3 keys differ,
/// through the booking date), so only booked entries should be keyed and counted. Rule 3 treats
/// two identical-looking payments without any bank reference in separate files of the same day
/// as one. The occurrence count makes rule 3 keys depend on the entry's `number`, so `entry`
/// must come from `report`. For a whole report use [`transaction_keys`], which gives the same
/// keys in linear time.
pub fn transaction_key(report: &Report, entry: &Entry, tx_index: usize, tx: &Transaction) -> String {
    match key_basis(report, entry, tx_index, tx) {
        KeyBasis::Reference(key) => key,
        KeyBasis::Composite(digest) => {
            let earlier = report.entries.iter().take(entry.number.saturating_sub(1)).filter(|e| {
                e.transactions
                    .get(tx_index)
                    .is_some_and(|t| matches!(key_basis(report, e, tx_index, t), KeyBasis::Composite(d) if d == digest))
            });
            composite_key(report, &digest, earlier.count())
        }
    }
}

/// The [`transaction_key`] of every transaction of a report: `keys[e][t]` belongs to
/// `report.entries[e].transactions[t]`.
pub fn transaction_keys(report: &Report) -> Vec<Vec<String>> {
    let mut seen: HashMap<[u8; 32], usize> = HashMap::new();
    report
        .entries
        .iter()
        .map(|entry| {
            entry
                .transactions
                .iter()
                .enumerate()
                .map(|(index, tx)| match key_basis(report, entry, index, tx) {
                    KeyBasis::Reference(key) => key,
                    KeyBasis::Composite(digest) => {
                        let count = seen.entry(digest).or_insert(0);
                        let key = composite_key(report, &digest, *count);
                        *count += 1;
                        key
                    }
                })
                .collect()
        })
        .collect()
}

pub(super) enum KeyBasis {
    Reference(String),
    Composite([u8; 32]),
}

pub(super) fn key_basis(report: &Report, entry: &Entry, tx_index: usize, tx: &Transaction) -> KeyBasis {
    let account = key_account(&report.account);
    if let Some(reference) = tx.refs.account_servicer_ref.as_deref() {
        let shared = entry
            .transactions
            .iter()
            .enumerate()
            .any(|(i, t)| i != tx_index && t.refs.account_servicer_ref.as_deref() == Some(reference));
        let suffix = if shared { format!("|tx:{tx_index}") } else { String::new() };
        return KeyBasis::Reference(format!("acct:{account}|asr:{}{suffix}", escape(reference)));
    }
    if let Some(reference) = entry.account_servicer_ref.as_deref() {
        return KeyBasis::Reference(format!("acct:{account}|easr:{}|tx:{tx_index}", escape(reference)));
    }
    let date = entry.booking_date.map(|d| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()));
    let amount = match tx.amount_cents {
        Some(cents) => cents.to_string(),
        None => format!("entry:{}", entry.amount_cents),
    };
    let fields: [&str; 10] = [
        &account,
        date.as_deref().unwrap_or(""),
        &tx.currency,
        if tx.direction == Direction::Credit { "CRDT" } else { "DBIT" },
        if entry.reversal { "reversal" } else { "" },
        &amount,
        entry.entry_ref.as_deref().unwrap_or(""),
        tx.refs.end_to_end_id.as_deref().unwrap_or(""),
        tx.refs.transaction_id.as_deref().unwrap_or(""),
        &tx_index.to_string(),
    ];
    let mut hash = Sha256::new();
    hash.update(b"fieldseal camt transaction key v1\0");
    for field in fields {
        hash.update((field.len() as u64).to_be_bytes());
        hash.update(field.as_bytes());
    }
    KeyBasis::Composite(hash.finalize().into())
}

pub(super) fn composite_key(report: &Report, digest: &[u8; 32], occurrence: usize) -> String {
    let mut hash = Sha256::new();
    hash.update(digest);
    hash.update((occurrence as u64).to_be_bytes());
    format!("acct:{}|h:{}", key_account(&report.account), hex::encode(hash.finalize()))
}

pub(super) fn key_account(account: &str) -> String {
    escape(&account.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase())
}

pub(super) fn escape(reference: &str) -> String {
    let mut out = String::with_capacity(reference.len());
    for c in reference.chars() {
        if c == '%' || c == '|' || c.is_whitespace() || c.is_control() {
            let mut buf = [0; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

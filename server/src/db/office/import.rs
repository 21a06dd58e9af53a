//! Statement imports: booking parsed bank entries, the exceptions queue and a clerk's
//! resolution of it.

use super::*;

impl Db {
    /// Books a parsed statement: each transaction counted once, matched to its case or put in
    /// the exceptions queue, every step audited. Booked in transactions of [`IMPORT_CHUNK`]
    /// entries, so a large statement never holds the database (SQLite has one writer) for more
    /// than a moment: the portal, device sync and webhooks go on meanwhile. Should an import stop
    /// half-way, running it again books the rest (each bank reference counts once); its record
    /// then says `"incomplete"`.
    pub async fn import_statement(
        &self,
        header: &ImportHeader,
        entries: &[EntryToBook],
        skipped: &serde_json::Value,
        clerk: i64,
        now: i64,
    ) -> Result<(i64, Vec<Booked>), DbError> {
        let import_id: i64 = sqlx::query_scalar(
            "INSERT INTO statement_imports (file_sha256, message_type, message_id, summary, imported_at_ms, clerk_id)
             VALUES ($1, $2, $3, '{\"state\": \"incomplete\"}', $4, $5) RETURNING id",
        )
        .bind(header.file_sha256.to_vec())
        .bind(&header.message_type)
        .bind(&header.message_id)
        .bind(now)
        .bind(clerk)
        .fetch_one(&self.pool)
        .await
        .map_err(q("recording an import"))?;
        let mut out = Vec::with_capacity(entries.len());
        for chunk in entries.chunks(IMPORT_CHUNK) {
            let mut tx = self.pool.begin().await.map_err(q("starting an import"))?;
            if self.backend == crate::db::Backend::Postgres {
                // Plans cached while a table was small would scan it whole as it grows.
                sqlx::query("SET LOCAL plan_cache_mode = force_custom_plan")
                    .execute(&mut *tx)
                    .await
                    .map_err(q("setting up an import"))?;
            }
            let mut seen = Seen {
                booked: booked_under_any(&mut tx, chunk.iter().map(|e| e.key.as_str())).await?,
                cases: cases_of(&mut tx, chunk.iter().flat_map(|e| e.candidates.iter().map(TicketNumber::digits)))
                    .await?,
            };
            for e in chunk {
                out.push(self.book_entry(&mut tx, import_id, e, clerk, now, &mut seen).await?);
            }
            tx.commit().await.map_err(q("committing an import"))?;
        }
        let count = |f: fn(&Booked) -> bool| out.iter().filter(|b| f(b)).count();
        let by_status = |s: Status| {
            out.iter().filter(|b| matches!(b, Booked::Matched { assessment, .. } if assessment.status == s)).count()
        };
        let summary = json!({
            "transactions": entries.len(),
            "duplicates": count(|b| matches!(b, Booked::Duplicate)),
            "matched": count(|b| matches!(b, Booked::Matched { .. })),
            "paid": by_status(Status::Paid),
            "part_paid": by_status(Status::PartPaid),
            "overpaid": by_status(Status::Overpaid),
            "refund_due": count(|b| matches!(b, Booked::Matched { assessment, .. } if assessment.refund_due_cents > 0)),
            "exceptions": count(|b| matches!(b, Booked::Exception { .. })),
            "skipped": skipped,
        });
        let mut tx = self.pool.begin().await.map_err(q("finishing an import"))?;
        sqlx::query("UPDATE statement_imports SET summary = $2 WHERE id = $1")
            .bind(import_id)
            .bind(summary.to_string())
            .execute(&mut *tx)
            .await
            .map_err(q("recording an import's summary"))?;
        let mut detail = summary;
        detail["message_type"] = json!(header.message_type);
        detail["message_id"] = json!(header.message_id);
        detail["file_sha256"] = json!(hex::encode(header.file_sha256));
        audit(&mut tx, self, now, Actor::Clerk(clerk), "statement.imported", &format!("import:{import_id}"), detail)
            .await?;
        tx.commit().await.map_err(q("committing an import"))?;
        Ok((import_id, out))
    }

    async fn book_entry(
        &self,
        tx: &mut Tx<'_>,
        import_id: i64,
        e: &EntryToBook,
        clerk: i64,
        now: i64,
        seen: &mut Seen,
    ) -> Result<Booked, DbError> {
        // A key booked before is the same transfer again (nothing to do), or another transfer
        // under a reused bank reference: that one is booked under a key of its own, as an exception.
        let (key, reused_note) = match seen.booked.get(&e.key).cloned() {
            None => (e.key.clone(), None),
            Some((amount_cents, currency, booking_date)) => {
                let first = Booking { amount_cents, currency: &currency, booking_date };
                let again =
                    Booking { amount_cents: e.amount_cents, currency: &e.currency, booking_date: e.booking_date };
                match rebooking::compare(&e.key, &first, &again) {
                    Rebooking::Same => return Ok(Booked::Duplicate),
                    Rebooking::Other { key, note } => {
                        if seen.booked.contains_key(&key) || self.booked_under(tx, &key).await?.is_some() {
                            return Ok(Booked::Duplicate);
                        }
                        (key, Some(note))
                    }
                }
            }
        };
        let forced_note = reused_note.or_else(|| e.forced_note.clone());
        // The strongest candidate that is a known case; two known cases of equal rank are ambiguous.
        // The chunk's cases were read at its start; booking a payment changes none of the facts
        // an assessment starts from (amount, deadlines, reminders, escalation, withdrawal).
        let mut known: Vec<LedgerCase> =
            e.candidates.iter().filter_map(|t| seen.cases.get(t.digits()).cloned()).collect();
        let matched = match (known.len(), e.currency.as_str()) {
            _ if forced_note.is_some() => Err(forced_note.clone().unwrap_or_default()),
            (_, c) if c != "EUR" => Err(format!("currency {c}: only EUR is booked automatically")),
            (0, _) => Err(exception_note(e)),
            (1, _) => Ok(known.remove(0)),
            _ => Err(format!(
                "several known ticket numbers: {}",
                known.iter().map(|c| c.ticket.grouped()).collect::<Vec<_>>().join(", ")
            )),
        };
        let (state, ticket, note) = match &matched {
            Ok(case) => ("matched", Some(case.ticket.digits().to_owned()), String::new()),
            Err(note) => ("exception", None, note.clone()),
        };
        let entry_id: i64 = sqlx::query_scalar(
            "INSERT INTO bank_entries (entry_key, import_id, account, amount_cents, currency, booking_date, state,
             ticket_number, note, sealed_details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(&key)
        .bind(import_id)
        .bind(&e.account)
        .bind(signed(e.amount_cents)?)
        .bind(&e.currency)
        .bind(e.booking_date.to_string())
        .bind(state)
        .bind(ticket)
        .bind(&note)
        .bind(e.sealed_details.clone())
        .fetch_one(&mut **tx)
        .await
        .map_err(q("storing a bank entry"))?;
        seen.booked.insert(key.clone(), (e.amount_cents, e.currency.clone(), e.booking_date));
        match matched {
            Ok(case) => {
                let a = count_payment(
                    tx,
                    self,
                    &self.policy,
                    &case,
                    e.amount_cents,
                    "transfer",
                    &format!("bank:{}", e.account),
                    &key,
                    day_ms(e.booking_date),
                    now,
                    Actor::Clerk(clerk),
                )
                .await?;
                // The key was new to bank_entries, so it is new to payments too.
                let assessment = a.ok_or(DbError::Corrupt("payment counted before its bank entry"))?;
                Ok(Booked::Matched { entry_id, ticket: case.ticket, assessment })
            }
            Err(note) => {
                let detail =
                    json!({ "amount_cents": e.amount_cents, "booking_date": e.booking_date.to_string(), "note": note });
                audit(tx, self, now, Actor::Clerk(clerk), "bank_entry.exception", &format!("entry:{entry_id}"), detail)
                    .await?;
                Ok(Booked::Exception { entry_id, note })
            }
        }
    }

    /// Amount, currency and booking date of the transfer booked under `key`, if one is (keys
    /// not read at the chunk's start: a reused reference's own key).
    async fn booked_under(&self, tx: &mut Tx<'_>, key: &str) -> Result<Option<(u64, String, Date)>, DbError> {
        let row: Option<(i64, String, String)> =
            sqlx::query_as("SELECT amount_cents, currency, booking_date FROM bank_entries WHERE entry_key = $1")
                .bind(key)
                .fetch_optional(&mut **tx)
                .await
                .map_err(q("looking up a bank entry"))?;
        let Some((amount, currency, date)) = row else { return Ok(None) };
        let amount = u64::try_from(amount).map_err(|_| DbError::Corrupt("a negative bank entry amount"))?;
        let date =
            fieldseal_core::notice::parse_iso_date(&date).ok_or(DbError::Corrupt("a bank entry's booking date"))?;
        Ok(Some((amount, currency, date)))
    }

    /// Bank entries in a state (e.g. the exceptions queue), oldest booking first.
    pub async fn bank_entries(&self, state: &str, limit: u32) -> Result<Vec<BankEntryRow>, DbError> {
        sqlx::query(concat!(
            "SELECT ",
            entry_columns!(),
            " FROM bank_entries WHERE state = $1 ORDER BY booking_date, id LIMIT $2"
        ))
        .bind(state)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(q("listing bank entries"))?
        .iter()
        .map(entry_row)
        .collect()
    }

    /// One bank entry.
    pub async fn bank_entry(&self, id: i64) -> Result<Option<BankEntryRow>, DbError> {
        sqlx::query(concat!("SELECT ", entry_columns!(), " FROM bank_entries WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(q("reading a bank entry"))?
            .as_ref()
            .map(entry_row)
            .transpose()
    }

    /// A clerk matches an exception to a case by hand. `Ok(None)` when the entry is not (or no
    /// longer) an exception or the case is unknown.
    pub async fn match_by_hand(
        &self,
        entry_id: i64,
        ticket: &TicketNumber,
        clerk: i64,
        now: i64,
    ) -> Result<Result<Assessment, ResolveError>, DbError> {
        let mut tx = self.pool.begin().await.map_err(q("starting a manual match"))?;
        let Some(case) = ledger_case_in(&mut tx, ticket.digits()).await? else {
            return Ok(Err(ResolveError::UnknownCase));
        };
        let row = sqlx::query(
            "UPDATE bank_entries SET state = 'matched_by_hand', ticket_number = $2, resolved_by = $3, resolved_at_ms = $4
             WHERE id = $1 AND state = 'exception' RETURNING entry_key, amount_cents, booking_date, account",
        )
        .bind(entry_id)
        .bind(ticket.digits())
        .bind(clerk)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(q("resolving a bank entry"))?;
        let Some(r) = row else { return Ok(Err(ResolveError::NotAnException)) };
        let read = |_| DbError::Corrupt("bank entry row");
        let key: String = r.try_get(0).map_err(read)?;
        let amount = cents(r.try_get(1).map_err(read)?)?;
        let booked = date(&r.try_get::<String, _>(2).map_err(read)?)?;
        let account: String = r.try_get(3).map_err(read)?;
        audit(
            &mut tx,
            self,
            now,
            Actor::Clerk(clerk),
            "bank_entry.matched_by_hand",
            &format!("entry:{entry_id}"),
            json!({ "ticket": ticket.digits() }),
        )
        .await?;
        let a = count_payment(
            &mut tx,
            self,
            &self.policy,
            &case,
            amount,
            "transfer",
            &format!("bank:{account}"),
            &key,
            day_ms(booked),
            now,
            Actor::Clerk(clerk),
        )
        .await?
        .ok_or(DbError::Corrupt("payment counted before its bank entry"))?;
        tx.commit().await.map_err(q("committing a manual match"))?;
        Ok(Ok(a))
    }

    /// A clerk books an exception out (e.g. not a fine payment, returned to the payer).
    pub async fn book_out(
        &self,
        entry_id: i64,
        reason: &str,
        clerk: i64,
        now: i64,
    ) -> Result<Result<(), ResolveError>, DbError> {
        let mut tx = self.pool.begin().await.map_err(q("starting to book out"))?;
        let done = sqlx::query(
            "UPDATE bank_entries SET state = 'booked_out', note = $2, resolved_by = $3, resolved_at_ms = $4
             WHERE id = $1 AND state = 'exception'",
        )
        .bind(entry_id)
        .bind(reason)
        .bind(clerk)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(q("booking out a bank entry"))?;
        if done.rows_affected() != 1 {
            return Ok(Err(ResolveError::NotAnException));
        }
        audit(
            &mut tx,
            self,
            now,
            Actor::Clerk(clerk),
            "bank_entry.booked_out",
            &format!("entry:{entry_id}"),
            json!({ "reason": reason }),
        )
        .await?;
        tx.commit().await.map_err(q("committing a book-out"))?;
        Ok(Ok(()))
    }
}

/// What a chunk's booking looks up, read once at its start: the transfers already booked under
/// its keys (kept up to date as it books) and the cases its ticket numbers name.
struct Seen {
    booked: std::collections::HashMap<String, (u64, String, Date)>,
    cases: std::collections::HashMap<String, LedgerCase>,
}

/// `$1, $2, … $n`.
fn placeholders(n: usize) -> String {
    (1..=n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// Amount, currency and booking date of the transfers booked under any of `keys`.
async fn booked_under_any<'k>(
    tx: &mut Tx<'_>,
    keys: impl Iterator<Item = &'k str>,
) -> Result<std::collections::HashMap<String, (u64, String, Date)>, DbError> {
    let keys: Vec<&str> = keys.collect();
    let mut out = std::collections::HashMap::with_capacity(keys.len());
    if keys.is_empty() {
        return Ok(out);
    }
    let sql = format!(
        "SELECT entry_key, amount_cents, currency, booking_date FROM bank_entries WHERE entry_key IN ({})",
        placeholders(keys.len())
    );
    let mut query = sqlx::query_as::<_, (String, i64, String, String)>(sqlx::AssertSqlSafe(sql));
    for k in keys {
        query = query.bind(k);
    }
    for (key, amount, currency, date) in query.fetch_all(&mut **tx).await.map_err(q("looking up bank entries"))? {
        let amount = u64::try_from(amount).map_err(|_| DbError::Corrupt("a negative bank entry amount"))?;
        let date =
            fieldseal_core::notice::parse_iso_date(&date).ok_or(DbError::Corrupt("a bank entry's booking date"))?;
        out.insert(key, (amount, currency, date));
    }
    Ok(out)
}

/// The ledger of every case among `tickets` (digits) that exists.
async fn cases_of<'t>(
    tx: &mut Tx<'_>,
    tickets: impl Iterator<Item = &'t str>,
) -> Result<std::collections::HashMap<String, LedgerCase>, DbError> {
    let mut tickets: Vec<&str> = tickets.collect();
    tickets.sort_unstable();
    tickets.dedup();
    let mut out = std::collections::HashMap::with_capacity(tickets.len());
    if tickets.is_empty() {
        return Ok(out);
    }
    let sql =
        format!("SELECT {} FROM cases c WHERE c.ticket_number IN ({})", ledger_columns!(), placeholders(tickets.len()));
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for t in tickets {
        query = query.bind(t);
    }
    for row in query.fetch_all(&mut **tx).await.map_err(q("reading cases' ledgers"))? {
        let case = ledger_case(&row)?;
        out.insert(case.ticket.digits().to_owned(), case);
    }
    Ok(out)
}

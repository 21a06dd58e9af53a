//! The case ledger: cases by status, the dashboard, withdrawals, refunds, the deadline run,
//! access records and the ledger export.

use super::*;

impl Db {
    /// A case's ledger state.
    pub async fn ledger_case(&self, ticket: &TicketNumber) -> Result<Option<LedgerCase>, DbError> {
        sqlx::query(concat!("SELECT ", ledger_columns!(), " FROM cases c WHERE c.ticket_number = $1"))
            .bind(ticket.digits())
            .fetch_optional(&self.pool)
            .await
            .map_err(q("reading a case's ledger"))?
            .as_ref()
            .map(ledger_case)
            .transpose()
    }

    /// A case's state under the policy, read only (what the citizen portal shows), with the
    /// deadline in force.
    pub async fn assessment(&self, ticket: &TicketNumber) -> Result<Option<(Assessment, Date)>, DbError> {
        let Some(case) = self.ledger_case(ticket).await? else { return Ok(None) };
        let mut conn = self.pool.acquire().await.map_err(q("reading a case's state"))?;
        let (payments, refunded) = money_of(&mut conn, ticket.digits()).await?;
        let facts = facts(&case, &payments, refunded);
        Ok(Some((policy::assess(&facts, &self.policy), facts.current_deadline())))
    }

    /// Cases in a stored status (or overdue: awaiting payment past `today`), by deadline.
    pub async fn cases_by_status(
        &self,
        status: Option<Status>,
        overdue_on: Option<Date>,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<LedgerCase>, DbError> {
        let rows =
            match (status, overdue_on) {
                (_, Some(today)) => {
                    sqlx::query(concat!(
                    "SELECT ",
                    ledger_columns!(),
                    " FROM cases c WHERE c.status IN ('open', 'part_paid') AND COALESCE(c.deadline, c.due_date) < $1
                     ORDER BY COALESCE(c.deadline, c.due_date), c.ticket_number LIMIT $2 OFFSET $3"
                ))
                    .bind(today.to_string())
                    .bind(i64::from(limit))
                    .bind(i64::from(offset))
                    .fetch_all(&self.pool)
                    .await
                }
                (Some(s), None) => {
                    sqlx::query(concat!(
                        "SELECT ",
                        ledger_columns!(),
                        " FROM cases c WHERE c.status = $1 ORDER BY c.due_date, c.ticket_number LIMIT $2 OFFSET $3"
                    ))
                    .bind(s.as_str())
                    .bind(i64::from(limit))
                    .bind(i64::from(offset))
                    .fetch_all(&self.pool)
                    .await
                }
                (None, None) => sqlx::query(concat!(
                    "SELECT ",
                    ledger_columns!(),
                    " FROM cases c WHERE c.refund_due_cents > 0 ORDER BY c.due_date, c.ticket_number LIMIT $1 OFFSET $2"
                ))
                .bind(i64::from(limit))
                .bind(i64::from(offset))
                .fetch_all(&self.pool)
                .await,
            }
            .map_err(q("listing cases"))?;
        rows.iter().map(ledger_case).collect()
    }

    /// The dashboard's counts; `today` decides "overdue", `since_ms` "today's payments".
    pub async fn dashboard(&self, today: Date, since_ms: i64) -> Result<Dashboard, DbError> {
        let mut d = Dashboard::default();
        let counts = sqlx::query("SELECT status, COUNT(*) FROM cases GROUP BY status")
            .fetch_all(&self.pool)
            .await
            .map_err(q("counting cases"))?;
        for s in Status::ALL {
            let n = counts
                .iter()
                .filter(|r| r.try_get::<String, _>(0).is_ok_and(|v| v == s.as_str()))
                .map(|r| r.try_get::<i64, _>(1).unwrap_or(0))
                .sum();
            d.by_status.push((s, n));
        }
        d.overdue = sqlx::query_scalar(
            "SELECT COUNT(*) FROM cases WHERE status IN ('open', 'part_paid') AND COALESCE(deadline, due_date) < $1",
        )
        .bind(today.to_string())
        .fetch_one(&self.pool)
        .await
        .map_err(q("counting overdue cases"))?;
        let r = sqlx::query(
            "SELECT COUNT(*), CAST(COALESCE(SUM(refund_due_cents), 0) AS BIGINT) FROM cases WHERE refund_due_cents > 0",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(q("counting refunds due"))?;
        d.refund_due = r.try_get(0).map_err(q("counting refunds due"))?;
        d.refund_due_cents = r.try_get(1).map_err(q("counting refunds due"))?;
        let r = sqlx::query(
            "SELECT COUNT(*), CAST(COALESCE(SUM(amount_cents), 0) AS BIGINT) FROM payments WHERE recorded_at_ms >= $1",
        )
        .bind(since_ms)
        .fetch_one(&self.pool)
        .await
        .map_err(q("counting today's payments"))?;
        d.payments_today =
            (r.try_get(0).map_err(q("counting payments"))?, r.try_get(1).map_err(q("counting payments"))?);
        d.exceptions = sqlx::query_scalar("SELECT COUNT(*) FROM bank_entries WHERE state = 'exception'")
            .fetch_one(&self.pool)
            .await
            .map_err(q("counting exceptions"))?;
        Ok(d)
    }

    /// Withdraws (or cancels) a case with a reason; money received becomes due for refund.
    pub async fn withdraw(
        &self,
        ticket: &TicketNumber,
        reason: &str,
        clerk: i64,
        now: i64,
    ) -> Result<Option<Assessment>, DbError> {
        let mut tx = self.pool.begin().await.map_err(q("starting a withdrawal"))?;
        let done = sqlx::query(
            "UPDATE cases SET withdrawn_at_ms = $2, withdrawn_reason = $3 WHERE ticket_number = $1 AND withdrawn_at_ms IS NULL",
        )
        .bind(ticket.digits())
        .bind(now)
        .bind(reason)
        .execute(&mut *tx)
        .await
        .map_err(q("withdrawing a case"))?;
        if done.rows_affected() != 1 {
            return Ok(None);
        }
        let case = ledger_case_in(&mut tx, ticket.digits()).await?.ok_or(DbError::Corrupt("case"))?;
        let a = reassess(&mut tx, &self.policy, &case).await?;
        let mut detail = assessment_json(&a);
        detail["reason"] = json!(reason);
        audit(&mut tx, self, now, Actor::Clerk(clerk), "case.withdrawn", ticket.digits(), detail).await?;
        tx.commit().await.map_err(q("committing a withdrawal"))?;
        Ok(Some(a))
    }

    /// Records money paid back; refused beyond what is due.
    pub async fn record_refund(
        &self,
        ticket: &TicketNumber,
        amount_cents: u64,
        reference: &str,
        clerk: i64,
        now: i64,
    ) -> Result<Result<Assessment, ResolveError>, DbError> {
        let mut tx = self.pool.begin().await.map_err(q("starting a refund"))?;
        let Some(case) = ledger_case_in(&mut tx, ticket.digits()).await? else {
            return Ok(Err(ResolveError::UnknownCase));
        };
        if amount_cents == 0 || amount_cents > case.refund_due_cents {
            return Ok(Err(ResolveError::RefundTooLarge { due_cents: case.refund_due_cents }));
        }
        sqlx::query(
            "INSERT INTO refunds (ticket_number, amount_cents, reference, paid_at_ms, clerk_id) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(ticket.digits())
        .bind(signed(amount_cents)?)
        .bind(reference)
        .bind(now)
        .bind(clerk)
        .execute(&mut *tx)
        .await
        .map_err(q("recording a refund"))?;
        let a = reassess(&mut tx, &self.policy, &case).await?;
        let mut detail = assessment_json(&a);
        detail["refunded_cents"] = json!(amount_cents);
        audit(&mut tx, self, now, Actor::Clerk(clerk), "case.refunded", ticket.digits(), detail).await?;
        tx.commit().await.map_err(q("committing a refund"))?;
        Ok(Ok(a))
    }

    /// What the deadline run would do today (`apply = false`), or does it, each case in its own
    /// transaction with its audit entry.
    pub async fn deadline_run(
        &self,
        today: Date,
        apply: bool,
        clerk: i64,
        now: i64,
    ) -> Result<Vec<DeadlineStep>, DbError> {
        // Only cases whose deadline has passed can be due; the policy decides the rest.
        let rows = sqlx::query(concat!(
            "SELECT ",
            ledger_columns!(),
            " FROM cases c WHERE c.status IN ('open', 'part_paid') AND c.escalated_at_ms IS NULL
              AND c.withdrawn_at_ms IS NULL AND COALESCE(c.deadline, c.due_date) < $1
              ORDER BY COALESCE(c.deadline, c.due_date), c.ticket_number"
        ))
        .bind(today.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(q("finding cases past their deadline"))?;
        let mut steps = Vec::new();
        for r in &rows {
            let case = ledger_case(r)?;
            let mut tx = self.pool.begin().await.map_err(q("starting a deadline step"))?;
            let (payments, refunded) = money_of(&mut tx, case.ticket.digits()).await?;
            let facts = facts(&case, &payments, refunded);
            let Some(action) = policy::due_action(&facts, &self.policy, today) else { continue };
            let balance_cents = policy::assess(&facts, &self.policy).balance_cents;
            steps.push(DeadlineStep { ticket: case.ticket.clone(), action, balance_cents });
            if !apply {
                continue;
            }
            let (action_name, detail) = match action {
                Action::Remind { n, deadline } => {
                    sqlx::query("UPDATE cases SET reminders = $2, deadline = $3 WHERE ticket_number = $1")
                        .bind(case.ticket.digits())
                        .bind(i64::from(n))
                        .bind(deadline.to_string())
                        .execute(&mut *tx)
                        .await
                        .map_err(q("recording a reminder"))?;
                    ("case.reminded", json!({ "reminder": n, "deadline": deadline.to_string() }))
                }
                Action::Escalate => {
                    sqlx::query("UPDATE cases SET escalated_at_ms = $2 WHERE ticket_number = $1")
                        .bind(case.ticket.digits())
                        .bind(now)
                        .execute(&mut *tx)
                        .await
                        .map_err(q("escalating a case"))?;
                    ("case.escalated", json!({ "policy": self.policy.name() }))
                }
            };
            let case = ledger_case_in(&mut tx, case.ticket.digits()).await?.ok_or(DbError::Corrupt("case"))?;
            let a = reassess(&mut tx, &self.policy, &case).await?;
            let mut detail = detail;
            detail["state"] = assessment_json(&a);
            audit(&mut tx, self, now, Actor::Clerk(clerk), action_name, case.ticket.digits(), detail).await?;
            tx.commit().await.map_err(q("committing a deadline step"))?;
        }
        Ok(steps)
    }

    /// Records that a clerk opened personal data, and why, before it is opened.
    pub async fn audit_access(
        &self,
        clerk: i64,
        what: &str,
        subject: &str,
        purpose: &str,
        now: i64,
    ) -> Result<u64, DbError> {
        let detail = json!({ "what": what, "purpose": purpose });
        self.audit_event(now, Actor::Clerk(clerk), "personal_data.opened", subject, detail).await
    }
}

impl Db {
    /// Refunds of a case, oldest first.
    pub async fn refunds(&self, ticket: &TicketNumber) -> Result<Vec<RefundRow>, DbError> {
        sqlx::query("SELECT amount_cents, reference, paid_at_ms FROM refunds WHERE ticket_number = $1 ORDER BY id")
            .bind(ticket.digits())
            .fetch_all(&self.pool)
            .await
            .map_err(q("reading refunds"))?
            .iter()
            .map(|r| {
                let read = |_| DbError::Corrupt("refund row");
                Ok(RefundRow {
                    amount_cents: cents(r.try_get(0).map_err(read)?)?,
                    reference: r.try_get(1).map_err(read)?,
                    paid_at_ms: r.try_get(2).map_err(read)?,
                })
            })
            .collect()
    }

    /// A page of the ledger: payments (`refunds = false`) or refunds, ids after `after`.
    pub async fn ledger_page(&self, refunds: bool, after: i64, limit: u32) -> Result<Vec<LedgerLine>, DbError> {
        let query = if refunds {
            "SELECT id, ticket_number, -amount_cents, 'refund', '', reference, paid_at_ms, paid_at_ms, clerk_id
             FROM refunds WHERE id > $1 ORDER BY id LIMIT $2"
        } else {
            "SELECT p.id, p.ticket_number, p.amount_cents, p.method, p.provider, p.external_ref, p.booked_at_ms,
                    p.recorded_at_ms, b.resolved_by
             FROM payments p LEFT JOIN bank_entries b ON b.entry_key = p.external_ref AND p.method = 'transfer'
             WHERE p.id > $1 ORDER BY p.id LIMIT $2"
        };
        sqlx::query(query)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(q("reading the ledger"))?
            .iter()
            .map(|r| {
                let read = |_| DbError::Corrupt("ledger row");
                Ok(LedgerLine {
                    id: r.try_get(0).map_err(read)?,
                    kind: if refunds { "refund" } else { "payment" }.to_owned(),
                    ticket: r.try_get(1).map_err(read)?,
                    amount_cents: r.try_get(2).map_err(read)?,
                    method: r.try_get(3).map_err(read)?,
                    provider: r.try_get(4).map_err(read)?,
                    reference: r.try_get(5).map_err(read)?,
                    booked_at_ms: r.try_get(6).map_err(read)?,
                    recorded_at_ms: r.try_get(7).map_err(read)?,
                    clerk: r.try_get(8).map_err(read)?,
                })
            })
            .collect()
    }

    /// The newest audit entries, newest first.
    pub async fn audit_recent(&self, limit: u32) -> Result<Vec<fieldseal_office::audit::AuditEntry>, DbError> {
        let head: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM audit_log")
            .fetch_one(&self.pool)
            .await
            .map_err(q("reading the audit log's head"))?;
        let after = u64::try_from(head.unwrap_or(0) - i64::from(limit)).unwrap_or(0);
        let mut page = self.audit_page(after, limit).await?;
        page.reverse();
        Ok(page)
    }

    /// Records that a clerk exported something (no personal data in it).
    pub async fn audit_export(&self, clerk: i64, what: &str, now: i64) -> Result<u64, DbError> {
        self.audit_event(now, Actor::Clerk(clerk), "export", "", json!({ "what": what })).await
    }
}

//! Clerk accounts as the host keeps them (name, the zone's sealed record, last TOTP step):
//! keeping, look-up, one-time TOTP steps and sign-in audit.

use super::*;

impl Db {
    /// Keeps a new clerk account the zone sealed; `None` when the name is taken.
    pub async fn insert_clerk(
        &self,
        username: &str,
        sealed: &[u8],
        actor: Actor,
        now: i64,
    ) -> Result<Option<i64>, DbError> {
        let mut tx = self.pool.begin().await.map_err(q("starting to add a clerk"))?;
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO clerks (username, role, password_hash, sealed, created_at_ms) VALUES ($1, 'sealed', '', $2, $3)
             ON CONFLICT (username) DO NOTHING RETURNING id",
        )
        .bind(username)
        .bind(sealed)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(q("adding a clerk"))?;
        let Some(id) = id else { return Ok(None) };
        audit(&mut tx, self, now, actor, "clerk.created", &format!("clerk:{id}"), json!({ "username": username }))
            .await?;
        tx.commit().await.map_err(q("committing a clerk"))?;
        Ok(Some(id))
    }

    /// Replaces a clerk account's sealed record (`action` for the audit log); `false` when no
    /// clerk has that id.
    pub async fn update_clerk(
        &self,
        id: i64,
        sealed: &[u8],
        action: &str,
        actor: Actor,
        now: i64,
    ) -> Result<bool, DbError> {
        let mut tx = self.pool.begin().await.map_err(q("starting to change a clerk"))?;
        let done = sqlx::query("UPDATE clerks SET sealed = $2 WHERE id = $1")
            .bind(id)
            .bind(sealed)
            .execute(&mut *tx)
            .await
            .map_err(q("changing a clerk"))?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        audit(&mut tx, self, now, actor, action, &format!("clerk:{id}"), json!({})).await?;
        tx.commit().await.map_err(q("committing a changed clerk"))?;
        Ok(true)
    }

    /// A clerk by sign-in name.
    pub async fn clerk_by_name(&self, username: &str) -> Result<Option<ClerkRow>, DbError> {
        sqlx::query(concat!("SELECT ", clerk_columns!(), " FROM clerks WHERE username = $1"))
            .bind(username)
            .fetch_optional(&self.pool)
            .await
            .map_err(q("looking up a clerk"))?
            .as_ref()
            .map(clerk_row)
            .transpose()
    }

    /// A clerk by id.
    pub async fn clerk(&self, id: i64) -> Result<Option<ClerkRow>, DbError> {
        sqlx::query(concat!("SELECT ", clerk_columns!(), " FROM clerks WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(q("looking up a clerk"))?
            .as_ref()
            .map(clerk_row)
            .transpose()
    }

    /// Every clerk, by id.
    pub async fn clerks(&self) -> Result<Vec<ClerkRow>, DbError> {
        sqlx::query(concat!("SELECT ", clerk_columns!(), " FROM clerks ORDER BY id"))
            .fetch_all(&self.pool)
            .await
            .map_err(q("listing clerks"))?
            .iter()
            .map(clerk_row)
            .collect()
    }

    /// Marks a TOTP step used, only if it is newer than the last one (a code counts once).
    pub async fn use_totp_step(&self, clerk: i64, step: u64) -> Result<bool, DbError> {
        let step = i64::try_from(step).map_err(|_| DbError::Corrupt("TOTP step"))?;
        let done = sqlx::query(
            "UPDATE clerks SET totp_last_step = $2 WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)",
        )
        .bind(clerk)
        .bind(step)
        .execute(&self.pool)
        .await
        .map_err(q("using a TOTP code"))?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a sign-in or a refused sign-in (security events belong in the audit log too).
    pub async fn audit_sign_in(&self, clerk: Option<i64>, ok: bool, reason: &str, now: i64) -> Result<(), DbError> {
        let (actor, subject) = match clerk {
            Some(id) => (Actor::Clerk(id), format!("clerk:{id}")),
            None => (Actor::Portal, String::new()),
        };
        let action = if ok { "clerk.signed_in" } else { "clerk.sign_in_refused" };
        self.audit_event(now, actor, action, &subject, json!({ "reason": reason })).await?;
        Ok(())
    }
}

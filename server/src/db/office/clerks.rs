//! Clerk accounts: creation, look-up, disabling, one-time TOTP steps and sign-in audit.

use super::*;

impl Db {
    /// Creates a clerk account.
    pub async fn insert_clerk(
        &self,
        username: &str,
        role: Role,
        password_hash: &str,
        totp_secret: Option<&[u8]>,
        actor: Actor,
        now: i64,
    ) -> Result<Option<i64>, DbError> {
        let mut tx = self.pool.begin().await.map_err(q("starting to add a clerk"))?;
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO clerks (username, role, password_hash, totp_secret, created_at_ms) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (username) DO NOTHING RETURNING id",
        )
        .bind(username)
        .bind(role.as_str())
        .bind(password_hash)
        .bind(totp_secret.map(<[u8]>::to_vec))
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(q("adding a clerk"))?;
        let Some(id) = id else { return Ok(None) };
        let detail = json!({ "username": username, "role": role.as_str(), "totp": totp_secret.is_some() });
        audit(&mut tx, self, now, actor, "clerk.created", &format!("clerk:{id}"), detail).await?;
        tx.commit().await.map_err(q("committing a clerk"))?;
        Ok(Some(id))
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

    /// Disables a clerk account (it cannot sign in; open sessions end at their next request).
    /// `false` when no active clerk has that name.
    pub async fn disable_clerk(&self, username: &str, actor: Actor, now: i64) -> Result<bool, DbError> {
        let mut tx = self.pool.begin().await.map_err(q("starting to disable a clerk"))?;
        let id: Option<i64> = sqlx::query_scalar(
            "UPDATE clerks SET disabled_at_ms = $2 WHERE username = $1 AND disabled_at_ms IS NULL RETURNING id",
        )
        .bind(username)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(q("disabling a clerk"))?;
        let Some(id) = id else { return Ok(false) };
        audit(&mut tx, self, now, actor, "clerk.disabled", &format!("clerk:{id}"), json!({ "username": username }))
            .await?;
        tx.commit().await.map_err(q("committing a disabled clerk"))?;
        Ok(true)
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

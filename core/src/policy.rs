//! Deadline policies: what a case's payments mean, and what happens when its deadline passes.
//!
//! The law of the place decides, so the policy is configuration (`policy.json` in the data
//! folder). Two ship:
//!
//! - [`Policy::WarningFine`], the German default (§ 56 OWiG): a warning fine
//!   (*Verwarnungsgeld*) is valid only if it is paid **in full within the deadline**, counted to
//!   the bank's booking date. There are no reminders. Once the deadline has passed (plus a few
//!   days for statements to arrive), the case escalates to fine proceedings: a hearing form goes
//!   to the vehicle holder. Money that came too late, or too little, does not settle the case
//!   and is flagged for refund; money beyond the amount is refunded too.
//! - [`Policy::Reminders`], as many other schemes work: after the deadline a reminder (with an
//!   optional fee) sets a new deadline; late and partial payments count towards the balance;
//!   only when the last reminder's deadline has passed does the case escalate.
//!
//! Everything here is a pure function of the case's facts, so the same facts always give the
//! same state: [`assess`] gives the stored state (it does not depend on today's date),
//! [`due_action`] what the deadline run should do today, and [`shown_status`] adds "overdue".

use serde::{Deserialize, Serialize};
use time::{Date, Duration};

/// Days after the deadline before a case escalates or gets a reminder: bank statements arrive a
/// day or two after the booking date, and a transfer booked in time must not be overtaken.
pub const DEFAULT_GRACE_DAYS: u32 = 3;

/// A configured deadline policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "policy", rename_all = "snake_case", deny_unknown_fields)]
pub enum Policy {
    /// § 56 OWiG: paid in full by the deadline, or fine proceedings; no reminders.
    WarningFine {
        /// Days after the deadline before escalation (statements arrive late).
        grace_days: u32,
    },
    /// Reminders before escalation; late and partial payments count.
    Reminders {
        /// How many reminders before the case escalates (1–5).
        reminders: u32,
        /// Days each reminder gives (7–90).
        interval_days: u32,
        /// Fee added with each reminder, in cents (0 for none).
        fee_cents: u64,
        /// Days after a deadline before the next step.
        grace_days: u32,
    },
}

impl Default for Policy {
    fn default() -> Self {
        Self::WarningFine { grace_days: DEFAULT_GRACE_DAYS }
    }
}

/// A policy file that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PolicyError {
    /// Not the expected JSON.
    #[error(
        "policy.json is not valid: {0}; write {{\"policy\": \"de-owig-56\"}} or {{\"policy\": \"reminders\", \"reminders\": 2, \"interval_days\": 14, \"fee_cents\": 500}}"
    )]
    Json(String),
    /// A value out of range.
    #[error("policy.json: {0}")]
    Range(String),
}

#[derive(Deserialize)]
#[serde(tag = "policy", deny_unknown_fields)]
enum PolicyFile {
    #[serde(rename = "de-owig-56")]
    WarningFine { grace_days: Option<u32> },
    #[serde(rename = "reminders")]
    Reminders { reminders: u32, interval_days: u32, fee_cents: Option<u64>, grace_days: Option<u32> },
}

impl Policy {
    /// Reads a policy file's text.
    pub fn from_json(text: &str) -> Result<Self, PolicyError> {
        let file: PolicyFile = serde_json::from_str(text).map_err(|e| PolicyError::Json(e.to_string()))?;
        let grace = |g: Option<u32>| -> Result<u32, PolicyError> {
            let g = g.unwrap_or(DEFAULT_GRACE_DAYS);
            if g > 14 {
                return Err(PolicyError::Range(format!("grace_days must be 0 to 14, not {g}")));
            }
            Ok(g)
        };
        Ok(match file {
            PolicyFile::WarningFine { grace_days } => Self::WarningFine { grace_days: grace(grace_days)? },
            PolicyFile::Reminders { reminders, interval_days, fee_cents, grace_days } => {
                if !(1..=5).contains(&reminders) {
                    return Err(PolicyError::Range(format!("reminders must be 1 to 5, not {reminders}")));
                }
                if !(7..=90).contains(&interval_days) {
                    return Err(PolicyError::Range(format!("interval_days must be 7 to 90, not {interval_days}")));
                }
                let fee_cents = fee_cents.unwrap_or(0);
                if fee_cents > 100_000 {
                    return Err(PolicyError::Range(format!("fee_cents must be at most 100000, not {fee_cents}")));
                }
                Self::Reminders { reminders, interval_days, fee_cents, grace_days: grace(grace_days)? }
            }
        })
    }

    /// The short name written in policy.json.
    pub fn name(&self) -> &'static str {
        match self {
            Self::WarningFine { .. } => "de-owig-56",
            Self::Reminders { .. } => "reminders",
        }
    }

    /// One line for people: what this policy does.
    pub fn describe(&self) -> String {
        match self {
            Self::WarningFine { grace_days } => format!(
                "§ 56 OWiG: valid only if paid in full by the deadline (booking date); no reminders; \
                 fine proceedings {grace_days} days after the deadline; late or partial payments are refunded"
            ),
            Self::Reminders { reminders, interval_days, fee_cents, grace_days } => format!(
                "{reminders} reminder(s), {interval_days} days each, fee {}.{:02} each; late and partial payments count; \
                 escalation {grace_days} days after the last deadline",
                fee_cents / 100,
                fee_cents % 100
            ),
        }
    }

    /// [`Policy::describe`] in German, for the office's German pages.
    pub fn describe_de(&self) -> String {
        match self {
            Self::WarningFine { grace_days } => format!(
                "§ 56 OWiG: wirksam nur bei vollständiger Zahlung bis zur Frist (Buchungstag); keine Mahnungen; \
                 Bußgeldverfahren {grace_days} Tage nach der Frist; verspätete oder Teilzahlungen werden erstattet"
            ),
            Self::Reminders { reminders, interval_days, fee_cents, grace_days } => format!(
                "{reminders} Mahnung(en) zu je {interval_days} Tagen, Gebühr je {},{:02} EUR; verspätete und \
                 Teilzahlungen werden angerechnet; Abgabe {grace_days} Tage nach der letzten Frist",
                fee_cents / 100,
                fee_cents % 100
            ),
        }
    }

    fn grace(&self) -> Duration {
        match self {
            Self::WarningFine { grace_days } | Self::Reminders { grace_days, .. } => {
                Duration::days(i64::from(*grace_days))
            }
        }
    }
}

/// A payment as the policy sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paid {
    /// Amount in cents.
    pub amount_cents: u64,
    /// The bank's booking date (for card payments: the day the provider confirmed it).
    pub booked_on: Date,
}

/// What is known of a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFacts<'a> {
    /// The amount of the notice.
    pub total_cents: u64,
    /// The notice's deadline.
    pub due_date: Date,
    /// Every payment counted for the case.
    pub payments: &'a [Paid],
    /// Money already paid back.
    pub refunded_cents: u64,
    /// Reminders sent so far.
    pub reminders: u32,
    /// The deadline the last reminder set, if any.
    pub deadline: Option<Date>,
    /// Fine proceedings started (escalated).
    pub escalated: bool,
    /// Withdrawn or cancelled.
    pub withdrawn: bool,
}

impl CaseFacts<'_> {
    /// The deadline now in force.
    pub fn current_deadline(&self) -> Date {
        self.deadline.unwrap_or(self.due_date)
    }
}

/// A case's stored state (independent of today's date).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Nothing paid (that counts).
    Open,
    /// Some paid, a balance left.
    PartPaid,
    /// Settled exactly.
    Paid,
    /// Settled, with money to give back.
    Overpaid,
    /// Fine proceedings (or enforcement) started.
    Escalated,
    /// Withdrawn or cancelled.
    Withdrawn,
}

impl Status {
    /// Every stored status.
    pub const ALL: [Status; 6] =
        [Status::Open, Status::PartPaid, Status::Paid, Status::Overpaid, Status::Escalated, Status::Withdrawn];

    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::PartPaid => "part_paid",
            Self::Paid => "paid",
            Self::Overpaid => "overpaid",
            Self::Escalated => "escalated",
            Self::Withdrawn => "withdrawn",
        }
    }

    /// Reads a stored word.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Still waiting for money (a deadline applies).
    pub fn awaits_payment(self) -> bool {
        matches!(self, Self::Open | Self::PartPaid)
    }
}

/// The stored state the facts give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    /// Stored status.
    pub status: Status,
    /// What is still to pay (0 once settled, escalated under § 56, or withdrawn).
    pub balance_cents: u64,
    /// Money to give back now (after refunds already made).
    pub refund_due_cents: u64,
    /// All money received that counts for the case.
    pub paid_cents: u64,
}

/// The stored state of a case under `policy`.
pub fn assess(facts: &CaseFacts<'_>, policy: &Policy) -> Assessment {
    let received: u64 = facts.payments.iter().map(|p| p.amount_cents).sum();
    let settle = |counted: u64, owed: u64, extra: u64| -> Assessment {
        let (status, balance, surplus) = if counted >= owed {
            (if counted == owed { Status::Paid } else { Status::Overpaid }, 0, counted - owed)
        } else {
            (if counted > 0 { Status::PartPaid } else { Status::Open }, owed - counted, 0)
        };
        Assessment {
            status,
            balance_cents: balance,
            refund_due_cents: (surplus + extra).saturating_sub(facts.refunded_cents),
            paid_cents: received,
        }
    };
    if facts.withdrawn {
        return Assessment {
            status: Status::Withdrawn,
            balance_cents: 0,
            refund_due_cents: received.saturating_sub(facts.refunded_cents),
            paid_cents: received,
        };
    }
    match policy {
        Policy::WarningFine { .. } => {
            let in_time: u64 =
                facts.payments.iter().filter(|p| p.booked_on <= facts.due_date).map(|p| p.amount_cents).sum();
            let late = received - in_time;
            if in_time >= facts.total_cents {
                // Valid warning fine; anything beyond it, and anything late, goes back.
                settle(in_time, facts.total_cents, late)
            } else if facts.escalated {
                // Not paid in full in time: the warning fine is void, all money goes back.
                Assessment {
                    status: Status::Escalated,
                    balance_cents: 0,
                    refund_due_cents: received.saturating_sub(facts.refunded_cents),
                    paid_cents: received,
                }
            } else {
                // Still in time (or awaiting the deadline run); late money cannot count.
                settle(in_time, facts.total_cents, late)
            }
        }
        Policy::Reminders { fee_cents, .. } => {
            let owed = facts.total_cents + fee_cents * u64::from(facts.reminders);
            let a = settle(received, owed, 0);
            if facts.escalated && a.status.awaits_payment() { Assessment { status: Status::Escalated, ..a } } else { a }
        }
    }
}

/// What the deadline run does to a case today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// Send reminder number `n` (1-based) with a new deadline.
    Remind {
        /// Which reminder.
        n: u32,
        /// The new deadline.
        #[serde(with = "crate::notice::iso_date")]
        deadline: Date,
    },
    /// Start fine proceedings (a hearing form to the vehicle holder) or enforcement.
    Escalate,
}

/// What the deadline run should do with a case today, if anything.
pub fn due_action(facts: &CaseFacts<'_>, policy: &Policy, today: Date) -> Option<Action> {
    if facts.withdrawn || facts.escalated || !assess(facts, policy).status.awaits_payment() {
        return None;
    }
    let deadline = facts.current_deadline();
    if today <= deadline.saturating_add(policy.grace()) {
        return None;
    }
    match policy {
        Policy::WarningFine { .. } => Some(Action::Escalate),
        Policy::Reminders { reminders, interval_days, .. } => {
            if facts.reminders < *reminders {
                Some(Action::Remind {
                    n: facts.reminders + 1,
                    deadline: today.saturating_add(Duration::days(i64::from(*interval_days))),
                })
            } else {
                Some(Action::Escalate)
            }
        }
    }
}

/// The status people see today: a stored status, or "overdue" for a case still awaiting
/// payment whose deadline has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Shown {
    /// A stored status.
    Stored(Status),
    /// Awaiting payment after the deadline.
    Overdue,
}

impl Shown {
    /// The word used in URLs and CSV.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stored(s) => s.as_str(),
            Self::Overdue => "overdue",
        }
    }
}

/// The status shown today for a stored status and the deadline in force.
pub fn shown_status(status: Status, deadline: Date, today: Date) -> Shown {
    if status.awaits_payment() && today > deadline { Shown::Overdue } else { Shown::Stored(status) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const DUE: Date = date!(2026 - 12 - 09);

    fn facts(payments: &[Paid]) -> CaseFacts<'_> {
        CaseFacts {
            total_cents: 3000,
            due_date: DUE,
            payments,
            refunded_cents: 0,
            reminders: 0,
            deadline: None,
            escalated: false,
            withdrawn: false,
        }
    }

    fn paid(amount_cents: u64, booked_on: Date) -> Paid {
        Paid { amount_cents, booked_on }
    }

    fn german() -> Policy {
        Policy::default()
    }

    fn reminders() -> Policy {
        Policy::from_json(r#"{"policy": "reminders", "reminders": 2, "interval_days": 14, "fee_cents": 500}"#)
            .expect("valid")
    }

    #[test]
    fn a_policy_travels_and_reads_in_both_languages() {
        for p in [german(), reminders()] {
            let json = serde_json::to_string(&p).expect("json");
            assert_eq!(serde_json::from_str::<Policy>(&json).expect("reads"), p);
        }
        assert!(serde_json::from_str::<Policy>(r#"{"policy": "warning_fine", "grace_days": 3, "x": 1}"#).is_err());
        assert!(reminders().describe().contains("2 reminder(s), 14 days each, fee 5.00 each"));
        assert!(reminders().describe_de().contains("2 Mahnung(en) zu je 14 Tagen, Gebühr je 5,00 EUR"));
        assert!(german().describe_de().starts_with("§ 56 OWiG: wirksam nur"));
    }

    #[test]
    fn exact_payment_in_time_settles_and_counts_the_booking_date() {
        let p = [paid(3000, DUE)];
        let a = assess(&facts(&p), &german());
        assert_eq!(a, Assessment { status: Status::Paid, balance_cents: 0, refund_due_cents: 0, paid_cents: 3000 });
        assert_eq!(due_action(&facts(&p), &german(), date!(2027 - 01 - 31)), None);
    }

    #[test]
    fn partial_payment_leaves_a_balance_and_overpayment_is_refunded() {
        let p = [paid(1000, date!(2026 - 12 - 03))];
        let a = assess(&facts(&p), &german());
        assert_eq!((a.status, a.balance_cents, a.refund_due_cents), (Status::PartPaid, 2000, 0));
        let p = [paid(1000, date!(2026 - 12 - 03)), paid(2500, DUE)];
        let a = assess(&facts(&p), &german());
        assert_eq!((a.status, a.balance_cents, a.refund_due_cents), (Status::Overpaid, 0, 500));
    }

    #[test]
    fn german_late_payment_does_not_settle_and_is_refunded() {
        let p = [paid(3000, date!(2026 - 12 - 10))];
        let f = facts(&p);
        let a = assess(&f, &german());
        assert_eq!((a.status, a.balance_cents, a.refund_due_cents), (Status::Open, 3000, 3000));
        // Within the grace days nothing happens; after them the case escalates.
        assert_eq!(due_action(&f, &german(), date!(2026 - 12 - 12)), None);
        assert_eq!(due_action(&f, &german(), date!(2026 - 12 - 13)), Some(Action::Escalate));
        let escalated = CaseFacts { escalated: true, ..f };
        let a = assess(&escalated, &german());
        assert_eq!((a.status, a.balance_cents, a.refund_due_cents), (Status::Escalated, 0, 3000));
    }

    #[test]
    fn german_partial_payment_is_refunded_once_escalated_and_refunds_reduce_it() {
        let p = [paid(1000, date!(2026 - 12 - 03))];
        let f = CaseFacts { escalated: true, ..facts(&p) };
        assert_eq!(assess(&f, &german()).refund_due_cents, 1000);
        let f = CaseFacts { refunded_cents: 1000, ..f };
        assert_eq!(assess(&f, &german()).refund_due_cents, 0);
        // A payment in time after paying in full: the extra is refunded, the case stays paid.
        let p = [paid(3000, date!(2026 - 12 - 03)), paid(3000, date!(2026 - 12 - 20))];
        let a = assess(&facts(&p), &german());
        assert_eq!((a.status, a.refund_due_cents), (Status::Paid, 3000));
    }

    #[test]
    fn german_policy_never_reminds() {
        for today in [date!(2026 - 12 - 13), date!(2027 - 06 - 01)] {
            assert_eq!(due_action(&facts(&[]), &german(), today), Some(Action::Escalate));
        }
    }

    #[test]
    fn reminder_policy_reminds_twice_with_fees_then_escalates() {
        let policy = reminders();
        let f = facts(&[]);
        let first = due_action(&f, &policy, date!(2026 - 12 - 13));
        assert_eq!(first, Some(Action::Remind { n: 1, deadline: date!(2026 - 12 - 27) }));
        let f1 = CaseFacts { reminders: 1, deadline: Some(date!(2026 - 12 - 27)), ..f.clone() };
        assert_eq!(assess(&f1, &policy).balance_cents, 3500);
        assert_eq!(due_action(&f1, &policy, date!(2026 - 12 - 28)), None, "within the grace days");
        assert_eq!(
            due_action(&f1, &policy, date!(2026 - 12 - 31)),
            Some(Action::Remind { n: 2, deadline: date!(2027 - 01 - 14) })
        );
        let f2 = CaseFacts { reminders: 2, deadline: Some(date!(2027 - 01 - 14)), ..f };
        assert_eq!(due_action(&f2, &policy, date!(2027 - 01 - 18)), Some(Action::Escalate));
    }

    #[test]
    fn reminder_policy_counts_late_and_partial_payments() {
        let policy = reminders();
        let p = [paid(1000, date!(2026 - 12 - 03)), paid(2500, date!(2026 - 12 - 20))];
        let f = CaseFacts { reminders: 1, deadline: Some(date!(2026 - 12 - 27)), ..facts(&p) };
        let a = assess(&f, &policy);
        assert_eq!((a.status, a.balance_cents, a.refund_due_cents), (Status::Paid, 0, 0));
        assert_eq!(due_action(&f, &policy, date!(2027 - 02 - 01)), None);
        // Paid after escalation: settled, not refunded.
        let p = [paid(3500, date!(2027 - 02 - 01))];
        let f = CaseFacts { reminders: 1, escalated: true, ..facts(&p) };
        assert_eq!(assess(&f, &policy).status, Status::Paid);
        let f = CaseFacts { payments: &[], ..f };
        assert_eq!(assess(&f, &policy).status, Status::Escalated);
    }

    #[test]
    fn withdrawn_cases_refund_everything_and_take_no_action() {
        let p = [paid(3000, DUE)];
        for policy in [german(), reminders()] {
            let f = CaseFacts { withdrawn: true, ..facts(&p) };
            let a = assess(&f, &policy);
            assert_eq!((a.status, a.refund_due_cents, a.balance_cents), (Status::Withdrawn, 3000, 0));
            assert_eq!(due_action(&f, &policy, date!(2030 - 01 - 01)), None);
        }
    }

    #[test]
    fn overdue_is_shown_only_for_cases_awaiting_payment() {
        let day_after = date!(2026 - 12 - 10);
        assert_eq!(shown_status(Status::Open, DUE, DUE), Shown::Stored(Status::Open));
        assert_eq!(shown_status(Status::Open, DUE, day_after), Shown::Overdue);
        assert_eq!(shown_status(Status::PartPaid, DUE, day_after), Shown::Overdue);
        assert_eq!(shown_status(Status::Paid, DUE, day_after), Shown::Stored(Status::Paid));
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn policy_files_are_checked_with_clear_errors() {
        assert_eq!(Policy::from_json(r#"{"policy": "de-owig-56"}"#), Ok(Policy::default()));
        assert_eq!(reminders().name(), "reminders");
        for (text, says) in [
            (r#"{"policy": "fr"}"#, "unknown variant"),
            (r#"{"policy": "reminders", "reminders": 0, "interval_days": 14}"#, "reminders must be 1 to 5"),
            (r#"{"policy": "reminders", "reminders": 2, "interval_days": 3}"#, "interval_days must be 7 to 90"),
            (r#"{"policy": "de-owig-56", "grace_days": 30}"#, "grace_days must be 0 to 14"),
            (r#"{"policy": "de-owig-56", "reminders": 2}"#, "unknown field"),
            ("not json", "policy.json is not valid"),
        ] {
            let e = Policy::from_json(text).expect_err(text).to_string();
            assert!(e.contains(says), "{text}: {e}");
        }
    }
}

//! Finding ticket numbers in bank remittance text, and the ISO 11649 creditor reference
//! printed on tickets.
//!
//! Citizens type the ticket number into a transfer's reference field, and they type it
//! badly: grouped or not, with dots, slashes or spaces, split over two remittance lines, next
//! to dates, invoice and IBAN digits, or as the creditor reference `RF.. ....`. The
//! [`find_tickets`] scanner proposes candidates, strongest first; the Damm check digit (and the
//! creditor reference's mod-97 check) keeps false matches rare, and deciding stays with the
//! matching code and the clerk.
//!
//! # What counts as a number
//! Digits (ASCII `0`–`9`) joined by runs of at most [`MAX_SEPARATORS`] separator characters
//! (whitespace including line breaks, `-`, `/`, `.`, `_`, `:`) form one digit run; anything
//! else (a letter, a comma, a longer gap) ends it. A run of exactly 12 digits is an
//! [`How::Exact`] candidate when its check digit holds and a near miss when it does not;
//! longer runs (up to [`MAX_RUN_DIGITS`]) give every valid 12-digit window as [`How::Window`].
//! A creditor reference `RFkk` + 12 digits whose mod-97 check holds is
//! [`How::CreditorReference`]; when the check fails, its 12 digits count as standing alone.
//! Either way its digits are not scanned again, so the check digits never join a window.
//!
//! Runs are joined greedily: a ticket glued to a date by one space (`0001-0000-0120
//! 02.12.2026`) is one 20-digit run and is found as a [`How::Window`], not as exact.
//!
//! # Hostile input
//! Remittance text is untrusted. Only the first [`MAX_INPUT_CHARS`] characters (after joining
//! the lines) are looked at, every step is linear in that, and what comes back is made of
//! digits only, never of the text around them.

use std::collections::HashSet;

use fieldseal_core::ticket::{TicketError, TicketNumber};

/// Characters of remittance text considered (after trimming and joining the lines); the rest
/// is ignored. SEPA allows 140 characters of unstructured remittance, so this is generous.
pub const MAX_INPUT_CHARS: usize = 10_000;
/// Longest digit run searched for windows; longer runs (account dumps, hostile input) are
/// ignored entirely.
pub const MAX_RUN_DIGITS: usize = 40;
/// Most separator characters that still join two digit groups into one number.
pub const MAX_SEPARATORS: usize = 3;

/// Digits in a ticket number.
const TICKET_DIGITS: usize = 12;

/// How a candidate was found; the order (`Ord`) is strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum How {
    /// An ISO 11649 creditor reference (`RFkk` + the 12 digits) whose mod-97 check holds.
    CreditorReference,
    /// A 12-digit run standing alone (separators inside allowed).
    Exact,
    /// 12 digits found inside a longer run of digits.
    Window,
}

/// A ticket number found in remittance text, with its check digit holding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The ticket.
    pub ticket: TicketNumber,
    /// How it was found.
    pub how: How,
}

/// What [`find_tickets`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    /// Distinct tickets, strongest first ([`How`] order), in text order within a strength.
    pub candidates: Vec<Candidate>,
    /// Standalone 12-digit numbers whose check digit fails (a typo?), as the 12 plain digits,
    /// distinct, in text order. Digits only: safe to put into an exception note.
    pub near_misses: Vec<String>,
}

fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '-' | '/' | '.' | '_' | ':')
}

/// Finds ticket numbers in the remittance lines of one payment (in order). The lines are
/// trimmed and joined with line breaks, so a number split over two lines is found; only the
/// first [`MAX_INPUT_CHARS`] characters are looked at.
pub fn find_tickets(texts: &[&str]) -> Found {
    let chars = join_lines(texts);
    let mut hits: Vec<(How, usize, TicketNumber)> = Vec::new();
    let mut near: Vec<(usize, String)> = Vec::new();
    // Characters taken by a creditor reference; its digits are not scanned again.
    let mut taken = vec![false; chars.len()];

    for i in 0..chars.len() {
        let Some((digits, end)) = creditor_reference_at(&chars, i) else {
            continue;
        };
        let (check, reference) = digits.split_at(2);
        let valid = rf_remainder(reference, check) == Some(1);
        match (valid, TicketNumber::parse(reference)) {
            (true, Ok(ticket)) => hits.push((How::CreditorReference, i, ticket)),
            // Wrong RF check digits around a ticket that checks out: the ticket stands alone.
            (false, Ok(ticket)) => hits.push((How::Exact, i, ticket)),
            (_, Err(TicketError::CheckDigit)) => near.push((i, reference.to_owned())),
            (_, Err(_)) => {}
        }
        taken[i..end].fill(true);
    }

    let mut i = 0;
    while i < chars.len() {
        if taken[i] || !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        let (digits, count, end) = digit_run(&chars, &taken, start);
        if count == TICKET_DIGITS {
            match TicketNumber::parse(&digits) {
                Ok(ticket) => hits.push((How::Exact, start, ticket)),
                Err(TicketError::CheckDigit) => near.push((start, digits)),
                Err(_) => {}
            }
        } else if (TICKET_DIGITS + 1..=MAX_RUN_DIGITS).contains(&count) {
            for w in 0..=count - TICKET_DIGITS {
                if let Ok(ticket) = TicketNumber::parse(&digits[w..w + TICKET_DIGITS]) {
                    // A run spans at least as many characters as it has digits, so
                    // `start + w` stays inside it and keeps text order across runs.
                    hits.push((How::Window, start + w, ticket));
                }
            }
        }
        i = end;
    }

    hits.sort_by_key(|(how, at, _)| (*how, *at));
    let mut seen = HashSet::new();
    let candidates = hits
        .into_iter()
        .filter(|(_, _, ticket)| seen.insert(ticket.clone()))
        .map(|(how, _, ticket)| Candidate { ticket, how })
        .collect();
    near.sort_by_key(|(at, _)| *at);
    let mut seen = HashSet::new();
    let near_misses = near.into_iter().filter(|(_, d)| seen.insert(d.clone())).map(|(_, d)| d).collect();
    Found { candidates, near_misses }
}

/// The lines, trimmed (banks pad fixed-width lines with spaces) and joined with `\n`, cut at
/// [`MAX_INPUT_CHARS`].
fn join_lines(texts: &[&str]) -> Vec<char> {
    let mut chars = Vec::new();
    for (n, line) in texts.iter().enumerate() {
        let sep = (n > 0).then_some('\n');
        for c in sep.into_iter().chain(line.trim().chars()) {
            if chars.len() == MAX_INPUT_CHARS {
                return chars;
            }
            chars.push(c);
        }
    }
    chars
}

/// The digit run starting at the digit `chars[start]`: its digits (at most
/// [`MAX_RUN_DIGITS`] kept), how many digits it has, and the index just past its last digit.
fn digit_run(chars: &[char], taken: &[bool], start: usize) -> (String, usize, usize) {
    let free_digit = |k: usize| k < chars.len() && !taken[k] && chars[k].is_ascii_digit();
    let mut digits = String::new();
    let mut count = 0;
    let mut j = start;
    loop {
        while free_digit(j) {
            count += 1;
            if count <= MAX_RUN_DIGITS {
                digits.push(chars[j]);
            }
            j += 1;
        }
        let mut k = j;
        while k < chars.len() && k - j <= MAX_SEPARATORS && !taken[k] && is_separator(chars[k]) {
            k += 1;
        }
        if (1..=MAX_SEPARATORS).contains(&(k - j)) && free_digit(k) {
            j = k;
        } else {
            return (digits, count, j);
        }
    }
}

/// If a creditor reference carrying exactly 12 digits starts at `i` (`RF`/`rf` not preceded
/// by a letter or digit, then 2 check digits and 12 reference digits, runs of at most
/// [`MAX_SEPARATORS`] separators allowed anywhere after `RF`, not followed directly by a
/// letter or digit): its 14 digits and the index just past them.
fn creditor_reference_at(chars: &[char], i: usize) -> Option<(String, usize)> {
    let starts = chars.get(i)?.eq_ignore_ascii_case(&'r')
        && chars.get(i + 1)?.eq_ignore_ascii_case(&'f')
        && (i == 0 || !chars[i - 1].is_alphanumeric());
    if !starts {
        return None;
    }
    let mut digits = String::with_capacity(2 + TICKET_DIGITS);
    let mut gap = 0;
    let mut j = i + 2;
    while digits.len() < 2 + TICKET_DIGITS {
        let c = *chars.get(j)?;
        if c.is_ascii_digit() {
            digits.push(c);
            gap = 0;
        } else if is_separator(c) && gap < MAX_SEPARATORS {
            gap += 1;
        } else {
            return None;
        }
        j += 1;
    }
    if chars.get(j).is_some_and(|c| c.is_alphanumeric()) {
        return None;
    }
    Some((digits, j))
}

/// ISO 7064 MOD 97-10 remainder of `reference` + `RF` + `check`, letters counting as two
/// digits (A = 10 … Z = 35, either case); `None` for any other character.
fn rf_remainder(reference: &str, check: &str) -> Option<u32> {
    let mut rem = 0u32;
    for c in reference.chars().chain("RF".chars()).chain(check.chars()) {
        let v = c.to_digit(36)?;
        rem = if v < 10 { (rem * 10 + v) % 97 } else { (rem * 100 + v) % 97 };
    }
    Some(rem)
}

/// The ISO 11649 check digits for a reference (moved `RF00` to the end, 98 − remainder).
fn rf_check_digits(reference: &str) -> Option<u32> {
    Some(98 - rf_remainder(reference, "00")?)
}

/// Whether `s` (spaces allowed, any case) is a valid ISO 11649 creditor reference: `RF`, two
/// check digits, 1 to 21 letters or digits, the mod-97 remainder 1.
#[cfg(test)]
fn is_valid_rf(s: &str) -> bool {
    let compact: String = s.chars().filter(|c| *c != ' ').collect();
    let (Some(head), Some(reference)) = (compact.get(..4), compact.get(4..)) else {
        return false;
    };
    head[..2].eq_ignore_ascii_case("RF")
        && head[2..].bytes().all(|b| b.is_ascii_digit())
        && (1..=21).contains(&reference.len())
        && reference.bytes().all(|b| b.is_ascii_alphanumeric())
        && rf_remainder(reference, &head[2..]) == Some(1)
}

/// The ISO 11649 creditor reference for a ticket: `RFkk` and the 12 digits, 16 characters,
/// for the structured remittance field (`RF` + check digits over the ticket's digits).
pub fn creditor_reference(ticket: &TicketNumber) -> String {
    let check = rf_check_digits(ticket.digits()).expect("a ticket number is digits only");
    format!("RF{check:02}{}", ticket.digits())
}

/// [`creditor_reference`] in groups of four for printing: `RFkk dddd dddd dddd`.
pub fn creditor_reference_grouped(ticket: &TicketNumber) -> String {
    let compact = creditor_reference(ticket);
    let groups: Vec<&str> = (0..compact.len()).step_by(4).map(|at| &compact[at..(at + 4).min(compact.len())]).collect();
    groups.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket(prefix: u16, counter: u32) -> TicketNumber {
        TicketNumber::issue(prefix, counter).expect("in range")
    }

    /// 0001-0000-0120: device 1, counter 12 (its Damm check digit is 0).
    fn t1() -> TicketNumber {
        ticket(1, 12)
    }

    fn exact(t: &TicketNumber) -> Candidate {
        Candidate { ticket: t.clone(), how: How::Exact }
    }

    fn find(text: &str) -> Found {
        find_tickets(&[text])
    }

    #[test]
    fn the_example_ticket_is_what_we_think() {
        assert_eq!(t1().grouped(), "0001-0000-0120");
        // The typos used below really fail the check digit.
        for typo in ["000100000127", "000100000128"] {
            assert_eq!(TicketNumber::parse(typo), Err(TicketError::CheckDigit));
        }
    }

    #[test]
    fn every_printed_format_is_found_exactly() {
        let t = t1();
        for text in [
            "Ticket 0001-0000-0120",
            "Az. 0001 0000 0120",
            "000100000120",
            "0001.0000.0120",
            "0001/0000/0120",
            "0001_0000_0120",
            "0001:0000:0120",
            "0001 - 0000 - 0120",
            "0001\t0000\t0120",
            "ticket nr. 0001-0000-0120 verwarnung",
            "VERWARNGELD0001-0000-0120DANKE",
            "Kennzeichen weg, Ticket:000100000120.",
            "0001 0000 0120, Rechnung 4711",
        ] {
            let found = find(text);
            assert_eq!(found.candidates, vec![exact(&t)], "{text}");
            assert!(found.near_misses.is_empty(), "{text}");
        }
    }

    #[test]
    fn a_number_split_over_two_lines_is_found() {
        let t = t1();
        for lines in [
            ["Verwarnung Az. 0001 0000", "0120 danke"],
            ["Verwarnung Az. 0001 0000          ", "     0120"],
            ["Verwarnung Az. 0001-", "0000-0120"],
            ["Verwarnung Az. 000100", "000120"],
        ] {
            assert_eq!(find_tickets(&lines).candidates, vec![exact(&t)], "{lines:?}");
        }
        // A line break is a separator like any other: with three more it is too long a gap.
        assert!(find_tickets(&["0001 0000 ---", "0120"]).candidates.is_empty());
    }

    #[test]
    fn wrong_check_digit_is_a_near_miss_not_a_candidate() {
        for text in ["Ticket 0001-0000-0127", "0001 0000 0128 danke"] {
            let found = find(text);
            assert!(found.candidates.is_empty(), "{text}");
            assert_eq!(found.near_misses.len(), 1, "{text}");
            assert!(found.near_misses[0].bytes().all(|b| b.is_ascii_digit()) && found.near_misses[0].len() == 12);
        }
        assert_eq!(find("Herr Max Mustermann, Ticket 0001-0000-0127").near_misses, vec!["000100000127"]);
        // Repeated typos are reported once, in text order.
        let found = find_tickets(&["0001 0000 0128, 0001 0000 0127", "nochmal 0001-0000-0128"]);
        assert_eq!(found.near_misses, vec!["000100000128", "000100000127"]);
    }

    #[test]
    fn two_different_tickets_come_in_text_order() {
        let (a, b) = (t1(), ticket(4242, 1_234_567));
        let text = format!("Tickets {} und {}", a.grouped(), b.grouped());
        assert_eq!(find(&text).candidates, vec![exact(&a), exact(&b)]);
        let text = format!("Tickets {}, {}", b.digits(), a.grouped().replace('-', " "));
        assert_eq!(find(&text).candidates, vec![exact(&b), exact(&a)]);
        // The same ticket twice is one candidate.
        let text = format!("{}, {}", a.grouped(), a.digits());
        assert_eq!(find(&text).candidates, vec![exact(&a)]);
    }

    #[test]
    fn candidates_come_strongest_first() {
        let (a, b, c) = (t1(), ticket(4242, 1_234_567), ticket(77, 9_999_999));
        // A digit in front of b that does not itself start a valid window, so b is the only
        // window.
        let lead = (0..10)
            .map(|d| format!("{d}"))
            .find(|d| TicketNumber::parse(&format!("{d}{}", &b.digits()[..11])).is_err())
            .expect("some digit");
        let text = format!("{lead}{}, {}, {}", b.digits(), a.grouped(), creditor_reference_grouped(&c));
        let found = find(&text);
        let want = vec![
            Candidate { ticket: c.clone(), how: How::CreditorReference },
            exact(&a),
            Candidate { ticket: b, how: How::Window },
        ];
        assert_eq!(found.candidates, want, "{text}");
        // Found both ways, a ticket is listed once, in its strongest form.
        let text = format!("{} {}", c.grouped(), creditor_reference(&c));
        assert_eq!(find(&text).candidates, vec![Candidate { ticket: c, how: How::CreditorReference }]);
    }

    #[test]
    fn iban_digits_give_no_exact_candidate() {
        let found = find("IBAN DE89 3704 0044 0532 0130 00");
        assert!(found.candidates.iter().all(|c| c.how == How::Window), "{found:?}");
        assert!(found.near_misses.is_empty());
        // This IBAN happens to hold no valid 12-digit window at all.
        assert!(found.candidates.is_empty());
        let found = find("IBAN DE89 3704 0044 0532 0130 00, Ticket 0001 0000 0120");
        assert_eq!(found.candidates, vec![exact(&t1())]);
    }

    #[test]
    fn dates_and_short_numbers_are_not_tickets() {
        for text in ["02.12.2026", "Zahlung vom 02.12.2026 Rechnung 4711-0815", "12:30", "35,00 EUR"] {
            assert_eq!(find(text), Found::default(), "{text}");
        }
        assert_eq!(find("Ticket 0001-0000-0120 vom 02.12.2026").candidates, vec![exact(&t1())]);
        // Glued to a date by a single space, the ticket is still found, as a window.
        let found = find("0001-0000-0120 02.12.2026");
        assert_eq!(found.candidates.first(), Some(&Candidate { ticket: t1(), how: How::Window }));
    }

    #[test]
    fn long_gaps_and_other_punctuation_end_a_number() {
        for text in ["0001    0000 0120", "0001,0000,0120", "0001+0000+0120", "0001 0000 x 0120"] {
            assert_eq!(find(text), Found::default(), "{text}");
        }
    }

    #[test]
    fn long_runs_give_windows_up_to_the_cap() {
        let t = t1();
        let run40 = format!("{}{}", "9".repeat(28), t.digits());
        let found = find(&run40);
        assert!(found.candidates.contains(&Candidate { ticket: t.clone(), how: How::Window }));
        assert!(found.near_misses.is_empty());
        let run41 = format!("9{run40}");
        assert_eq!(find(&run41), Found::default());
    }

    #[test]
    fn only_the_first_ten_thousand_characters_are_read() {
        let t = t1();
        let filler = "x".repeat(MAX_INPUT_CHARS - 20);
        assert_eq!(find_tickets(&[&filler, &t.grouped()]).candidates, vec![exact(&t)]);
        let filler = "x".repeat(MAX_INPUT_CHARS);
        assert_eq!(find_tickets(&[&filler, &t.grouped()]), Found::default());
        // Hostile input of a megabyte of digits and separators returns promptly.
        let hostile = "1 2-3/4.".repeat(125_000);
        let lines = vec![hostile.as_str(); 100];
        assert_eq!(find_tickets(&lines), Found::default(), "one run of thousands of digits is ignored");
        let rf_spam = "RF18 ".repeat(200_000);
        assert_eq!(find(&rf_spam), Found::default());
    }

    /// ISO 11649 examples: "RF18 5390 0754 7034" (the Wikipedia "Creditor Reference"
    /// article; an early revision printed it as "RF68 …", which does not check), "RF712348231"
    /// (XMLdation's RF Creditor Reference page), "RF45G72UUR", "RF6518K5" and
    /// "RF48 5000056789012345" (mobilefish.com's creditor reference page). Computed, not
    /// trusted: "RF18 0000 0000 0000 0000 0000 0" and "RF71 4300 0000 0000 0000 0000 0" do
    /// not check (remainders 15 and 17); an all-zero reference has check digits 04.
    #[test]
    fn creditor_reference_check_digits_match_published_examples() {
        assert_eq!(rf_check_digits("539007547034"), Some(18));
        assert_eq!(rf_check_digits("2348231"), Some(71));
        assert_eq!(rf_check_digits("G72UUR"), Some(45));
        assert_eq!(rf_check_digits("18K5"), Some(65));
        assert_eq!(rf_check_digits("5000056789012345"), Some(48));
        assert_eq!(rf_check_digits(&"0".repeat(21)), Some(4));
        for valid in ["RF18 5390 0754 7034", "RF18539007547034", "rf18 5390 0754 7034", "RF712348231", "RF45G72UUR"] {
            assert!(is_valid_rf(valid), "{valid}");
        }
        for valid in ["RF6518K5", "RF48 5000056789012345", "RF04 0000 0000 0000 0000 0000 0"] {
            assert!(is_valid_rf(valid), "{valid}");
        }
        for invalid in [
            "RF68 5390 0754 7034",
            "RF18 5390 0754 7043",
            "RF18 0000 0000 0000 0000 0000 0",
            "RF71 4300 0000 0000 0000 0000 0",
            "RF18",
            "RF1",
            "XX18 5390 0754 7034",
            "RF18 5390 0754 7034 0000 0000 00",
        ] {
            assert!(!is_valid_rf(invalid), "{invalid}");
        }
    }

    #[test]
    fn creditor_reference_is_printed_and_found_again() {
        let t = t1();
        let rf = creditor_reference(&t);
        assert!(rf.starts_with("RF") && rf.ends_with(t.digits()) && rf.len() == 16, "{rf}");
        assert!(is_valid_rf(&rf));
        let grouped = creditor_reference_grouped(&t);
        assert_eq!(grouped.replace(' ', ""), rf);
        assert_eq!(grouped.len(), 19);
        assert!(grouped.split(' ').all(|g| g.len() == 4), "{grouped}");
        let want = vec![Candidate { ticket: t.clone(), how: How::CreditorReference }];
        for text in [
            rf.clone(),
            grouped.clone(),
            grouped.to_lowercase(),
            format!("Verwarnung {grouped} vielen Dank"),
            format!("Ref:{rf}."),
            format!("RF {} {}", &rf[2..4], t.grouped()),
        ] {
            assert_eq!(find(&text).candidates, want, "{text}");
        }
        let (first, second) = grouped.split_at(9);
        assert_eq!(find_tickets(&[&format!("Zahlung {first}"), second]).candidates, want);
    }

    #[test]
    fn creditor_reference_with_wrong_check_digits_falls_back_to_the_ticket() {
        let t = t1();
        let good = creditor_reference(&t);
        let bad_check = if &good[2..4] == "00" { "01" } else { "00" };
        let text = format!("RF{bad_check} {}", t.grouped());
        assert_eq!(find(&text).candidates, vec![exact(&t)], "{text}");
        // A typo in the ticket digits breaks both checks: a near miss, and the RF check digits
        // do not leak into a window.
        let typo = format!("{} 0001 0000 0127", &creditor_reference_grouped(&t)[..4]);
        let found = find(&typo);
        assert!(found.candidates.is_empty(), "{typo}: {found:?}");
        assert_eq!(found.near_misses, vec!["000100000127"]);
    }

    #[test]
    fn rf_inside_a_word_is_not_a_creditor_reference() {
        let t = t1();
        let rf = creditor_reference(&t);
        let text = format!("X{rf}");
        // Read as plain digits: "kk" plus 12 digits is a 14-digit run.
        let found = find(&text);
        assert!(found.candidates.iter().all(|c| c.how == How::Window), "{text}");
        assert!(found.candidates.contains(&Candidate { ticket: t, how: How::Window }), "{text}");
    }

    /// A small deterministic generator (xorshift64*), standing in for proptest.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
            &items[self.below(items.len() as u64) as usize]
        }
    }

    #[test]
    fn any_issued_ticket_with_separators_anywhere_is_found() {
        const SEPARATORS: [char; 8] = [' ', ' ', '-', '/', '.', '_', ':', '\t'];
        const BEFORE: [&str; 5] = ["", "Ticket ", "Az. ", "Verwarnung Nr:", "Kennz. M-AB 123, Ticket "];
        const AFTER: [&str; 5] = ["", " danke", ", 35,00 EUR", "!", " vom 02.12.2026, M. Muster"];
        let mut rng = Rng(0x0F1E_1D5E_A1C0_FFEE);
        let mut split_over_lines = 0;
        for round in 0..3000 {
            let prefix = rng.below(10_000) as u16;
            let counter = 1 + rng.below(9_999_999) as u32;
            let t = ticket(prefix, counter);
            let as_rf = round % 4 == 3;
            let body = if as_rf { creditor_reference(&t) } else { t.digits().to_owned() };
            let mut text = String::from(*rng.pick(&BEFORE));
            let mut line_break_at = None;
            for (n, c) in body.chars().enumerate() {
                let c = if as_rf && rng.below(2) == 0 { c.to_ascii_lowercase() } else { c };
                text.push(c);
                if n + 1 < body.len() && (!as_rf || n >= 1) {
                    let gap = rng.below(4) as usize;
                    for _ in 0..gap {
                        text.push(*rng.pick(&SEPARATORS));
                    }
                    if gap <= 2 && line_break_at.is_none() && rng.below(12) == 0 {
                        line_break_at = Some(text.len());
                    }
                }
            }
            let after = *rng.pick(&AFTER);
            text.push_str(after);
            let found = match line_break_at {
                Some(at) => {
                    split_over_lines += 1;
                    find_tickets(&[&text[..at], &text[at..]])
                }
                None => find_tickets(&[&text]),
            };
            let how = found.candidates.iter().find(|c| c.ticket == t).map(|c| c.how);
            let want = if as_rf { How::CreditorReference } else { How::Exact };
            assert_eq!(how, Some(want), "round {round}: {text:?} {line_break_at:?}");
            assert_eq!(found.candidates.first().map(|c| &c.ticket), Some(&t), "{text:?}");
        }
        assert!(split_over_lines > 300, "{split_over_lines} of 3000 split over two lines");
    }
}

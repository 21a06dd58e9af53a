//! The synthetic statement: deterministic numbers, plates, remittance lines and what each
//! transfer is meant to do; and how a phase's time and memory are measured.

use super::*;

// ----- numbers -----

/// SplitMix64: deterministic, so every run books the same statement.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub(crate) fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
    pub(crate) fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len() as u64) as usize]
    }
}

pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The ticket of seeded case `i` (prefix-major, so the primary key grows in insertion order).
pub(crate) fn ticket_of(i: u64, n_cases: u64) -> TicketNumber {
    let per = n_cases.div_ceil(PREFIXES).max(1);
    TicketNumber::issue((1 + i / per) as u16, (1 + i % per) as u32).expect("a ticket in range")
}

/// The amount of seeded case `i`, 30.00 to 100.00 EUR.
pub(crate) fn total_of(i: u64) -> u64 {
    3000 + mix(i ^ 0x7074_6F74_616C) % 7001
}

pub(crate) fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.replace('_', "").parse().ok()).unwrap_or(default)
}

// ----- memory -----

pub(crate) fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// Resets VmHWM to the current RSS (Linux 4.0+); false when the kernel refuses.
pub(crate) fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// CPU time of every thread of this process so far (user + system; USER_HZ is 100 on Linux).
pub(crate) fn cpu_now() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: u64 = after.split_whitespace().skip(11).take(2).filter_map(|v| v.parse::<u64>().ok()).sum();
    Duration::from_millis(ticks * 10)
}

pub(crate) struct Measured {
    pub(crate) time: Duration,
    pub(crate) cpu: Duration,
    pub(crate) rss_start_kb: u64,
    pub(crate) peak_kb: u64,
}

pub(crate) fn measure<T>(peak_resets: bool, f: impl FnOnce() -> T) -> (T, Measured) {
    if peak_resets {
        reset_peak();
    }
    let rss_start_kb = status_kb("VmRSS:");
    let cpu = cpu_now();
    let t = Instant::now();
    let out = f();
    let time = t.elapsed();
    (out, Measured { time, cpu: cpu_now().saturating_sub(cpu), rss_start_kb, peak_kb: status_kb("VmHWM:") })
}

// ----- the statement -----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The notice's amount, in time: paid.
    Exact,
    /// Less: part paid.
    Less,
    /// More: overpaid.
    More,
    /// No ticket number anywhere.
    NoTicket,
    /// A valid ticket number no case has.
    Unknown,
    /// A real case's number with one digit wrong (the check digit catches it).
    BadCheck,
}

/// What the generator meant a transfer to be.
pub(crate) struct Intent {
    pub(crate) kind: Kind,
    pub(crate) ticket: Option<TicketNumber>,
    pub(crate) digits: String,
}

/// The ticket digits written as citizens write them: grouped, compact, spaced, split over two
/// remittance lines, or dotted.
pub(crate) fn remittance(rng: &mut Rng, d: &str, plate: &str) -> Vec<String> {
    let (a, b, c) = (&d[..4], &d[4..8], &d[8..]);
    match rng.below(5) {
        0 => vec![format!("Verwarnung {a}-{b}-{c} Kennz. {plate}")],
        1 => vec![format!("Verwarnungsgeld {d} {plate}")],
        2 => vec![format!("Az. {a} {b} {c} Kennzeichen {plate}")],
        3 => vec![format!("Verwarnung Nr. {a}-{b}"), format!("-{c} Kennz. {plate}")],
        _ => vec![format!("Bussgeld Nr.{a}.{b}.{c} vom 14.11.2026")],
    }
}

pub(crate) fn plate(rng: &mut Rng) -> String {
    let city = rng.pick(&["B", "M", "HH", "K", "F", "S", "DO", "LEV"]);
    let l = |rng: &mut Rng| char::from(b'A' + rng.below(26) as u8);
    format!("{city}-{}{} {}", l(rng), l(rng), 1 + rng.below(9999))
}

/// `n_entries` incoming transfers for cases among `n_cases`: about 70 % the exact amount, 10 %
/// less, 5 % more, 15 % without a usable ticket (none, unknown, wrong check digit). Each case is
/// used at most once when there are enough cases.
pub(crate) fn make_statement(n_entries: u64, n_cases: u64, seed: u64, tag: &str) -> (Vec<Transfer>, Vec<Intent>) {
    let mut rng = Rng(seed);
    let distinct = n_cases >= n_entries;
    // A partial Fisher-Yates shuffle draws distinct cases.
    let mut order: Vec<u32> = if distinct { (0..n_cases as u32).collect() } else { Vec::new() };
    let mut drawn = 0usize;
    let mut draw = |rng: &mut Rng| -> u64 {
        if distinct {
            let j = drawn + rng.below((order.len() - drawn) as u64) as usize;
            order.swap(drawn, j);
            drawn += 1;
            u64::from(order[drawn - 1])
        } else {
            rng.below(n_cases)
        }
    };
    let payers = ["Erika Mustermann", "Max Müller", "Jürgen Weiß", "Anna Schmidt", "Ömer Yılmaz", "Zoë O'Neill"];
    let other = [
        "Miete Dezember Whg 3",
        "Spende Tierheim Musterstadt",
        "Rechnung 4711 vom 12.11.2026",
        "Mitgliedsbeitrag 2026",
        "Kaution Garage 12",
    ];
    let mut transfers = Vec::with_capacity(n_entries as usize);
    let mut intents = Vec::with_capacity(n_entries as usize);
    for i in 0..n_entries {
        let roll = rng.below(100);
        let kind = match roll {
            0..70 => Kind::Exact,
            70..80 => Kind::Less,
            80..85 => Kind::More,
            85..90 => Kind::NoTicket,
            90..95 => Kind::Unknown,
            _ => Kind::BadCheck,
        };
        let plate = plate(&mut rng);
        let (amount, ticket, digits, lines) = match kind {
            Kind::Exact | Kind::Less | Kind::More => {
                let case = draw(&mut rng);
                let total = total_of(case);
                let amount = match kind {
                    Kind::Exact => total,
                    Kind::Less => total / 2 + rng.below(total / 4),
                    _ => total + 100 + rng.below(2000),
                };
                let t = ticket_of(case, n_cases);
                let lines = remittance(&mut rng, t.digits(), &plate);
                (amount, Some(t.clone()), t.digits().to_owned(), lines)
            }
            Kind::NoTicket => (3000 + rng.below(7000), None, String::new(), vec![rng.pick(&other).to_owned()]),
            Kind::Unknown => {
                let t = TicketNumber::issue(9000 + rng.below(999) as u16, 1 + rng.below(9_999_998) as u32)
                    .expect("a ticket in range");
                let lines = remittance(&mut rng, t.digits(), &plate);
                (3000 + rng.below(7000), Some(t.clone()), t.digits().to_owned(), lines)
            }
            Kind::BadCheck => {
                let t = ticket_of(draw(&mut rng), n_cases);
                let mut d = t.digits().as_bytes().to_vec();
                let last = d[11] - b'0';
                d[11] = b'0' + ((u64::from(last) + 1 + rng.below(9)) % 10) as u8;
                let d = String::from_utf8(d).expect("digits");
                let lines = remittance(&mut rng, &d, &plate);
                (3000 + rng.below(7000), None, d, lines)
            }
        };
        let payer = format!("{} {}", rng.pick(&payers), i % 1000);
        let mut t = Transfer::credit(amount, BOOKED_ON, &format!("{tag}{i:08}"), &payer, "");
        t.payer_iban = format!("DE{:02}{:018}", 10 + rng.below(89), rng.below(1_000_000_000_000_000_000));
        t.remittance = lines;
        transfers.push(t);
        intents.push(Intent { kind, ticket, digits });
    }
    (transfers, intents)
}

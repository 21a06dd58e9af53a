//! Where a page may send the browser next: only to this portal's own pages.

/// `next` when it is one of this portal's own pages, else `None`. Only known paths are taken
/// (a prefix check lets `/\t/evil.example` through, which browsers read as `//evil.example`),
/// with a query of plain characters only, so the answer's `Location` is always a valid header.
pub fn local_page(next: &str) -> Option<&str> {
    const PAGES: [&str; 5] = ["/", "/case", "/case/transfer", "/case/receipt", "/case/objection"];
    known_page(next, |path| {
        PAGES.contains(&path)
            || path
                .strip_prefix("/n/")
                .is_some_and(|t| (1..=20).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// `next` when `known` accepts its path (compared whole, never by prefix), with a query of
/// plain characters only; else `None`. The back office uses it with its own pages.
pub fn known_page(next: &str, known: impl Fn(&str) -> bool) -> Option<&str> {
    let (path, query) = next.split_once('?').unwrap_or((next, ""));
    let plain = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_=&.~".contains(&b));
    (known(path) && plain(query)).then_some(next)
}

/// Percent-encodes a local path for the `next=` of the language switch.
pub fn url_component(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::local_page;

    /// ASVS 5.1.5 (redirects only to allowed destinations), found in review: a prefix check let
    /// `/\t/evil.example` through, and control characters made the answer a 500.
    #[test]
    fn only_the_portals_own_pages_are_next() {
        for good in ["/", "/case", "/case/receipt", "/case/objection", "/case/transfer", "/n/123456789012?s=Ab-_9"] {
            assert_eq!(local_page(good), Some(good), "{good}");
        }
        for bad in [
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\nSet-Cookie: x=1",
            "/\0/evil.example",
            "//evil.example",
            "/\\evil.example",
            "https://evil.example/",
            "/case/../../evil",
            "/case?x=<script>",
            "/n/12ab",
            "/n/",
            "/office/",
            "",
            "case",
        ] {
            assert_eq!(local_page(bad), None, "{bad:?}");
        }
    }
}

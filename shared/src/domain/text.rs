//! Text people type: names, contacts, ticket messages, reasons. One rule for all of it: no
//! control characters (a message keeps its line breaks and tabs), no bidirectional overrides or
//! isolates (which make text read other than it is stored: `gpj.exe` shown as `exe.jpg`), and
//! never a value that looks blank (spaces, zero-width and other invisible characters only).

use super::RuleViolation;

/// Characters that reorder the text around them when shown: the embeddings and overrides
/// (U+202A to U+202E) and the isolates (U+2066 to U+2069). The direction marks (U+200E,
/// U+200F, U+061C) are kept: right-to-left names need them, and they reorder nothing.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that show nothing: white space, the default-ignorable code points (zero-width
/// characters, joiners, variation selectors, tags, fillers), and the blank Braille pattern.
fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{2800}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E0FFF}'
        )
}

/// Whether `text` may be stored: no control character but, where `lines`, line breaks and
/// tabs (and the line and paragraph separators, U+2028 and U+2029); no bidirectional control.
pub fn is_clean(text: &str, lines: bool) -> bool {
    text.chars().all(|c| {
        let breaks = matches!(c, '\n' | '\r' | '\t' | '\u{2028}' | '\u{2029}');
        let control = c.is_control() || matches!(c, '\u{2028}' | '\u{2029}');
        (!control || (lines && breaks)) && !is_bidi_control(c)
    })
}

/// Whether `text` shows nothing.
pub fn looks_blank(text: &str) -> bool {
    text.chars().all(is_invisible)
}

/// A one-line value of `field`: trimmed, 1 to `max` characters, clean, not blank-looking.
pub fn line(value: &str, field: &str, max: usize) -> Result<String, RuleViolation> {
    checked(value, field, max, false)
}

/// A text of `field` that may hold several lines: as `line`, line breaks and tabs kept.
pub fn paragraphs(value: &str, field: &str, max: usize) -> Result<String, RuleViolation> {
    checked(value, field, max, true)
}

fn checked(value: &str, field: &str, max: usize, lines: bool) -> Result<String, RuleViolation> {
    let trimmed = value.trim();
    if looks_blank(trimmed) || trimmed.chars().count() > max {
        return Err(RuleViolation::new(format!("{field} must be 1 to {max} characters, not all blank")));
    }
    // The whole value: trimming takes line breaks and other controls off its ends.
    if !is_clean(value, lines) {
        return Err(RuleViolation::new(format!(
            "{field} must hold no control characters or bidirectional overrides"
        )));
    }
    Ok(trimmed.to_owned())
}

/// Is `name` a host name: dot-separated labels of letters, digits and inner hyphens, at least
/// two, the last not numeric, at most 253 characters (a trailing dot allowed)?
pub fn is_host_name(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    let labels: Vec<&str> = name.split('.').collect();
    let label_ok = |l: &&str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    name.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(label_ok)
        && !labels.last().is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
}

/// Longest address accepted (RFC 5321's path limit).
pub const MAX_EMAIL: usize = 254;

/// `local@domain.tld` in printable ASCII, without spaces, quotes or angle brackets (nothing a
/// mail header could be split or spoofed with), at most `MAX_EMAIL` characters.
pub fn is_email(address: &str) -> bool {
    let Some((local, domain)) = address.split_once('@') else { return false };
    let allowed = |c: char| c.is_ascii_graphic() && !"\"'<>()[]\\,;:@".contains(c);
    let labels: Vec<&str> = domain.split('.').collect();
    address.len() <= MAX_EMAIL
        && (1..=64).contains(&local.len())
        && local.chars().all(allowed)
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && labels.len() >= 2
        && labels.iter().all(|label| {
            (1..=63).contains(&label.len())
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_refuses_control_characters_bidi_overrides_and_what_only_looks_blank() {
        assert_eq!(line("  VPS Start ", "name", 100).unwrap(), "VPS Start");
        for bad in ["a\0b", "a\u{202E}gpj.exe", "\u{2066}x", "\u{200B}\u{200D}", " \u{FEFF} ", "", "a\nb"] {
            assert!(line(bad, "name", 100).is_err(), "{bad:?}");
        }
        assert_eq!(paragraphs("line one\n\tline two", "message", 100).unwrap(), "line one\n\tline two");
        assert!(paragraphs("bell\u{7}", "message", 100).is_err());
        assert!(paragraphs("\n\u{200B}\n", "message", 100).is_err());
        assert!(line("Ünïcödé – 名前", "name", 100).is_ok());
        assert!(
            line("\u{05E9}\u{05DC}\u{05D5}\u{05DD} \u{200F}Ltd", "name", 100).is_ok(),
            "a direction mark"
        );
        for blank in ["\u{2800}\u{2800}", "\u{FE0F}", "\u{E0020}\u{E0041}", "\u{206A}", "\u{1D173}"] {
            assert!(line(blank, "name", 100).is_err(), "{blank:?} shows nothing");
        }
        for edged in ["\nVPS", "VPS\u{85}", "VPS\u{2028}Pro"] {
            assert!(line(edged, "name", 100).is_err(), "{edged:?}");
        }
        assert!(paragraphs("one\u{2028}two", "message", 100).is_ok());
        assert!(line("abcd", "name", 3).is_err());
    }
}

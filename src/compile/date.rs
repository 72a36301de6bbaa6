//! Dates as Elasticsearch reads them from `date` / `date_nanos` fields and
//! from query literals.
//!
//! The default format is `strict_date_optional_time||epoch_millis`: an
//! ISO-8601 date with optional time, fraction (up to nanoseconds) and zone
//! (UTC when absent), or a number of milliseconds since the epoch. Mappings
//! may name other formats with Java-style patterns (`dd-MM-yyyy`); the
//! common letters are supported.
//!
//! A date string names a span of time as long as its precision:
//! `2017-08-30T20:47:33Z` covers the whole second. Elasticsearch rounds a
//! range's upper bound up to the end of that span, so a term query (which is
//! a range from the value to itself) matches every instant in the second.
//! [`Instant`] therefore keeps both ends.

/// A point in time as parsed, with the span its precision covers:
/// `lo..=hi` in nanoseconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Instant {
    /// The first nanosecond the text can mean.
    pub lo: i64,
    /// The last nanosecond the text can mean.
    pub hi: i64,
}

const NANOS_PER_SEC: i64 = 1_000_000_000;
const NANOS_PER_MILLI: i64 = 1_000_000;

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month, day) of a day number.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// The fields a date text can set; missing ones take their minimum (lower
/// bound) or maximum (upper bound).
#[derive(Debug, Default, Clone, Copy)]
struct Parts {
    year: Option<i64>,
    month: Option<u32>,
    day: Option<u32>,
    hour: Option<u32>,
    minute: Option<u32>,
    second: Option<u32>,
    /// Fraction of a second in nanoseconds, and how many digits were given.
    nanos: Option<(u32, u32)>,
    /// Offset from UTC in seconds.
    offset: i64,
}

impl Parts {
    fn instant(&self) -> Option<Instant> {
        let year = self.year?;
        let (m_lo, m_hi) = self.month.map_or((1, 12), |m| (m, m));
        if !(1..=12).contains(&m_lo) {
            return None;
        }
        let (d_lo, d_hi) = match self.day {
            Some(d) if d >= 1 && d <= days_in_month(year, m_lo) => (d, d),
            Some(_) => return None,
            None => (1, days_in_month(year, m_hi)),
        };
        let range = |v: Option<u32>, max: u32| -> Option<(u32, u32)> {
            match v {
                Some(x) if x <= max => Some((x, x)),
                Some(_) => None,
                None => Some((0, max)),
            }
        };
        let (h_lo, h_hi) = range(self.hour, 23)?;
        let (mi_lo, mi_hi) = range(self.minute, 59)?;
        let (s_lo, s_hi) = range(self.second, 59)?;
        let (n_lo, n_hi) = match self.nanos {
            Some((n, digits)) => {
                let span = 10u32.pow(9 - digits.min(9)) - 1;
                (n, n + span)
            }
            None => (0, 999_999_999),
        };
        // Nanoseconds since the epoch reach only the years 1677 to 2262:
        // outside them, no instant.
        let at = |m, d, h, mi, s, n: u32| -> Option<i64> {
            let days = days_from_civil(year, m, d);
            let secs = days * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s)
                - self.offset;
            secs.checked_mul(NANOS_PER_SEC)?.checked_add(i64::from(n))
        };
        Some(Instant {
            lo: at(m_lo, d_lo, h_lo, mi_lo, s_lo, n_lo)?,
            hi: at(m_hi, d_hi, h_hi, mi_hi, s_hi, n_hi)?,
        })
    }
}

/// A cursor over the text being parsed.
struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn eat(&mut self, c: u8) -> bool {
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// `min` to `max` ASCII digits, as a number and how many there were
    /// (`None` for too few, or too many for a `u64`).
    fn digits(&mut self, min: usize, max: usize) -> Option<(u64, usize)> {
        let start = self.i;
        let mut value: u64 = 0;
        while self.i < self.s.len() && self.i - start < max && self.s[self.i].is_ascii_digit() {
            value = value
                .checked_mul(10)?
                .checked_add(u64::from(self.s[self.i] - b'0'))?;
            self.i += 1;
        }
        let n = self.i - start;
        if n < min {
            self.i = start;
            return None;
        }
        Some((value, n))
    }

    fn done(&self) -> bool {
        self.i == self.s.len()
    }

    /// `Z`, `+hh`, `+hhmm`, `+hh:mm`, or `-` forms.
    fn zone(&mut self) -> Option<i64> {
        if self.eat(b'Z') || self.eat(b'z') {
            return Some(0);
        }
        let sign = if self.eat(b'+') {
            1
        } else if self.eat(b'-') {
            -1
        } else {
            return None;
        };
        let (h, _) = self.digits(2, 2)?;
        self.eat(b':');
        let m = self.digits(2, 2).map_or(0, |(m, _)| m);
        if h > 23 || m > 59 {
            return None;
        }
        Some(sign * (h as i64 * 3600 + m as i64 * 60))
    }
}

/// Parses `strict_date_optional_time`: `yyyy[-MM[-dd]][THH[:mm[:ss[.f]]]][zone]`.
pub fn parse_iso(text: &str) -> Option<Instant> {
    let mut c = Cursor {
        s: text.trim().as_bytes(),
        i: 0,
    };
    let mut p = Parts {
        year: Some(c.digits(4, 4)?.0 as i64),
        ..Parts::default()
    };
    if c.eat(b'-') {
        p.month = Some(c.digits(2, 2)?.0 as u32);
        if c.eat(b'-') {
            p.day = Some(c.digits(2, 2)?.0 as u32);
        }
    }
    if c.eat(b'T') || c.eat(b't') {
        p.hour = Some(c.digits(2, 2)?.0 as u32);
        if c.eat(b':') {
            p.minute = Some(c.digits(2, 2)?.0 as u32);
            if c.eat(b':') {
                p.second = Some(c.digits(2, 2)?.0 as u32);
                if c.eat(b'.') || c.eat(b',') {
                    let (f, n) = c.digits(1, 9)?;
                    p.nanos = Some(((f * 10u64.pow(9 - n as u32)) as u32, n as u32));
                }
            }
        }
        if !c.done() {
            p.offset = c.zone()?;
        }
    }
    if !c.done() {
        return None;
    }
    p.instant()
}

/// Reads an epoch number written in decimal: an optional `-`, up to 19
/// digits, then optionally `.` and at most `max_fraction` digits, in units
/// of `unit` nanoseconds. The digits are read as text, never through a
/// float, so a fraction keeps every nanosecond it names
/// (`131509374294.365140` milliseconds is 131509374294365140 nanoseconds).
/// Returns the instant and how many fraction digits were given.
fn parse_epoch(text: &str, unit: i64, max_fraction: usize) -> Option<(i64, usize)> {
    let t = text.trim();
    let (negative, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let (whole, fraction) = match t.split_once('.') {
        Some((w, f)) => (w, f),
        None => (t, ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || whole.len() > 19
        || !digits(whole)
        || fraction.len() > max_fraction
        || !digits(fraction)
    {
        return None;
    }
    let mut nanos = whole.parse::<i64>().ok()?.checked_mul(unit)?;
    // Each fraction digit is a tenth of the one before it, down to whole
    // nanoseconds (`max_fraction` never asks for less).
    let mut place = unit;
    for b in fraction.bytes() {
        place /= 10;
        nanos = nanos.checked_add(i64::from(b - b'0') * place)?;
    }
    Some((if negative { -nanos } else { nanos }, fraction.len()))
}

/// Parses `epoch_millis`: a whole number of milliseconds, or one with a
/// fraction of up to six digits (nanoseconds), as Elasticsearch reads it.
pub fn parse_epoch_millis(text: &str) -> Option<Instant> {
    let (nanos, _) = parse_epoch(text, NANOS_PER_MILLI, 6)?;
    Some(Instant {
        lo: nanos,
        hi: nanos,
    })
}

/// Parses `epoch_second`: a whole number of seconds (the whole second, as
/// a range), or one with a fraction of up to nine digits.
pub fn parse_epoch_second(text: &str) -> Option<Instant> {
    let (lo, digits) = parse_epoch(text, NANOS_PER_SEC, 9)?;
    let span = 10i64.pow(9 - digits as u32) - 1;
    Some(Instant {
        lo,
        hi: lo.checked_add(span)?,
    })
}

/// A JSON number on a date field, from its text: epoch milliseconds, exact
/// to the nanosecond when written in decimal. Exponent forms (`1.5e12`)
/// are read as a double, which holds about microseconds.
pub fn epoch_millis_number(text: &str) -> Option<i64> {
    if let Some(t) = parse_epoch_millis(text) {
        return Some(t.lo);
    }
    let f: f64 = text.trim().parse().ok()?;
    let nanos = (f * NANOS_PER_MILLI as f64).round();
    // Past the nanosecond range there is no instant.
    (f.is_finite() && nanos.abs() < i64::MAX as f64).then_some(nanos as i64)
}

/// The default date format: ISO-8601 first, then epoch milliseconds.
pub fn parse_default(text: &str) -> Option<Instant> {
    parse_iso(text).or_else(|| parse_epoch_millis(text))
}

/// A date format from a mapping: `||`-separated alternatives, each a named
/// built-in format or a Java-style pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateFormat {
    alternatives: Vec<Alt>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Alt {
    Iso,
    EpochMillis,
    EpochSecond,
    Pattern(Vec<Token>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    Fraction(usize),
    Zone,
    Lit(char),
}

impl DateFormat {
    /// Reads a mapping's `format` value, e.g. `dd-MM-yyyy||epoch_millis`.
    pub fn parse(spec: &str) -> Option<DateFormat> {
        let mut alternatives = Vec::new();
        for alt in spec.split("||") {
            let alt = alt.trim();
            alternatives.push(match alt {
                "strict_date_optional_time"
                | "date_optional_time"
                | "strict_date_optional_time_nanos"
                | "strict_date_time"
                | "date_time"
                | "strict_date"
                | "date"
                | "basic_date" => Alt::Iso,
                "epoch_millis" => Alt::EpochMillis,
                "epoch_second" => Alt::EpochSecond,
                pattern => Alt::Pattern(tokens(pattern)?),
            });
        }
        Some(DateFormat { alternatives })
    }

    /// Parses `text` with the first alternative that accepts it.
    pub fn read(&self, text: &str) -> Option<Instant> {
        self.alternatives.iter().find_map(|alt| match alt {
            Alt::Iso => parse_iso(text),
            Alt::EpochMillis => parse_epoch_millis(text),
            Alt::EpochSecond => parse_epoch_second(text),
            Alt::Pattern(tokens) => read_pattern(tokens, text),
        })
    }
}

fn tokens(pattern: &str) -> Option<Vec<Token>> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let run = chars[i..].iter().take_while(|&&x| x == c).count();
        match c {
            'y' | 'u' => out.push(Token::Year),
            'M' => out.push(Token::Month),
            'd' => out.push(Token::Day),
            'H' => out.push(Token::Hour),
            'm' => out.push(Token::Minute),
            's' => out.push(Token::Second),
            'S' => out.push(Token::Fraction(run)),
            'Z' | 'X' | 'x' => out.push(Token::Zone),
            '\'' => {
                let end = chars[i + 1..].iter().position(|&x| x == '\'')?;
                out.extend(chars[i + 1..i + 1 + end].iter().map(|&c| Token::Lit(c)));
                i += end + 2;
                continue;
            }
            c if c.is_ascii_alphabetic() => return None,
            c => {
                out.extend(std::iter::repeat_n(Token::Lit(c), run));
            }
        }
        i += run;
    }
    Some(out)
}

fn read_pattern(tokens: &[Token], text: &str) -> Option<Instant> {
    let mut c = Cursor {
        s: text.trim().as_bytes(),
        i: 0,
    };
    let mut p = Parts::default();
    for t in tokens {
        match t {
            Token::Year => p.year = Some(c.digits(1, 9)?.0 as i64),
            Token::Month => p.month = Some(c.digits(1, 2)?.0 as u32),
            Token::Day => p.day = Some(c.digits(1, 2)?.0 as u32),
            Token::Hour => p.hour = Some(c.digits(1, 2)?.0 as u32),
            Token::Minute => p.minute = Some(c.digits(1, 2)?.0 as u32),
            Token::Second => p.second = Some(c.digits(1, 2)?.0 as u32),
            Token::Fraction(n) => {
                // Nanoseconds have nine digits: a fraction is read up to
                // nine, however many the pattern asks for.
                let (f, got) = c.digits(1, (*n).clamp(1, 9))?;
                p.nanos = Some(((f * 10u64.pow(9 - got as u32)) as u32, got as u32));
            }
            Token::Zone => p.offset = c.zone()?,
            Token::Lit(ch) => {
                let mut buf = [0u8; 4];
                for b in ch.encode_utf8(&mut buf).bytes() {
                    if !c.eat(b) {
                        return None;
                    }
                }
            }
        }
    }
    if !c.done() {
        return None;
    }
    p.instant()
}

/// Renders nanoseconds since the epoch as Elasticsearch renders dates:
/// `2017-08-30T20:47:33.123Z` (milliseconds), or with nanoseconds for
/// `date_nanos` when `nanos` is set.
pub fn format_iso(t: i64, nanos: bool) -> String {
    let secs = t.div_euclid(NANOS_PER_SEC);
    let frac = t.rem_euclid(NANOS_PER_SEC);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    let (h, mi, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    if nanos {
        format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{frac:09}Z")
    } else {
        let ms = frac / NANOS_PER_MILLI;
        format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
    }
}

/// Renders nanoseconds since the epoch with at least millisecond digits
/// and up to nanoseconds, trailing zeros past the milliseconds dropped
/// (`1970-01-01T00:00:00.000Z`, `1974-03-03T02:22:54.29436514Z`): how
/// Elasticsearch writes a date value in a response.
pub fn format_iso_key(t: i64) -> String {
    let mut text = format_iso(t, true);
    // Drop the `Z`, trim the fraction to at least three digits, put it back.
    text.pop();
    let keep = text.trim_end_matches('0').len().max(text.len() - 6);
    text.truncate(keep);
    text.push('Z');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = NANOS_PER_SEC;

    #[test]
    fn iso_dates_with_their_precision() {
        let t = parse_iso("2017-08-30T20:47:33Z").unwrap();
        assert_eq!(t.lo, 1_504_126_053 * S);
        assert_eq!(t.hi, 1_504_126_053 * S + S - 1);
        let t = parse_iso("2017-08-30T20:47:33.123Z").unwrap();
        assert_eq!(t.lo, 1_504_126_053 * S + 123_000_000);
        assert_eq!(t.hi, 1_504_126_053 * S + 123_999_999);
        let t = parse_iso("2017-08-30").unwrap();
        assert_eq!(t.hi - t.lo, 86_400 * S - 1);
        let t = parse_iso("2017-08-30T22:47:33+02:00").unwrap();
        assert_eq!(t.lo, 1_504_126_053 * S);
        assert_eq!(parse_iso("1970-01-01T00:00:00.000000001Z").unwrap().lo, 1);
        assert!(parse_iso("2017-02-30").is_none());
        assert!(parse_iso("2017-08-30T25:00:00Z").is_none());
        assert!(parse_iso("hello").is_none());
        assert!(parse_iso("12345").is_none());
    }

    #[test]
    fn epoch_millis_and_default() {
        assert_eq!(
            parse_default("1516116808349").unwrap().lo,
            1_516_116_808_349 * NANOS_PER_MILLI
        );
        assert_eq!(parse_default("1").unwrap().lo, NANOS_PER_MILLI);
        assert_eq!(parse_default("-1").unwrap().lo, -NANOS_PER_MILLI);
        assert!(parse_default("x").is_none());
    }

    #[test]
    fn key_dates_keep_their_precision() {
        assert_eq!(format_iso_key(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            format_iso_key(86_400 * S + 5_000_000),
            "1970-01-02T00:00:00.005Z"
        );
        assert_eq!(
            format_iso_key(1_294_365_140),
            "1970-01-01T00:00:01.29436514Z"
        );
        assert_eq!(format_iso_key(-1), "1969-12-31T23:59:59.999999999Z");
    }

    #[test]
    fn epoch_fractions_keep_every_nanosecond() {
        // Elasticsearch's date_nanos spec data: 12 digits of milliseconds,
        // 6 of fraction.
        assert_eq!(
            parse_epoch_millis("131509374294.365140").unwrap().lo,
            131_509_374_294_365_140
        );
        assert_eq!(
            format_iso(parse_default("131509374294.365140").unwrap().lo, true),
            "1974-03-03T02:22:54.294365140Z"
        );
        assert_eq!(parse_epoch_millis("-1.5").unwrap().lo, -1_500_000);
        assert_eq!(parse_epoch_millis("1.").unwrap().lo, NANOS_PER_MILLI);
        // Past six digits of fraction, or anything but digits: not millis.
        assert!(parse_epoch_millis("1.1234567").is_none());
        assert!(parse_epoch_millis("1e3").is_none());
        assert!(parse_epoch_millis(".5").is_none());
        assert!(parse_epoch_millis("+5").is_none());
        let f = DateFormat::parse("epoch_second").unwrap();
        assert_eq!(f.read("1.000000001").unwrap().lo, S + 1);
        assert_eq!(
            f.read("1.5").unwrap(),
            Instant {
                lo: S + S / 2,
                hi: S + S / 2 + 99_999_999
            }
        );
        assert_eq!(
            f.read("2").unwrap(),
            Instant {
                lo: 2 * S,
                hi: 3 * S - 1
            }
        );
        assert!(f.read("1.0000000001").is_none());
        // JSON numbers: their text, exactly; exponent forms as a double.
        assert_eq!(
            epoch_millis_number("131509374294.365140"),
            Some(131_509_374_294_365_140)
        );
        assert_eq!(epoch_millis_number("1.5e3"), Some(1_500 * NANOS_PER_MILLI));
        assert_eq!(epoch_millis_number("1e300"), None);
    }

    #[test]
    fn mapping_formats() {
        let f = DateFormat::parse("dd-MM-yyyy").unwrap();
        assert_eq!(
            f.read("17-12-2022").unwrap().lo,
            days_from_civil(2022, 12, 17) * 86_400 * S
        );
        assert!(f.read("2022-12-17").is_none());
        let f = DateFormat::parse("yyyy-MM-dd||epoch_millis").unwrap();
        assert!(f.read("2022-12-17").is_some());
        assert_eq!(f.read("1000").unwrap().lo, S);
        let f = DateFormat::parse("yyyy-MM-dd'T'HH:mm:ss.SSSZ").unwrap();
        assert_eq!(
            f.read("1970-01-01T00:00:01.500+0000").unwrap().lo,
            S + S / 2
        );
        // A fraction is read to nine digits (nanoseconds), whatever the
        // pattern asks: more digits do not match, and nothing overflows.
        let f = DateFormat::parse("yyyy-MM-dd HH:mm:ss.SSSSSSSSSSSS").unwrap();
        assert_eq!(
            f.read("1970-01-01 00:00:01.123456789").unwrap().lo,
            S + 123_456_789
        );
        assert!(f.read("1970-01-01 00:00:01.123456789012").is_none());
        let f = DateFormat::parse("yyyy").unwrap();
        assert!(f.read("99999999999999999999999").is_none());
    }

    #[test]
    fn civil_round_trip_and_format() {
        for days in [-719_468, -1, 0, 1, 10_000, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(
            format_iso(1_504_126_053 * S + 123_456_789, false),
            "2017-08-30T20:47:33.123Z"
        );
        assert_eq!(format_iso(0, true), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(format_iso(-1, false), "1969-12-31T23:59:59.999Z");
    }
}

/// Adds `months` to a civil date, clamping the day to the month's length.
fn add_months(y: i64, m: u32, d: u32, months: i64) -> Option<(i64, u32, u32)> {
    let total = y
        .checked_mul(12)?
        .checked_add(i64::from(m) - 1)?
        .checked_add(months)?;
    let (ny, nm) = (total.div_euclid(12), (total.rem_euclid(12) + 1) as u32);
    // Far past the nanosecond range (and days_from_civil's arithmetic).
    if !(-1_000_000..=1_000_000).contains(&ny) {
        return None;
    }
    Some((ny, nm, d.min(days_in_month(ny, nm))))
}

/// Nanoseconds from the epoch to the start of day `days`, plus `nanos`;
/// `None` past the nanosecond range (about 1677 to 2262).
fn at_day(days: i64, nanos: i64) -> Option<i64> {
    days.checked_mul(86_400 * NANOS_PER_SEC)?.checked_add(nanos)
}

/// Elasticsearch date math: `now` or `DATE||`, then any number of `+N<unit>`,
/// `-N<unit>` and `/<unit>` (units `y M w d h H m s`). Rounding (`/d`) makes
/// the result span the whole unit, so range bounds round the way
/// Elasticsearch rounds them (see [`Instant`]). `now` is in nanoseconds.
pub fn parse_date_math(text: &str, now: i64) -> Option<Instant> {
    let text = text.trim();
    let (anchor, ops) = if let Some(rest) = text.strip_prefix("now") {
        (now, rest)
    } else {
        let (date, rest) = text.split_once("||")?;
        (parse_default(date)?.lo, rest)
    };
    let mut t = anchor;
    let mut hi = anchor;
    let mut rest = ops.as_bytes();
    while let Some(&op) = rest.first() {
        rest = &rest[1..];
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let n: i64 = if digits == 0 {
            1
        } else {
            std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?
        };
        rest = &rest[digits..];
        let unit = *rest.first()?;
        rest = &rest[1..];
        let secs = t.div_euclid(NANOS_PER_SEC);
        let frac = t.rem_euclid(NANOS_PER_SEC);
        let days = secs.div_euclid(86_400);
        let in_day = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        let unit_nanos = |u: u8| -> Option<i64> {
            Some(match u {
                b'w' => 7 * 86_400 * NANOS_PER_SEC,
                b'd' => 86_400 * NANOS_PER_SEC,
                b'h' | b'H' => 3_600 * NANOS_PER_SEC,
                b'm' => 60 * NANOS_PER_SEC,
                b's' => NANOS_PER_SEC,
                _ => return None,
            })
        };
        match op {
            b'+' | b'-' => {
                let n = if op == b'-' { -n } else { n };
                t = match unit {
                    b'y' | b'M' => {
                        let months = if unit == b'y' { n.checked_mul(12)? } else { n };
                        let (ny, nm, nd) = add_months(y, m, d, months)?;
                        at_day(days_from_civil(ny, nm, nd), in_day * NANOS_PER_SEC + frac)?
                    }
                    u => t.checked_add(n.checked_mul(unit_nanos(u)?)?)?,
                };
                hi = t;
            }
            b'/' if digits == 0 => {
                let (start, end) = match unit {
                    b'y' => (
                        at_day(days_from_civil(y, 1, 1), 0)?,
                        at_day(days_from_civil(y + 1, 1, 1), 0)?,
                    ),
                    b'M' => {
                        let (ny, nm, _) = add_months(y, m, 1, 1)?;
                        (
                            at_day(days_from_civil(y, m, 1), 0)?,
                            at_day(days_from_civil(ny, nm, 1), 0)?,
                        )
                    }
                    b'w' => {
                        // Weeks start on Monday; 1970-01-01 was a Thursday.
                        let monday = days - (days + 3).rem_euclid(7);
                        let s = at_day(monday, 0)?;
                        (s, s.checked_add(7 * 86_400 * NANOS_PER_SEC)?)
                    }
                    u => {
                        let size = unit_nanos(u)?;
                        let s = t.div_euclid(size) * size;
                        (s, s.checked_add(size)?)
                    }
                };
                t = start;
                hi = end - 1;
            }
            _ => return None,
        }
    }
    Some(Instant { lo: t, hi })
}

#[cfg(test)]
mod math_tests {
    use super::*;

    #[test]
    fn date_math_past_the_nanosecond_range_is_no_instant() {
        let now = parse_iso("2024-03-31T15:20:30Z").unwrap().lo;
        for text in [
            "now+300y",
            "now-400y",
            "now+4000M",
            "now+9223372036854775807y",
            "now-9223372036854775807M",
            "now+9223372036854775807d",
            "2262-04-11||/y",
            "2262-04-11||/M",
            "1677-09-22||/y",
        ] {
            assert_eq!(parse_date_math(text, now), None, "{text}");
        }
        // Within the range, rounding still works at its edges.
        assert!(parse_date_math("2262-03-01||/M", now).is_some());
        assert!(parse_date_math("now+200y/y", now).is_some());
    }

    #[test]
    fn date_math() {
        let now = parse_iso("2024-03-31T15:20:30Z").unwrap().lo;
        let day = |s: &str| parse_iso(s).unwrap();
        assert_eq!(parse_date_math("now", now).unwrap().lo, now);
        assert_eq!(
            parse_date_math("now-30d", now).unwrap().lo,
            day("2024-03-01T15:20:30Z").lo
        );
        let d = parse_date_math("now-1d/d", now).unwrap();
        assert_eq!(d.lo, day("2024-03-30").lo);
        assert_eq!(d.hi, day("2024-03-30").hi);
        assert_eq!(
            parse_date_math("now-1M", now).unwrap().lo,
            day("2024-02-29T15:20:30Z").lo
        );
        assert_eq!(
            parse_date_math("2024-01-31||+1M/d", now).unwrap().lo,
            day("2024-02-29").lo
        );
        assert_eq!(
            parse_date_math("now/w", now).unwrap().lo,
            day("2024-03-25").lo
        );
        assert!(parse_date_math("now-1x", now).is_none());
        assert!(parse_date_math("yesterday", now).is_none());
    }
}

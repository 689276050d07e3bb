//! The sentence each lender's reason gives staff.

use crate::profile::Mode;
use crate::score::Scored;

pub(crate) fn explain(l: &crate::directory::Lender, s: &Scored, mode: Mode) -> String {
    // Hand-rolled: `format!` with float arguments was a tenth of a typical route's time,
    // and these sentences are built for every lender returned.
    let mut out = String::with_capacity(192);
    let name = if l.name.is_empty() {
        &l.symbol
    } else {
        &l.name
    };
    out.push_str(name);
    out.push_str(" holds it (");
    let copies = s.holding.copies;
    if copies > 1 {
        push_int(&mut out, f64::from(copies));
        out.push_str(" copies");
    } else {
        out.push_str("1 copy");
    }
    out.push_str("); ");
    out.push_str(s.service.name());
    out.push(' ');
    push_int(&mut out, s.p * 100.0);
    out.push_str("% likely to fill (");
    if s.evidence < 0.5 {
        out.push_str("no history yet, so the consortium prior");
    } else {
        push_int(&mut out, s.evidence);
        out.push_str(" recent answers");
    }
    out.push_str("); delivers in ~");
    push_int(&mut out, s.d);
    out.push_str(" h, says no in ~");
    push_int(&mut out, s.a);
    out.push_str(" h; ");
    push_int(&mut out, f64::from(s.open));
    out.push_str(" open requests; ");
    match mode {
        Mode::FastestFill => {
            out.push_str("expected ");
            push_int(&mut out, s.e);
            out.push_str(" h at this lender");
        }
        Mode::WeightedScore => {
            use std::fmt::Write as _;
            let _ = write!(out, "weighted score {:.3}", s.score);
        }
    }
    out
}

/// Appends `x` rounded to the nearest integer (halves away from zero, as `f64::round`,
/// without its libm call).
fn push_int(out: &mut String, x: f64) {
    if !x.is_finite() {
        out.push('?');
        return;
    }
    let mut n = (x.abs() + 0.5).min(1e18) as u64;
    if x < 0.0 && n > 0 {
        out.push('-');
    }
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &b in &buf[at..] {
        out.push(char::from(b));
    }
}

#[cfg(test)]
mod tests {
    use super::push_int;

    #[test]
    fn integers_are_written_rounded() {
        for (x, want) in [
            (0.0, "0"),
            (0.49, "0"),
            (0.5, "1"),
            (7.0, "7"),
            (96.4, "96"),
            (1234567.6, "1234568"),
            (-3.6, "-4"),
            (f64::NAN, "?"),
        ] {
            let mut s = String::from("x");
            push_int(&mut s, x);
            assert_eq!(s, format!("x{want}"), "{x}");
        }
    }
}

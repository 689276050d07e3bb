//! MARC-8 to Unicode.
//!
//! MARC-8 is ISO 2022-style: G0 (0x21–0x7E) and G1 (0xA1–0xFE) each hold a character set
//! chosen by escape sequences, ASCII and ANSEL by default. Two things make it more than a
//! table lookup:
//! - combining diacritics come *before* the letter they modify (Unicode puts them after),
//!   so they are held back and emitted after the next base character;
//! - the result is NFC-normalised so `e` + U+0301 and `é` index the same.
//!
//! Covered: ASCII, ANSEL (extended Latin), Basic Hebrew, Basic and Extended Cyrillic,
//! Basic Greek, Greek symbols, subscripts and superscripts. CJK (EACC) and Arabic are
//! recognised and skipped; each unmapped character becomes U+FFFD and is counted, so
//! a caller can report the record instead of indexing a silently wrong title.

use unicode_normalization::UnicodeNormalization;

/// Result of decoding one MARC-8 string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The Unicode text, NFC.
    pub text: String,
    /// Characters that had no mapping (replaced with U+FFFD).
    pub unmapped: usize,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Set {
    Ascii,
    Ansel,
    Hebrew,
    Cyrillic,
    ExtCyrillic,
    Greek,
    GreekSymbols,
    Subscript,
    Superscript,
    Arabic,
    ExtArabic,
    Eacc,
    Unknown,
}

fn set_for_final(f: u8) -> Set {
    match f {
        b'B' | b's' => Set::Ascii,
        b'E' => Set::Ansel,
        b'2' => Set::Hebrew,
        b'N' => Set::Cyrillic,
        b'Q' => Set::ExtCyrillic,
        b'S' => Set::Greek,
        b'g' => Set::GreekSymbols,
        b'b' => Set::Subscript,
        b'p' => Set::Superscript,
        b'3' => Set::Arabic,
        b'4' => Set::ExtArabic,
        b'1' => Set::Eacc,
        _ => Set::Unknown,
    }
}

/// ANSEL 0xA1..=0xFE; `(char, combining)`.
fn ansel(b: u8) -> Option<(char, bool)> {
    let c = match b {
        0xA1 => 'Ł',
        0xA2 => 'Ø',
        0xA3 => 'Đ',
        0xA4 => 'Þ',
        0xA5 => 'Æ',
        0xA6 => 'Œ',
        0xA7 => 'ʹ',
        0xA8 => '·',
        0xA9 => '♭',
        0xAA => '®',
        0xAB => '±',
        0xAC => 'Ơ',
        0xAD => 'Ư',
        0xAE => 'ʼ',
        0xB0 => 'ʻ',
        0xB1 => 'ł',
        0xB2 => 'ø',
        0xB3 => 'đ',
        0xB4 => 'þ',
        0xB5 => 'æ',
        0xB6 => 'œ',
        0xB7 => 'ʺ',
        0xB8 => 'ı',
        0xB9 => '£',
        0xBA => 'ð',
        0xBC => 'ơ',
        0xBD => 'ư',
        0xC0 => '°',
        0xC1 => 'ℓ',
        0xC2 => '℗',
        0xC3 => '©',
        0xC4 => '♯',
        0xC5 => '¿',
        0xC6 => '¡',
        0xC7 => 'ß',
        0xC8 => '€',
        _ => {
            let comb = match b {
                0xE0 => '\u{0309}',
                0xE1 => '\u{0300}',
                0xE2 => '\u{0301}',
                0xE3 => '\u{0302}',
                0xE4 => '\u{0303}',
                0xE5 => '\u{0304}',
                0xE6 => '\u{0306}',
                0xE7 => '\u{0307}',
                0xE8 => '\u{0308}',
                0xE9 => '\u{030C}',
                0xEA => '\u{030A}',
                0xEB => '\u{FE20}',
                0xEC => '\u{FE21}',
                0xED => '\u{0315}',
                0xEE => '\u{030B}',
                0xEF => '\u{0310}',
                0xF0 => '\u{0327}',
                0xF1 => '\u{0328}',
                0xF2 => '\u{0323}',
                0xF3 => '\u{0324}',
                0xF4 => '\u{0325}',
                0xF5 => '\u{0333}',
                0xF6 => '\u{0332}',
                0xF7 => '\u{0326}',
                0xF8 => '\u{031C}',
                0xF9 => '\u{032E}',
                0xFA => '\u{FE22}',
                0xFB => '\u{FE23}',
                0xFE => '\u{0313}',
                _ => return None,
            };
            return Some((comb, true));
        }
    };
    Some((c, false))
}

/// Basic Hebrew (ISO-IR 50 positions as used by MARC-8), G0 positions.
fn hebrew(b: u8) -> Option<(char, bool)> {
    Some(match b {
        0x2D => ('\u{05BE}', false),
        0x40..=0x49 => (char::from_u32(0x05B0 + u32::from(b - 0x40))?, true),
        0x4A => ('\u{05BB}', true),
        0x4B => ('\u{05BC}', true),
        0x4C => ('\u{05BF}', true),
        0x4D => ('\u{05C1}', true),
        0x4E => ('\u{FB1E}', true),
        0x60..=0x7A => (char::from_u32(0x05D0 + u32::from(b - 0x60))?, false),
        0x7B => ('\u{05F0}', false),
        0x7C => ('\u{05F1}', false),
        0x7D => ('\u{05F2}', false),
        0x7E => ('\u{05F3}', false),
        0x21..=0x3F | 0x5B | 0x5D => (b as char, false),
        _ => return None,
    })
}

/// Basic Cyrillic: KOI-7 style layout (lowercase at 0x40, uppercase at 0x60).
fn cyrillic(b: u8) -> Option<(char, bool)> {
    const ORDER: &str = "юабцдефгхийклмнопярстужвьызшэщчъ";
    let lower: Vec<char> = ORDER.chars().collect();
    Some(match b {
        0x40..=0x5F => (lower[usize::from(b - 0x40)], false),
        0x60..=0x7E => (lower[usize::from(b - 0x60)].to_uppercase().next()?, false),
        0x21..=0x3F => (b as char, false),
        _ => return None,
    })
}

fn ext_cyrillic(b: u8) -> Option<(char, bool)> {
    Some((
        match b {
            0xC0 => 'ґ',
            0xC1 => 'ђ',
            0xC2 => 'ѓ',
            0xC3 => 'є',
            0xC4 => 'ё',
            0xC5 => 'ѕ',
            0xC6 => 'і',
            0xC7 => 'ї',
            0xC8 => 'ј',
            0xC9 => 'љ',
            0xCA => 'њ',
            0xCB => 'ћ',
            0xCC => 'ќ',
            0xCD => 'ў',
            0xCE => 'џ',
            0xD0 => 'ѣ',
            0xE0 => 'Ґ',
            0xE1 => 'Ђ',
            0xE2 => 'Ѓ',
            0xE3 => 'Є',
            0xE4 => 'Ё',
            0xE5 => 'Ѕ',
            0xE6 => 'І',
            0xE7 => 'Ї',
            0xE8 => 'Ј',
            0xE9 => 'Љ',
            0xEA => 'Њ',
            0xEB => 'Ћ',
            0xEC => 'Ќ',
            0xED => 'Ў',
            0xEE => 'Џ',
            0xEF => 'Ч',
            0xF0 => 'Ѣ',
            _ => return None,
        },
        false,
    ))
}

fn greek(b: u8) -> Option<(char, bool)> {
    // Basic Greek (ISO 5428 layout): capitals from 0x41, small letters from 0x61.
    const CAPS: &str = "ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩ";
    const SMALL: &str = "αβγδεζηθικλμνξοπρστυφχψω";
    Some(match b {
        0x41..=0x58 => (CAPS.chars().nth(usize::from(b - 0x41))?, false),
        0x61..=0x78 => (SMALL.chars().nth(usize::from(b - 0x61))?, false),
        0x79 => ('ς', false),
        0x21..=0x40 => (b as char, false),
        _ => return None,
    })
}

fn greek_symbols(b: u8) -> Option<(char, bool)> {
    Some((
        match b {
            0x61 => 'α',
            0x62 => 'β',
            0x63 => 'γ',
            _ => return None,
        },
        false,
    ))
}

fn script(b: u8, sub: bool) -> Option<(char, bool)> {
    let digits = if sub {
        "₀₁₂₃₄₅₆₇₈₉"
    } else {
        "⁰¹²³⁴⁵⁶⁷⁸⁹"
    };
    Some((
        match b {
            b'0'..=b'9' => digits.chars().nth(usize::from(b - b'0'))?,
            b'+' => {
                if sub {
                    '₊'
                } else {
                    '⁺'
                }
            }
            b'-' => {
                if sub {
                    '₋'
                } else {
                    '⁻'
                }
            }
            b'(' => {
                if sub {
                    '₍'
                } else {
                    '⁽'
                }
            }
            b')' => {
                if sub {
                    '₎'
                } else {
                    '⁾'
                }
            }
            _ => return None,
        },
        false,
    ))
}

fn lookup(set: Set, b: u8) -> Option<(char, bool)> {
    match set {
        Set::Ascii => (0x20..0x7F).contains(&b).then_some((b as char, false)),
        Set::Ansel => ansel(b | 0x80),
        Set::Hebrew => hebrew(b & 0x7F),
        Set::Cyrillic => cyrillic(b & 0x7F),
        Set::ExtCyrillic => ext_cyrillic(b | 0x80),
        Set::Greek => greek(b & 0x7F),
        Set::GreekSymbols => greek_symbols(b & 0x7F),
        Set::Subscript => script(b & 0x7F, true),
        Set::Superscript => script(b & 0x7F, false),
        Set::Arabic | Set::ExtArabic | Set::Eacc | Set::Unknown => None,
    }
}

/// Decodes MARC-8 bytes. Never fails: unmapped characters become U+FFFD and are counted.
pub fn decode(bytes: &[u8]) -> Decoded {
    let mut out = String::with_capacity(bytes.len());
    let mut pending: Vec<char> = Vec::new();
    let mut unmapped = 0usize;
    let (mut g0, mut g1) = (Set::Ascii, Set::Ansel);
    let mut i = 0;
    let emit = |c: char, combining: bool, out: &mut String, pending: &mut Vec<char>| {
        if combining {
            pending.push(c);
        } else {
            out.push(c);
            out.extend(pending.drain(..));
        }
    };
    while i < bytes.len() {
        let b = bytes[i];
        if b == 0x1B {
            // escape sequences: ESC ( F, ESC , F, ESC $ F, ESC $ , F -> G0;
            // ESC ) F, ESC - F, ESC $ ) F, ESC $ - F -> G1; ESC g/b/p/s -> G0 (technique 1)
            let rest = &bytes[i + 1..];
            match rest {
                [b'(' | b',', f, ..] => {
                    g0 = set_for_final(*f);
                    i += 3;
                }
                [b')' | b'-', f, ..] => {
                    g1 = set_for_final(*f);
                    i += 3;
                }
                [b'$', b'(' | b',', f, ..] => {
                    g0 = set_for_final(*f);
                    i += 4;
                }
                [b'$', b')' | b'-', f, ..] => {
                    g1 = set_for_final(*f);
                    i += 4;
                }
                [b'$', f, ..] => {
                    g0 = set_for_final(*f);
                    i += 3;
                }
                [f @ (b'g' | b'b' | b'p' | b's'), ..] => {
                    g0 = set_for_final(*f);
                    i += 2;
                }
                _ => {
                    unmapped += 1;
                    out.push('\u{FFFD}');
                    i += 1;
                }
            }
            continue;
        }
        let set = if b >= 0x80 { g1 } else { g0 };
        if b < 0x20 || b == 0x7F || (0x80..0xA0).contains(&b) {
            match b {
                0x88 => {} // non-sort begin: dropped, sorting is not our business
                0x89 => {} // non-sort end
                0x8D => emit('\u{200D}', false, &mut out, &mut pending),
                0x8E => emit('\u{200C}', false, &mut out, &mut pending),
                _ => emit(' ', false, &mut out, &mut pending),
            }
            i += 1;
            continue;
        }
        if b == b' ' && set != Set::Eacc {
            emit(' ', false, &mut out, &mut pending);
            i += 1;
            continue;
        }
        if set == Set::Eacc {
            // three bytes per character, no table here: count it as one unmapped char
            i += 3;
            unmapped += 1;
            emit('\u{FFFD}', false, &mut out, &mut pending);
            continue;
        }
        match lookup(set, b) {
            Some((c, comb)) => emit(c, comb, &mut out, &mut pending),
            None => {
                unmapped += 1;
                emit('\u{FFFD}', false, &mut out, &mut pending);
            }
        }
        i += 1;
    }
    // dangling diacritics at end of field: keep them rather than lose them
    out.extend(pending.drain(..));
    Decoded {
        text: out.nfc().collect(),
        unmapped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ansel_combining_precedes_base() {
        // "Pe\xE2rez" is MARC-8 for Pérez (acute before the e it sits on)
        let d = decode(b"P\xE2erez");
        assert_eq!(d.text, "Pérez");
        assert_eq!(d.unmapped, 0);
        assert_eq!(decode(b"Fran\xF0cais").text, "Français");
        assert_eq!(decode(b"\xA1\xB1od\xB2").text, "Łłodø");
    }

    #[test]
    fn hebrew_escape() {
        let d = decode(b"abc \x1b(2`ab\x1b(B def");
        assert_eq!(d.text, "abc \u{05D0}\u{05D1}\u{05D2} def");
    }

    #[test]
    fn cyrillic_escape() {
        let d = decode(b"\x1b(NAZBUKA\x1b(B");
        assert_eq!(d.text, "азбука");
    }

    #[test]
    fn eacc_is_counted_not_invented() {
        let d = decode(b"x\x1b$1!0(!0)\x1b(By");
        assert_eq!(d.unmapped, 2);
        assert!(d.text.starts_with('x') && d.text.ends_with('y'));
    }

    #[test]
    fn garbage_never_panics() {
        for i in 0..=255u8 {
            let _ = decode(&[0x1B, i]);
            let _ = decode(&[0x1B, b'$', i]);
            let _ = decode(&[i, 0xE2]);
        }
    }
}

//! MARC 21 records: an owned record model and readers for ISO 2709 (UTF-8 and MARC-8)
//! and MARCXML.
//!
//! We read MARC ourselves rather than through `marc` or `marctk`: neither converts MARC-8,
//! `marctk` reads files a byte per system call and reports errors as strings, and `marc`
//! panics on non-UTF-8 indicators. Real catalogues need all three handled.
//!
//! The ISO 2709 reader splits on the record terminator (0x1D) instead of trusting the
//! leader's record length, which real files get wrong; a record whose stated length
//! disagrees is still read if its directory is sound, and carries a warning. A record
//! that cannot be read is returned as a [`RecordError`] with its byte offset and number,
//! and reading resumes at the next terminator, so one bad record never costs the file.

use std::borrow::Cow;

use crate::marc8;

/// Field terminator.
pub const FT: u8 = 0x1E;
/// Record terminator.
pub const RT: u8 = 0x1D;
/// Subfield delimiter.
pub const SD: u8 = 0x1F;

/// One subfield: code and value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subfield {
    /// Subfield code, e.g. `b'a'`.
    pub code: u8,
    /// Value as Unicode.
    pub value: String,
}

/// A control field (00X) or a data field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// Three-character tag.
    pub tag: [u8; 3],
    /// Indicators (blank for control fields).
    pub ind: [u8; 2],
    /// Control field text (for 00X tags).
    pub control: Option<String>,
    /// Subfields (for data fields).
    pub subfields: Vec<Subfield>,
}

impl Field {
    /// First value of subfield `code`.
    pub fn sub(&self, code: u8) -> Option<&str> {
        self.subfields
            .iter()
            .find(|s| s.code == code)
            .map(|s| s.value.as_str())
    }

    /// All values of subfield `code`.
    pub fn subs(&self, code: u8) -> impl Iterator<Item = &str> {
        self.subfields
            .iter()
            .filter(move |s| s.code == code)
            .map(|s| s.value.as_str())
    }

    /// The tag as text.
    pub fn tag_str(&self) -> &str {
        std::str::from_utf8(&self.tag).unwrap_or("???")
    }
}

/// Something odd about a record that did not stop it from being read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Warning {
    /// Leader position 9 says MARC-8 but the bytes are UTF-8 (common in exports).
    Marc8LeaderButUtf8,
    /// MARC-8 characters with no Unicode mapping here (EACC, Arabic): replaced by U+FFFD.
    UnmappedMarc8(usize),
    /// The leader's record length disagrees with the bytes up to the terminator.
    LengthMismatch {
        /// Length in the leader.
        stated: usize,
        /// Length found.
        actual: usize,
    },
}

/// A MARC record.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Record {
    /// The 24-byte leader (as text; MARCXML leaders may be malformed, so not fixed-size).
    pub leader: String,
    /// Fields in file order.
    pub fields: Vec<Field>,
    /// Non-fatal problems met while reading.
    pub warnings: Vec<Warning>,
}

impl Record {
    /// Fields with this tag.
    pub fn fields<'a>(&'a self, tag: &str) -> impl Iterator<Item = &'a Field> + use<'a> {
        let t: [u8; 3] = tag.as_bytes().try_into().unwrap_or(*b"   ");
        self.fields.iter().filter(move |f| f.tag == t)
    }

    /// First field with this tag.
    pub fn field(&self, tag: &str) -> Option<&Field> {
        self.fields(tag).next()
    }

    /// Text of the first control field with this tag.
    pub fn control(&self, tag: &str) -> Option<&str> {
        self.field(tag).and_then(|f| f.control.as_deref())
    }

    /// Leader byte at `pos`, or blank.
    pub fn leader_byte(&self, pos: usize) -> u8 {
        self.leader.as_bytes().get(pos).copied().unwrap_or(b' ')
    }
}

/// Why a record could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecordErrorKind {
    /// Fewer bytes than a leader and a directory need.
    #[error("record too short ({0} bytes)")]
    TooShort(usize),
    /// The file ended inside a record.
    #[error("truncated record: file ends without a record terminator")]
    Truncated,
    /// Leader base address is not a number or points outside the record.
    #[error("bad base address of data {0:?} in leader")]
    BadBaseAddress(String),
    /// Directory is not a whole number of 12-byte entries, or an entry is not numeric.
    #[error("malformed directory: {0}")]
    BadDirectory(String),
    /// A directory entry points outside the record.
    #[error("field {tag} at {start}+{len} lies outside the record's {size} data bytes")]
    FieldOutOfBounds {
        /// Tag.
        tag: String,
        /// Start offset.
        start: usize,
        /// Length.
        len: usize,
        /// Size of data area.
        size: usize,
    },
    /// The leader claims UTF-8 but a field is not.
    #[error("invalid UTF-8 in field {0}")]
    InvalidUtf8(String),
    /// Leader position 9 names an encoding we do not know.
    #[error("unknown character coding scheme {0:?} in leader/09")]
    UnknownEncoding(char),
    /// MARCXML could not be parsed.
    #[error("malformed MARCXML: {0}")]
    Xml(String),
}

/// A record that could not be read, with where it was.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("record {index} at byte {offset}: {kind}")]
pub struct RecordError {
    /// Zero-based record number in the file.
    pub index: usize,
    /// Byte offset of the record's start.
    pub offset: u64,
    /// What went wrong.
    pub kind: RecordErrorKind,
}

/// Splits an ISO 2709 buffer into `(offset, bytes)` record slices (terminator excluded).
/// A final slice without terminator is returned as-is (it is reported as truncated).
pub fn split_records(data: &[u8]) -> Vec<(u64, &[u8], bool)> {
    let mut out = Vec::new();
    let mut start = 0usize;
    for i in memchr::memchr_iter(RT, data) {
        out.push((start as u64, &data[start..i], true));
        start = i + 1;
    }
    let tail = &data[start..];
    // stray whitespace/newlines between or after records are common and harmless
    let tail_trim = tail
        .iter()
        .position(|b| !b.is_ascii_whitespace() && *b != 0);
    if let Some(p) = tail_trim {
        out.push(((start + p) as u64, &tail[p..], false));
    }
    out
}

fn parse_num(b: &[u8]) -> Option<usize> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(b).ok()?.parse().ok()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Coding {
    Utf8,
    Marc8,
}

/// Parses one ISO 2709 record (without its terminator).
pub fn parse_iso2709(
    bytes: &[u8],
    index: usize,
    offset: u64,
    terminated: bool,
) -> Result<Record, RecordError> {
    parse_iso2709_with(bytes, index, offset, terminated, &|_| true)
}

/// Parses one ISO 2709 record, decoding only the fields `keep` accepts. The directory is
/// still checked whole, so a broken record is refused either way; skipping the fields a
/// caller never reads (notes, subjects: most of a record's bytes) is most of the speed
/// of a catalogue build.
pub fn parse_iso2709_with(
    bytes: &[u8],
    index: usize,
    offset: u64,
    terminated: bool,
    keep: &(dyn Fn(&[u8; 3]) -> bool + Sync),
) -> Result<Record, RecordError> {
    // leading whitespace (line breaks between records) is tolerated
    let skip = bytes.iter().take_while(|b| b.is_ascii_whitespace()).count();
    let bytes = &bytes[skip..];
    let offset = offset + skip as u64;
    let err = |kind| RecordError {
        index,
        offset,
        kind,
    };
    if !terminated {
        return Err(err(RecordErrorKind::Truncated));
    }
    if bytes.len() < 24 + 1 {
        return Err(err(RecordErrorKind::TooShort(bytes.len())));
    }
    let leader = &bytes[..24];
    let base = parse_num(&leader[12..17])
        .filter(|b| *b > 24 && *b <= bytes.len())
        .ok_or_else(|| {
            err(RecordErrorKind::BadBaseAddress(
                String::from_utf8_lossy(&leader[12..17]).into_owned(),
            ))
        })?;
    let mut warnings = Vec::new();
    if let Some(stated) = parse_num(&leader[0..5])
        && stated != bytes.len() + 1
    {
        warnings.push(Warning::LengthMismatch {
            stated,
            actual: bytes.len() + 1,
        });
    }
    // directory runs from 24 to base-1 (base-1 is the field terminator)
    let dir_end = if bytes[base - 1] == FT {
        base - 1
    } else {
        base
    };
    let dir = &bytes[24..dir_end];
    if dir.len() % 12 != 0 {
        return Err(err(RecordErrorKind::BadDirectory(format!(
            "{} bytes is not a whole number of 12-byte entries",
            dir.len()
        ))));
    }
    let data = &bytes[base..];
    let declared = match leader[9] {
        b'a' | b'A' => Coding::Utf8,
        b' ' => Coding::Marc8,
        other => return Err(err(RecordErrorKind::UnknownEncoding(other as char))),
    };
    // leader says MARC-8 but the bytes are UTF-8 with non-ASCII and no escapes: trust bytes
    let coding = if declared == Coding::Marc8
        && !data.contains(&0x1B)
        && data.iter().any(|b| *b >= 0x80)
        && std::str::from_utf8(data).is_ok()
    {
        warnings.push(Warning::Marc8LeaderButUtf8);
        Coding::Utf8
    } else {
        declared
    };
    let mut fields = Vec::with_capacity(dir.len() / 12);
    let mut unmapped = 0usize;
    for e in dir.chunks_exact(12) {
        let tag: [u8; 3] = [e[0], e[1], e[2]];
        let (Some(len), Some(start)) = (parse_num(&e[3..7]), parse_num(&e[7..12])) else {
            return Err(err(RecordErrorKind::BadDirectory(format!(
                "entry {:?} is not numeric",
                String::from_utf8_lossy(e)
            ))));
        };
        if start + len > data.len() || len == 0 {
            return Err(err(RecordErrorKind::FieldOutOfBounds {
                tag: String::from_utf8_lossy(&tag).into_owned(),
                start,
                len,
                size: data.len(),
            }));
        }
        if !keep(&tag) {
            continue;
        }
        let mut raw = &data[start..start + len];
        if raw.last() == Some(&FT) {
            raw = &raw[..raw.len() - 1];
        }
        let decode = |b: &[u8], unmapped: &mut usize| -> Result<String, RecordError> {
            match coding {
                Coding::Utf8 => match std::str::from_utf8(b) {
                    Ok(s) => Ok(s.to_owned()),
                    Err(_) => Err(err(RecordErrorKind::InvalidUtf8(
                        String::from_utf8_lossy(&tag).into_owned(),
                    ))),
                },
                Coding::Marc8 => {
                    if b.is_ascii() && !b.contains(&0x1B) {
                        return Ok(String::from_utf8_lossy(b).into_owned());
                    }
                    let d = marc8::decode(b);
                    *unmapped += d.unmapped;
                    Ok(d.text)
                }
            }
        };
        let is_control = tag[0] == b'0' && tag[1] == b'0';
        if is_control {
            fields.push(Field {
                tag,
                ind: [b' ', b' '],
                control: Some(decode(raw, &mut unmapped)?),
                subfields: Vec::new(),
            });
            continue;
        }
        let (ind, body) = if raw.len() >= 2 && raw.first() != Some(&SD) {
            ([raw[0], raw[1]], &raw[2..])
        } else {
            ([b' ', b' '], raw)
        };
        let mut subfields = Vec::new();
        for part in body.split(|b| *b == SD).skip(1) {
            if part.is_empty() {
                continue;
            }
            subfields.push(Subfield {
                code: part[0],
                value: decode(&part[1..], &mut unmapped)?,
            });
        }
        fields.push(Field {
            tag,
            ind,
            control: None,
            subfields,
        });
    }
    if unmapped > 0 {
        warnings.push(Warning::UnmappedMarc8(unmapped));
    }
    // one character per leader byte, so positions stay where MARC puts them: a garbled
    // byte becomes `?` (a lossy UTF-8 conversion would widen it to three bytes, and
    // position 9 below would no longer be a character; the fuzzer found that)
    let mut leader_s: String = leader
        .iter()
        .map(|&b| if b.is_ascii() { char::from(b) } else { '?' })
        .collect();
    if coding == Coding::Marc8 {
        // after conversion the record is Unicode; say so, as a MARC-8→UTF-8 converter must
        leader_s.replace_range(9..10, "a");
    }
    Ok(Record {
        leader: leader_s,
        fields,
        warnings,
    })
}

/// Reads every record of an ISO 2709 buffer, in order.
pub fn read_iso2709(data: &[u8]) -> Vec<Result<Record, RecordError>> {
    split_records(data)
        .into_iter()
        .enumerate()
        .map(|(i, (off, b, term))| parse_iso2709(b, i, off, term))
        .collect()
}

/// Reads a MARCXML document (a `collection` or a lone `record`). Malformed XML ends the
/// file with one error naming the byte offset; records before it are kept.
pub fn read_marcxml(data: &[u8]) -> Vec<Result<Record, RecordError>> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(data);
    reader.config_mut().trim_text(false);
    let mut out = Vec::new();
    let mut rec: Option<(Record, u64)> = None;
    let mut field: Option<Field> = None;
    let mut sub: Option<u8> = None;
    let mut text = String::new();
    let mut buf = Vec::new();
    let mut index = 0usize;
    fn local(name: &[u8]) -> &[u8] {
        match name.iter().rposition(|b| *b == b':') {
            Some(i) => &name[i + 1..],
            None => name,
        }
    }
    loop {
        let pos = reader.buffer_position();
        let ev = match reader.read_event_into(&mut buf) {
            Ok(ev) => ev,
            Err(e) => {
                out.push(Err(RecordError {
                    index,
                    offset: pos,
                    kind: RecordErrorKind::Xml(e.to_string()),
                }));
                break;
            }
        };
        match ev {
            Event::Eof => {
                if rec.is_some() {
                    out.push(Err(RecordError {
                        index,
                        offset: pos,
                        kind: RecordErrorKind::Truncated,
                    }));
                }
                break;
            }
            Event::Start(e) => {
                let name = e.name();
                match local(name.as_ref()) {
                    b"record" => rec = Some((Record::default(), pos)),
                    b"leader" => text.clear(),
                    b"controlfield" | b"datafield" => {
                        let mut tag = *b"   ";
                        let mut ind = *b"  ";
                        for a in e.attributes().flatten() {
                            let v = a.value.as_ref();
                            match a.key.as_ref() {
                                b"tag" if v.len() == 3 => tag.copy_from_slice(v),
                                b"ind1" if !v.is_empty() => ind[0] = v[0],
                                b"ind2" if !v.is_empty() => ind[1] = v[0],
                                _ => {}
                            }
                        }
                        let control = (local(name.as_ref()) == b"controlfield").then(String::new);
                        field = Some(Field {
                            tag,
                            ind,
                            control,
                            subfields: Vec::new(),
                        });
                        text.clear();
                    }
                    b"subfield" => {
                        sub = e
                            .attributes()
                            .flatten()
                            .find(|a| a.key.as_ref() == b"code")
                            .and_then(|a| a.value.first().copied())
                            .or(Some(b'?'));
                        text.clear();
                    }
                    _ => {}
                }
            }
            Event::Text(t) => {
                if let Ok(s) = t.unescape() {
                    text.push_str(&s);
                }
            }
            Event::CData(t) => text.push_str(&String::from_utf8_lossy(&t)),
            Event::End(e) => {
                let name = e.name();
                match local(name.as_ref()) {
                    b"leader" => {
                        if let Some((r, _)) = rec.as_mut() {
                            r.leader = text.clone();
                        }
                    }
                    b"subfield" => {
                        if let (Some(f), Some(code)) = (field.as_mut(), sub.take()) {
                            f.subfields.push(Subfield {
                                code,
                                value: text.clone(),
                            });
                        }
                    }
                    b"controlfield" | b"datafield" => {
                        if let (Some(mut f), Some((r, _))) = (field.take(), rec.as_mut()) {
                            if let Some(c) = f.control.as_mut() {
                                *c = text.clone();
                            }
                            r.fields.push(f);
                        }
                    }
                    b"record" => {
                        if let Some((r, _)) = rec.take() {
                            out.push(Ok(r));
                            index += 1;
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
        buf.clear();
    }
    out
}

/// Guesses the serialisation of a file from its first bytes.
pub fn sniff_xml(data: &[u8]) -> bool {
    let head = &data[..data.len().min(512)];
    let t = head
        .iter()
        .position(|b| !b.is_ascii_whitespace() && *b != 0xEF && *b != 0xBB && *b != 0xBF);
    matches!(t.map(|i| head[i]), Some(b'<'))
}

/// Reads a file's bytes as ISO 2709 or MARCXML, whichever it is.
pub fn read_any(data: &[u8]) -> Vec<Result<Record, RecordError>> {
    if sniff_xml(data) {
        read_marcxml(data)
    } else {
        read_iso2709(data)
    }
}

/// Appends `r` as one UTF-8 ISO 2709 record (leader position 9 set to `a`, lengths and
/// base address computed). The inverse of [`parse_iso2709`] for records it read: used to
/// write test and benchmark catalogues (see [`crate::realistic`]).
pub fn write_iso2709(r: &Record, out: &mut Vec<u8>) {
    let mut dir = Vec::with_capacity(r.fields.len() * 12 + 1);
    let mut data = Vec::new();
    for f in &r.fields {
        let start = data.len();
        match &f.control {
            Some(c) => data.extend_from_slice(c.as_bytes()),
            None => {
                data.extend_from_slice(&f.ind);
                for s in &f.subfields {
                    data.push(SD);
                    data.push(s.code);
                    data.extend_from_slice(s.value.as_bytes());
                }
            }
        }
        data.push(FT);
        let len = data.len() - start;
        dir.extend_from_slice(&f.tag);
        dir.extend_from_slice(format!("{:04}{:05}", len.min(9999), start.min(99999)).as_bytes());
    }
    dir.push(FT);
    let base = 24 + dir.len();
    let total = base + data.len() + 1;
    let mut leader: Vec<u8> = r.leader.bytes().take(24).collect();
    leader.resize(24, b' ');
    leader[..5].copy_from_slice(format!("{:05}", total.min(99999)).as_bytes());
    leader[9] = b'a';
    leader[12..17].copy_from_slice(format!("{:05}", base.min(99999)).as_bytes());
    out.extend_from_slice(&leader);
    out.extend_from_slice(&dir);
    out.extend_from_slice(&data);
    out.push(RT);
}

/// Text of a subfield stripped of ISBD punctuation at its end (" /", " :", ".", ",").
pub fn trim_isbd(s: &str) -> Cow<'_, str> {
    let t = s
        .trim_end_matches([' ', '/', ':', ';', ',', '.', '='])
        .trim_start();
    Cow::Borrowed(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds an ISO 2709 record from (tag, body) pairs.
    pub(crate) fn build(leader9: u8, fields: &[(&str, &[u8])]) -> Vec<u8> {
        let mut dir = Vec::new();
        let mut data = Vec::new();
        for (tag, body) in fields {
            let start = data.len();
            data.extend_from_slice(body);
            data.push(FT);
            dir.extend_from_slice(format!("{tag}{:04}{:05}", body.len() + 1, start).as_bytes());
        }
        dir.push(FT);
        let base = 24 + dir.len();
        let total = base + data.len() + 1;
        let mut rec = format!("{total:05}nam  22{base:05}   4500").into_bytes();
        rec[9] = leader9;
        rec.extend_from_slice(&dir);
        rec.extend_from_slice(&data);
        rec.push(RT);
        rec
    }

    #[test]
    fn roundtrip_utf8_and_marc8() {
        let r = build(
            b'a',
            &[
                ("001", b"abc"),
                ("245", "10\x1faCaf\u{e9} /\x1fcX".as_bytes()),
            ],
        );
        let recs = read_iso2709(&r);
        let rec = recs[0].as_ref().unwrap();
        assert_eq!(rec.field("245").unwrap().sub(b'a'), Some("Café /"));
        assert_eq!(rec.control("001"), Some("abc"));
        let r = build(b' ', &[("245", b"10\x1faCaf\xE2e")]);
        let rec = read_iso2709(&r).remove(0).unwrap();
        assert_eq!(rec.field("245").unwrap().sub(b'a'), Some("Café"));
        assert_eq!(rec.leader_byte(9), b'a');
    }

    #[test]
    fn written_records_read_back_the_same() {
        let r = build(
            b'a',
            &[
                ("001", b"x1"),
                ("008", b"990101s1999    gw            000 0 ger d"),
                ("245", "10\x1faCaf\u{e9} /\x1fcX".as_bytes()),
                ("880", "10\x1f6245-01\x1fa\u{4e2d}\u{6587}".as_bytes()),
            ],
        );
        let rec = read_iso2709(&r).remove(0).unwrap();
        let mut out = Vec::new();
        write_iso2709(&rec, &mut out);
        write_iso2709(&rec, &mut out);
        let back = read_iso2709(&out);
        assert_eq!(back.len(), 2);
        for b in back {
            let b = b.unwrap();
            assert!(b.warnings.is_empty(), "{:?}", b.warnings);
            assert_eq!(b.fields, rec.fields);
            assert_eq!(b.leader, rec.leader);
        }
    }

    #[test]
    fn a_garbled_leader_keeps_its_positions() {
        // found by the fuzzer: non-ASCII bytes before position 9 of a MARC-8 leader
        let mut r = build(b' ', &[("245", b"10\x1faCaf\xE2e")]);
        r[0..4].copy_from_slice(&[0xDA, 0xCF, 0xC8, 0xC6]);
        for rec in read_iso2709(&r).into_iter().flatten() {
            assert_eq!(rec.leader.chars().count(), 24);
            assert_eq!(rec.leader_byte(9), b'a');
        }
        let crash = b"\xda\xcf\xc8\xc69cam  22002537a 4500";
        let _ = read_iso2709(crash);
    }

    #[test]
    fn bad_records_are_skipped_not_fatal() {
        let good = build(b'a', &[("245", b"10\x1faGood")]);
        let mut data = good.clone();
        data.extend_from_slice(b"00050nam a22000xx   4500garbage\x1d");
        data.extend_from_slice(&good);
        data.extend_from_slice(&good[..30]);
        let recs = read_iso2709(&data);
        assert_eq!(recs.len(), 4);
        assert!(recs[0].is_ok());
        assert!(matches!(
            recs[1].as_ref().unwrap_err().kind,
            RecordErrorKind::BadBaseAddress(_)
        ));
        assert!(recs[2].is_ok());
        assert_eq!(
            recs[3].as_ref().unwrap_err().kind,
            RecordErrorKind::Truncated
        );
        assert_eq!(recs[2].as_ref().err(), None);
        assert_eq!(recs[1].as_ref().unwrap_err().offset, good.len() as u64);
    }

    #[test]
    fn invalid_utf8_and_unknown_coding() {
        let r = build(b'a', &[("245", b"10\x1faBad\xff")]);
        assert!(matches!(
            read_iso2709(&r)[0].as_ref().unwrap_err().kind,
            RecordErrorKind::InvalidUtf8(_)
        ));
        let r = build(b'z', &[("245", b"10\x1faX")]);
        assert_eq!(
            read_iso2709(&r)[0].as_ref().unwrap_err().kind,
            RecordErrorKind::UnknownEncoding('z')
        );
    }

    #[test]
    fn wrong_leader_length_is_a_warning() {
        let mut r = build(b'a', &[("245", b"10\x1faX")]);
        r[..5].copy_from_slice(b"99999");
        let rec = read_iso2709(&r).remove(0).unwrap();
        assert!(matches!(
            rec.warnings[0],
            Warning::LengthMismatch { stated: 99999, .. }
        ));
    }

    #[test]
    fn marcxml() {
        let x = br#"<?xml version="1.0"?><collection xmlns="http://www.loc.gov/MARC21/slim"><record><leader>00000nam a2200000   4500</leader><controlfield tag="001">x1</controlfield><datafield tag="924" ind1=" " ind2=" "><subfield code="b">DE-21</subfield></datafield></record><record><leader>x</leader></record></collection>"#;
        let recs = read_any(x);
        assert_eq!(recs.len(), 2);
        let r = recs[0].as_ref().unwrap();
        assert_eq!(r.field("924").unwrap().sub(b'b'), Some("DE-21"));
        assert_eq!(r.control("001"), Some("x1"));
        let broken = read_any(b"<collection><record><leader>x</leader><datafield tag=\"245\">");
        assert!(broken.last().unwrap().is_err());
    }
}

//! Z39.50 (ANSI/NISO Z39.50-2003, ISO 23950): the few operations an availability lookup
//! needs — Init, Search (a type-1 query: one Bib-1 use attribute and a term), Present in
//! the OPAC record syntax — and the circulation data of the OPAC records it returns
//! (`holdingsAndCirc` → `circulationData` → `availableNow`, `availablityDate`, as the
//! standard spells it).
//!
//! Reading is asn1-rs's generic BER reader: the client walks the tags it needs and skips
//! the rest, so the optional fields and extensions servers add (other-information,
//! implementation names, MARC holdings) do not have to be modelled. Writing is a
//! TLV encoder of its own, about forty lines, because the three requests are fixed
//! shapes of a dozen fields; a typed ASN.1 model of the Z39.50 APDUs would be many
//! times that for the same bytes.

use asn1_rs::{Any, Class, FromBer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use rota_routing::Shelf;

use super::parse;

/// Largest APDU read.
const MAX_APDU: usize = 1 << 20;

/// Bib-1, the attribute set of the query.
const BIB1: &[u64] = &[1, 2, 840, 10003, 3, 1];
/// The OPAC record syntax.
const OPAC: &[u64] = &[1, 2, 840, 10003, 5, 102];

/// Context-class constructed or primitive TLV.
fn ctx(tag: u32, constructed: bool, content: &[u8]) -> Vec<u8> {
    tlv(0x80, constructed, tag, content)
}

fn tlv(class: u8, constructed: bool, tag: u32, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 8);
    let first = class | if constructed { 0x20 } else { 0 };
    if tag < 31 {
        out.push(first | tag as u8);
    } else {
        out.push(first | 0x1f);
        let mut groups = vec![(tag & 0x7f) as u8];
        let mut t = tag >> 7;
        while t > 0 {
            groups.push(0x80 | (t & 0x7f) as u8);
            t >>= 7;
        }
        out.extend(groups.iter().rev());
    }
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

fn int(v: u64) -> Vec<u8> {
    let mut b: Vec<u8> = v
        .to_be_bytes()
        .iter()
        .copied()
        .skip_while(|b| *b == 0)
        .collect();
    if b.first().is_none_or(|f| f & 0x80 != 0) {
        b.insert(0, 0);
    }
    b
}

fn oid(arcs: &[u64]) -> Vec<u8> {
    let mut out = vec![(arcs[0] * 40 + arcs[1]) as u8];
    for &a in &arcs[2..] {
        let mut groups = vec![(a & 0x7f) as u8];
        let mut t = a >> 7;
        while t > 0 {
            groups.push(0x80 | (t & 0x7f) as u8);
            t >>= 7;
        }
        out.extend(groups.iter().rev());
    }
    out
}

fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

/// InitRequest: versions 2 and 3, search and present.
pub fn init_request() -> Vec<u8> {
    ctx(
        20,
        true,
        &seq(&[
            ctx(3, false, &[0x05, 0xe0]),
            ctx(4, false, &[0x06, 0xc0]),
            ctx(5, false, &int(MAX_APDU as u64)),
            ctx(6, false, &int(MAX_APDU as u64)),
        ]),
    )
}

/// SearchRequest: `term` under Bib-1 use attribute `use_attr` in `database`, asking for
/// OPAC records.
pub fn search_request(database: &str, use_attr: u32, term: &str) -> Vec<u8> {
    let attribute = tlv(
        0x00,
        true,
        16,
        &seq(&[
            ctx(120, false, &int(1)),
            ctx(121, false, &int(u64::from(use_attr))),
        ]),
    );
    let apt = ctx(
        102,
        true,
        &seq(&[ctx(44, true, &attribute), ctx(45, false, term.as_bytes())]),
    );
    let rpn = seq(&[tlv(0x00, false, 6, &oid(BIB1)), ctx(0, true, &apt)]);
    ctx(
        22,
        true,
        &seq(&[
            ctx(13, false, &int(0)),
            ctx(14, false, &int(1)),
            ctx(15, false, &int(0)),
            ctx(16, false, &[0xff]),
            ctx(17, false, b"default"),
            ctx(18, true, &ctx(105, false, database.as_bytes())),
            ctx(104, false, &oid(OPAC)),
            ctx(21, true, &ctx(1, true, &rpn)),
        ]),
    )
}

/// PresentRequest: the first `n` records of the result set, as OPAC records.
pub fn present_request(n: u32) -> Vec<u8> {
    ctx(
        24,
        true,
        &seq(&[
            ctx(31, false, b"default"),
            ctx(30, false, &int(1)),
            ctx(29, false, &int(u64::from(n))),
            ctx(104, false, &oid(OPAC)),
        ]),
    )
}

fn children<'a>(a: &Any<'a>) -> Result<Vec<Any<'a>>, String> {
    let mut out = Vec::new();
    let mut rest: &'a [u8] = a.data;
    while !rest.is_empty() {
        let (r, c) = Any::from_ber(rest).map_err(|e| format!("bad BER: {e}"))?;
        out.push(c);
        rest = r;
    }
    Ok(out)
}

fn is(a: &Any<'_>, class: Class, tag: u32) -> bool {
    a.header.class() == class && a.header.tag().0 == tag
}

fn child<'a>(a: &Any<'a>, tag: u32) -> Result<Option<Any<'a>>, String> {
    Ok(children(a)?
        .into_iter()
        .find(|c| is(c, Class::ContextSpecific, tag)))
}

fn number(a: &Any<'_>) -> u64 {
    a.data.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b))
}

/// Reads one APDU from the stream. YAZ sends large APDUs (records) with indefinite
/// lengths, so the end is found by parsing: bytes are read until asn1-rs reads a whole
/// element from them.
async fn read_apdu(s: &mut TcpStream) -> Result<Vec<u8>, String> {
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let n = s
            .read(&mut chunk)
            .await
            .map_err(|e| format!("connection: {e}"))?;
        if n == 0 {
            return Err("the target closed the connection".into());
        }
        buf.extend_from_slice(&chunk[..n]);
        match Any::from_ber(&buf) {
            Ok((rest, _)) => {
                let used = buf.len() - rest.len();
                buf.truncate(used);
                return Ok(buf);
            }
            Err(asn1_rs::nom::Err::Incomplete(_)) => {}
            Err(e) => return Err(format!("bad BER: {e}")),
        }
        if buf.len() > MAX_APDU {
            return Err(format!("an APDU over {MAX_APDU} bytes"));
        }
    }
}

async fn exchange(s: &mut TcpStream, apdu: &[u8]) -> Result<Vec<u8>, String> {
    s.write_all(apdu)
        .await
        .map_err(|e| format!("connection: {e}"))?;
    read_apdu(s).await
}

fn top<'a>(bytes: &'a [u8], tag: u32, what: &str) -> Result<Any<'a>, String> {
    let (_, a) = Any::from_ber(bytes).map_err(|e| format!("bad BER: {e}"))?;
    if !is(&a, Class::ContextSpecific, tag) {
        return Err(format!("expected a {what}, got tag {}", a.header.tag().0));
    }
    Ok(a)
}

/// What the circulation data of a PresentResponse says.
pub fn shelf(present_response: &[u8]) -> Result<Shelf, String> {
    let a = top(present_response, 25, "PresentResponse")?;
    if child(&a, 130)?.is_some() || child(&a, 205)?.is_some() {
        return Err("the server answered the present with a diagnostic".into());
    }
    let mut now: Vec<bool> = Vec::new();
    let mut dates: Vec<i64> = Vec::new();
    // holdingsAndCirc [2] → circulationData [19] → CircRecord SEQUENCE →
    // availableNow [1] BOOLEAN, availablityDate [2] InternationalString
    fn walk(
        a: &Any<'_>,
        parent_is_2: bool,
        depth: usize,
        now: &mut Vec<bool>,
        dates: &mut Vec<i64>,
    ) -> Result<(), String> {
        if depth > 24 || !a.header.is_constructed() {
            return Ok(());
        }
        if parent_is_2 && is(a, Class::ContextSpecific, 19) {
            for rec in children(a)? {
                for f in children(&rec)? {
                    if is(&f, Class::ContextSpecific, 1) && !f.header.is_constructed() {
                        now.push(f.data.first().is_some_and(|b| *b != 0));
                    } else if is(&f, Class::ContextSpecific, 2) && !f.header.is_constructed() {
                        if let Some(d) = std::str::from_utf8(f.data).ok().and_then(parse::date) {
                            dates.push(d);
                        }
                    }
                }
            }
            return Ok(());
        }
        let me_2 = is(a, Class::ContextSpecific, 2);
        for c in children(a)? {
            walk(&c, me_2, depth + 1, now, dates)?;
        }
        Ok(())
    }
    walk(&a, false, 0, &mut now, &mut dates)?;
    Ok(if now.iter().any(|v| *v) {
        Shelf::OnShelf
    } else if !now.is_empty() {
        Shelf::OnLoan {
            until: dates.into_iter().min(),
        }
    } else {
        Shelf::Unknown
    })
}

/// `z3950://host:port/Database` → (host:port, database).
pub fn target(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("z3950://")?;
    let (host, db) = rest.split_once('/').unwrap_or((rest, "Default"));
    let host = if host.contains(':') {
        host.to_string()
    } else {
        format!("{host}:210")
    };
    Some((host, if db.is_empty() { "Default" } else { db }.to_string()))
}

/// Asks a Z39.50 target whether a copy of the item is on the shelf: Init, Search, and
/// (if anything was found) Present of up to ten OPAC records. The caller bounds the time.
pub async fn lookup(url: &str, use_attr: u32, term: &str) -> Result<Shelf, String> {
    let (host, db) = target(url).ok_or_else(|| format!("{url:?} is not z3950://host:port/db"))?;
    let mut s = TcpStream::connect(&host)
        .await
        .map_err(|e| format!("connect {host}: {e}"))?;
    let _ = s.set_nodelay(true);
    let init = exchange(&mut s, &init_request()).await?;
    let a = top(&init, 21, "InitResponse")?;
    let accepted = child(&a, 12)?.is_some_and(|r| r.data.first().is_some_and(|b| *b != 0));
    if !accepted {
        return Err("the target refused the Init".into());
    }
    let found = exchange(&mut s, &search_request(&db, use_attr, term)).await?;
    let a = top(&found, 23, "SearchResponse")?;
    let count = child(&a, 23)?.map(|c| number(&c)).unwrap_or(0);
    if child(&a, 130)?.is_some() || child(&a, 205)?.is_some() {
        return Err("the target answered the search with a diagnostic".into());
    }
    if count == 0 {
        return Ok(Shelf::Unknown);
    }
    let records = exchange(&mut s, &present_request(count.min(10) as u32)).await?;
    // no Close: dropping the connection ends the session, as most clients do
    shelf(&records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_lengths_and_numbers_encode_as_ber_does() {
        assert_eq!(ctx(12, false, &[0xff]), [0x8c, 0x01, 0xff]);
        assert_eq!(ctx(105, false, b"A"), [0x9f, 0x69, 0x01, b'A']);
        assert_eq!(ctx(130, false, &[])[..3], [0x9f, 0x81, 0x02]);
        let long = ctx(1, false, &[0u8; 300]);
        assert_eq!(long[..4], [0x81, 0x82, 0x01, 0x2c]);
        assert_eq!(int(0), [0x00]);
        assert_eq!(int(128), [0x00, 0x80]);
        assert_eq!(int(1 << 20), [0x10, 0x00, 0x00]);
        assert_eq!(oid(OPAC), [0x2a, 0x86, 0x48, 0xce, 0x13, 0x05, 0x66]);
        // what we write, asn1-rs reads back
        let apdu = search_request("Default", 7, "9780262033848");
        let (_, a) = Any::from_ber(&apdu).unwrap();
        assert!(is(&a, Class::ContextSpecific, 22));
        assert_eq!(children(&a).unwrap().len(), 8);
    }

    /// A PresentResponse with one OPAC record whose copies are as given.
    fn present(copies: &[(bool, Option<&str>)]) -> Vec<u8> {
        let circ: Vec<u8> = copies
            .iter()
            .map(|(now, date)| {
                let mut f = ctx(1, false, &[if *now { 0xff } else { 0 }]);
                if let Some(d) = date {
                    f.extend(ctx(2, false, d.as_bytes()));
                }
                tlv(0x00, true, 16, &f)
            })
            .collect::<Vec<_>>()
            .concat();
        let hac = ctx(2, true, &ctx(19, true, &circ));
        let opac = tlv(0x00, true, 16, &ctx(2, true, &hac));
        let external = tlv(
            0x00,
            true,
            8,
            &seq(&[tlv(0x00, false, 6, &oid(OPAC)), ctx(0, true, &opac)]),
        );
        let npr = tlv(0x00, true, 16, &ctx(1, true, &ctx(1, true, &external)));
        ctx(
            25,
            true,
            &seq(&[
                ctx(24, false, &int(1)),
                ctx(25, false, &int(2)),
                ctx(27, false, &int(0)),
                ctx(28, true, &npr),
            ]),
        )
    }

    #[test]
    fn opac_circulation_data_reads_as_shelf_status() {
        assert_eq!(shelf(&present(&[(true, None)])), Ok(Shelf::OnShelf));
        assert_eq!(
            shelf(&present(&[
                (false, Some("2026-12-21")),
                (false, Some("20261219"))
            ])),
            Ok(Shelf::OnLoan {
                until: parse::date("2026-12-19")
            })
        );
        assert_eq!(
            shelf(&present(&[(false, None), (true, None)])),
            Ok(Shelf::OnShelf)
        );
        assert_eq!(shelf(&present(&[])), Ok(Shelf::Unknown));
        let diag = ctx(25, true, &ctx(130, true, &[]));
        assert!(shelf(&diag).is_err());
        assert!(shelf(&[0x30, 0x05, 0x01]).is_err());
        assert!(shelf(&ctx(21, true, &[])).is_err());
    }

    #[test]
    fn yaz_ztests_present_response_reads() {
        // captured from yaz-ztest 5.34: one OPAC record, indefinite lengths throughout
        let bytes = include_bytes!("ztest-present.ber");
        assert_eq!(bytes[1], 0x80, "the capture uses an indefinite length");
        assert_eq!(shelf(bytes), Ok(Shelf::OnShelf));
    }

    #[test]
    fn targets_name_host_port_and_database() {
        assert_eq!(
            target("z3950://z.example.org:2100/INNOPAC"),
            Some(("z.example.org:2100".into(), "INNOPAC".into()))
        );
        assert_eq!(
            target("z3950://z.example.org"),
            Some(("z.example.org:210".into(), "Default".into()))
        );
        assert_eq!(target("http://x"), None);
    }
}

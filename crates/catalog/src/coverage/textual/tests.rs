//! Real-world statements, each with where it was published, and the spans it must give
//! (as `Span`'s display: `v.` volumes, then years, in parentheses when both are known;
//! a trailing `-` runs to the present). `None`: the statement must be refused whole.

use super::parse;

/// (statement, source, expected spans joined by ", ", or None when unreadable).
const FORMS: &[(&str, &str, Option<&str>)] = &[
    // MARC 21 Format for Holdings Data, concise, field 866 examples (Library of Congress)
    (
        "1-86 (1941-1987)",
        "LC MARC 21 holdings 866",
        Some("v.1-86 (1941-1987)"),
    ),
    ("1974-1981", "LC MARC 21 holdings 866", Some("1974-1981")),
    (
        "v. 36-49 (1961-1974)",
        "LC MARC 21 holdings 866",
        Some("v.36-49 (1961-1974)"),
    ),
    ("v. 37-52", "LC MARC 21 holdings 866", Some("v.37-52")),
    (
        "v. 1-4 (1941-1943), v. 6-86 (1945-1987)",
        "LC MARC 21 holdings 866",
        Some("v.1-4 (1941-1943), v.6-86 (1945-1987)"),
    ),
    (
        "s=[1832:10:17-1899:3:31]",
        "LC MARC 21 holdings 866 ($2usnp)",
        None,
    ),
    (
        "m,s=[1955:8:11-1956:11:22][1960:10:20-1984:2:2]",
        "LC MARC 21 holdings 866 ($2usnp)",
        None,
    ),
    // field 868 example
    (
        "1937-1942, 1946-1968, plus 1969/1978 cumulative vol.",
        "LC MARC 21 holdings 868",
        None,
    ),
    // LSU Libraries, guidelines for recording holdings, 866
    (
        "v.1(1992)-v.10(2001)",
        "LSU 866 guidelines",
        Some("v.1-10 (1992-2001)"),
    ),
    (
        "v.1(1992)-v.9(2000)",
        "LSU 866 guidelines",
        Some("v.1-9 (1992-2000)"),
    ),
    ("v.13:fasc.1-5", "LSU 866 guidelines", Some("v.13")),
    // Vanderbilt University Library, holdings record examples (866 41)
    ("1928-1998", "Vanderbilt 866", Some("1928-1998")),
    ("1928-1999", "Vanderbilt 866", Some("1928-1999")),
    ("1928-1998,2000", "Vanderbilt 866", Some("1928-1998, 2000")),
    ("1928-1998;2000", "Vanderbilt 866", Some("1928-1998, 2000")),
    ("1928-2000", "Vanderbilt 866", Some("1928-2000")),
    ("1987-1998:Feb.,", "Vanderbilt 866", Some("1987-1998")),
    ("1998:June", "Vanderbilt 866", Some("1998")),
    ("1998:June-1998:Aug.", "Vanderbilt 866", Some("1998")),
    ("1987-1998:June", "Vanderbilt 866", Some("1987-1998")),
    ("1998:June-1998:Aug./Oct.", "Vanderbilt 866", Some("1998")),
    (
        "1998:June-1998:Aug./1999:Feb.",
        "Vanderbilt 866",
        Some("1998-1999"),
    ),
    ("v.1-v.11,", "Vanderbilt 866", Some("v.1-11")),
    // Vanderbilt check-in patterns (the piece labels staff record)
    (
        "v. 3 no.1 Jan. 2, 1996",
        "Vanderbilt weekly patterns",
        Some("v.3 (1996)"),
    ),
    (
        "no.3 Jan. 2, 1996",
        "Vanderbilt weekly patterns",
        Some("v.3 (1996)"),
    ),
    ("July 17, 1996", "Vanderbilt daily patterns", Some("1996")),
    (
        "40th ed. 1996",
        "Vanderbilt annual patterns",
        Some("v.40 (1996)"),
    ),
    (
        "35th 1995/1996",
        "Vanderbilt annual patterns",
        Some("v.35 (1995-1996)"),
    ),
    ("v.1 1996", "Vanderbilt annual patterns", Some("v.1 (1996)")),
    // MARC 21 holdings appendix B (RERO copy): serial with pattern changes
    (
        "v.1 (1971)-v.20 (1990), v.21:no.1-4,8 (1991), v.22 (1991)-v.23 (1992)",
        "MARC 21 holdings appendix B",
        Some("v.1-20 (1971-1990), v.21 (1991), v.22-23 (1991-1992)"),
    ),
    (
        "vol. 21, no. 1-4, 8",
        "MARC 21 holdings appendix B (866)",
        Some("v.21"),
    ),
    // FOLIO migration tools, MFHD holdings statements test records
    (
        "v.1:no. 1(1943:July 3)-v.1:no.52(1944:June 24)",
        "folio_migration_tools tests",
        Some("v.1 (1943-1944)"),
    ),
    (
        "v.29 (2011)",
        "folio_migration_tools tests",
        Some("v.29 (2011)"),
    ),
    (
        "v.1 (1948)-v.27 (2007)",
        "folio_migration_tools tests",
        Some("v.1-27 (1948-2007)"),
    ),
    (
        "v.253:no.2 (2006:Jan. 09)",
        "folio_migration_tools tests",
        Some("v.253 (2006)"),
    ),
    // Evergreen test sets: serials_mfhd.xml 866, serials_marc21.xml 362
    (
        "2000/2001 - 2003/2004",
        "Evergreen serials_mfhd.xml",
        Some("2000-2004"),
    ),
    (
        "v. 95 no. 5-12 (2004) -",
        "Evergreen serials_marc21.xml 362",
        Some("v.95- (2004-)"),
    ),
    (
        "Spring 2007-  = Printemps 2007-",
        "Evergreen serials_marc21.xml 362",
        Some("2007-"),
    ),
    (
        "2000/2001-",
        "Evergreen serials_marc21.xml 362",
        Some("2000-"),
    ),
    (
        "[Vol. 1], no 1 (1998)-",
        "Evergreen serials_marc21.xml 362",
        Some("v.1- (1998-)"),
    ),
    (
        "Vol. 6, no 1 (oct. 1993)-    .",
        "Evergreen serials_marc21.xml 362",
        Some("v.6- (1993-)"),
    ),
    // forms the serials issue quotes from Z39.71
    ("v.1(1990)-v.20(2009)", "Z39.71", Some("v.1-20 (1990-2009)")),
    ("v.5-12, 14-", "Z39.71", Some("v.5-12, v.14-")),
    ("10/11", "Z39.71 combined issue", Some("v.10-11")),
    // HathiTrust registry: enumeration/chronology of real catalogue items
    (
        "V. 96:PT. 1 (1984)",
        "HathiTrust registry",
        Some("v.96 (1984)"),
    ),
    ("V. 96:2 1982", "HathiTrust registry", Some("v.96 (1982)")),
    (
        "V. V. 12 1859-1863",
        "HathiTrust registry",
        Some("v.12 (1859-1863)"),
    ),
    (
        "V. V. 36 PT1 1909-12",
        "HathiTrust registry",
        Some("v.36 (1909-1912)"),
    ),
    ("V. 57/PT. 1", "HathiTrust registry", Some("v.57")),
    (
        "V. 48:NO. 4 (1983:JAN. 6)",
        "HathiTrust registry",
        Some("v.48 (1983)"),
    ),
    (
        "V. 75:NO. 149(2010)",
        "HathiTrust registry",
        Some("v.75 (2010)"),
    ),
    (
        "V. 78 NO. 152 AUG 7, 2013",
        "HathiTrust registry",
        Some("v.78 (2013)"),
    ),
    (
        "V. 1 (1936:MAY 28/JUNE 11)",
        "HathiTrust registry",
        Some("v.1 (1936)"),
    ),
    (
        "V. 114:PART 1 (2000)",
        "HathiTrust registry",
        Some("v.114 (2000)"),
    ),
    // California Digital Library holdings parser tests
    (
        " 1(1928)-17(1930) ",
        "CDL hparser tests",
        Some("v.1-17 (1928-1930)"),
    ),
    (
        " v.1(1928)-v.17(1930) ",
        "CDL hparser tests",
        Some("v.1-17 (1928-1930)"),
    ),
    (" (1910-June 1912) ", "CDL hparser tests", Some("1910-1912")),
    (" 1984/85 ", "CDL hparser tests", Some("1984-1985")),
    // MARC 21 holdings 863 $a: units counted in words are not coverage
    ("ca. 1000 items", "LC MARC 21 holdings 863", None),
    ("1 score", "LC MARC 21 holdings 863", None),
];

fn show(s: &str) -> Option<String> {
    let spans = parse(s).ok()?;
    Some(
        spans
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(", "),
    )
}

#[test]
fn real_world_statements() {
    assert!(FORMS.len() >= 60, "{} forms", FORMS.len());
    let mut wrong = Vec::new();
    for &(s, source, want) in FORMS {
        let got = show(s);
        if got.as_deref() != want {
            wrong.push(format!("{s:?} ({source}): got {got:?}, want {want:?}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} wrong:\n{}",
        wrong.len(),
        FORMS.len(),
        wrong.join("\n")
    );
}

#[test]
fn refusals_say_why() {
    use super::Unreadable;
    assert_eq!(parse(" , ;"), Err(Unreadable::Empty));
    assert_eq!(
        parse("v.1-4 plus index"),
        Err(Unreadable::Word("plus".into()))
    );
    assert_eq!(parse("s=[1832]"), Err(Unreadable::Char('=')));
    assert_eq!(parse("v.1 (1990"), Err(Unreadable::Parens));
    assert_eq!(parse("v.1-5-9"), Err(Unreadable::Ranges("v.1-5-9".into())));
    assert_eq!(parse("v.-"), Err(Unreadable::NoNumber("v.-".into())));
}

#[test]
fn never_panics_on_odd_input() {
    for s in [
        "",
        "-",
        "--",
        "()",
        "(-)",
        "9999999999999",
        "v.4294967296",
        "1/",
        "/1",
        "(1990/)",
        "1990-(",
        ":::",
        "v.1:(",
        "1-2-",
        "12-",
        "(12-1)",
        "0001-0002",
        "v.1 (0)",
    ] {
        let _ = parse(s);
    }
}

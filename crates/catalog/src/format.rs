//! Material formats, as routing policies see them, and how a MARC record says which.

use serde::{Deserialize, Serialize};

use crate::marc::Record;

/// Material format of an item, as routing policies see it (3 bits in the index).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default, PartialOrd, Ord,
)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Printed books and other monographic text.
    #[default]
    Book,
    /// Journals and other serials (the format articles are copied from).
    Serial,
    /// Video, sound recordings, kits, and computer files on physical carriers (discs).
    AudioVisual,
    /// Microfilm, microfiche.
    Microform,
    /// Manuscripts, archives, rare material.
    Rare,
    /// Maps.
    Map,
    /// Printed music.
    Score,
    /// Online (remote) electronic resources: e-books, e-journals, websites. Never lent;
    /// copied only where the lender's licences allow it (see `rota_routing::directory`).
    Electronic,
}

impl Format {
    /// All formats, in their index order.
    pub const ALL: [Format; 8] = [
        Format::Book,
        Format::Serial,
        Format::AudioVisual,
        Format::Microform,
        Format::Rare,
        Format::Map,
        Format::Score,
        Format::Electronic,
    ];

    /// Index (0..8).
    pub fn index(self) -> u8 {
        self as u8
    }

    /// From index; out-of-range values map to `Electronic` (the catch-all).
    pub fn from_index(i: u8) -> Format {
        Format::ALL
            .get(usize::from(i))
            .copied()
            .unwrap_or(Format::Electronic)
    }

    /// Lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Format::Book => "book",
            Format::Serial => "serial",
            Format::AudioVisual => "audio_visual",
            Format::Microform => "microform",
            Format::Rare => "rare",
            Format::Map => "map",
            Format::Score => "score",
            Format::Electronic => "electronic",
        }
    }

    /// Parses a name (as in CSV files and requests).
    pub fn parse(s: &str) -> Option<Format> {
        let s = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        Some(match s.as_str() {
            "book" | "books" | "text" | "monograph" => Format::Book,
            "serial" | "serials" | "journal" | "article" | "articles" => Format::Serial,
            "audio_visual" | "av" | "video" | "audio" | "dvd" => Format::AudioVisual,
            "microform" | "microfilm" | "microfiche" => Format::Microform,
            "rare" | "manuscript" | "archive" => Format::Rare,
            "map" | "maps" => Format::Map,
            "score" | "music" => Format::Score,
            "electronic" | "online" | "other" => Format::Electronic,
            _ => return None,
        })
    }

    /// From leader/06–07, 008, 007, 300 and 338 of a MARC record. An online resource is
    /// [`Format::Electronic`] whatever its content ([`is_online`]).
    pub fn of_record(r: &Record) -> Format {
        if is_online(r) {
            return Format::Electronic;
        }
        let t = r.leader_byte(6);
        let lvl = r.leader_byte(7);
        let f008 = r.control("008").unwrap_or("");
        let form = f008.as_bytes().get(23).copied().unwrap_or(b' ');
        let micro = matches!(form, b'a' | b'b' | b'c')
            || r.control("007").is_some_and(|s| s.starts_with('h'));
        if micro {
            return Format::Microform;
        }
        match t {
            b'a' | b't' if matches!(lvl, b's' | b'b' | b'i') => Format::Serial,
            b'a' => Format::Book,
            b't' | b'd' | b'f' | b'p' => Format::Rare,
            b'c' => Format::Score,
            // a computer file that is not online is a disc or a cartridge: lent like AV
            b'j' | b'i' | b'g' | b'k' | b'o' | b'r' | b'm' => Format::AudioVisual,
            b'e' => Format::Map,
            _ => Format::Book,
        }
    }
}

/// Whether a record describes an online (remote) resource: 007/00–01 `cr`, 338 `$b cr`,
/// form of item `o` (008/23, or 008/29 for maps and visual material), "online resource"
/// in 300 `$a`, or form of item `s` (electronic) with an 856 to the resource itself
/// (second indicator 0) and no physical extent. An 856 alone proves nothing: print
/// records link tables of contents and publisher pages.
pub fn is_online(r: &Record) -> bool {
    if r.fields("007")
        .filter_map(|f| f.control.as_deref())
        .any(|c| c.starts_with("cr"))
    {
        return true;
    }
    if r.fields("338")
        .any(|f| f.subs(b'b').any(|v| v.trim() == "cr"))
    {
        return true;
    }
    let extent = r.field("300").and_then(|f| f.sub(b'a')).unwrap_or("");
    if extent.to_ascii_lowercase().contains("online resource") {
        return true;
    }
    let f008 = r.control("008").unwrap_or("").as_bytes();
    let pos = if matches!(r.leader_byte(6), b'e' | b'f' | b'g' | b'k' | b'o' | b'r') {
        29
    } else {
        23
    };
    match f008.get(pos) {
        Some(b'o') => true,
        Some(b's') => {
            let physical = extent.chars().any(|c| c.is_ascii_digit());
            !physical && r.fields("856").any(|f| f.ind[1] == b'0')
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::marc::{Field, Subfield};

    fn rec(leader6: u8, fields: Vec<Field>) -> Record {
        let mut leader = *b"00000nam a2200000 a 4500";
        leader[6] = leader6;
        Record {
            leader: String::from_utf8(leader.to_vec()).unwrap(),
            fields,
            warnings: vec![],
        }
    }

    fn control(tag: &[u8; 3], v: &str) -> Field {
        Field {
            tag: *tag,
            ind: *b"  ",
            control: Some(v.into()),
            subfields: vec![],
        }
    }

    fn data(tag: &[u8; 3], ind: &[u8; 2], subs: &[(u8, &str)]) -> Field {
        Field {
            tag: *tag,
            ind: *ind,
            control: None,
            subfields: subs
                .iter()
                .map(|(c, v)| Subfield {
                    code: *c,
                    value: (*v).into(),
                })
                .collect(),
        }
    }

    #[test]
    fn online_resources_are_electronic_and_discs_are_not() {
        let ebook = rec(b'a', vec![control(b"007", "cr |||||||||||")]);
        assert_eq!(Format::of_record(&ebook), Format::Electronic);
        let rda = rec(
            b'a',
            vec![data(
                b"338",
                b"  ",
                &[(b'a', "online resource"), (b'b', "cr")],
            )],
        );
        assert_eq!(Format::of_record(&rda), Format::Electronic);
        let extent = rec(
            b'a',
            vec![data(
                b"300",
                b"  ",
                &[(b'a', "1 online resource (xii, 300 pages)")],
            )],
        );
        assert_eq!(Format::of_record(&extent), Format::Electronic);
        // a print book with a link to its table of contents is a book
        let print = rec(
            b'a',
            vec![
                data(b"300", b"  ", &[(b'a', "xii, 300 p. :")]),
                data(b"856", b"42", &[(b'u', "http://example.org/toc")]),
            ],
        );
        assert_eq!(Format::of_record(&print), Format::Book);
        // a computer file on a floppy disk is lent like AV
        let floppy = rec(
            b'm',
            vec![data(b"300", b"  ", &[(b'a', "1 floppy disk ;")])],
        );
        assert_eq!(Format::of_record(&floppy), Format::AudioVisual);
        let mut f008 = " ".repeat(40);
        f008.replace_range(23..24, "s");
        let old_style = rec(
            b'a',
            vec![
                control(b"008", &f008),
                data(b"856", b"40", &[(b'u', "http://example.org/book.pdf")]),
            ],
        );
        assert!(is_online(&old_style));
    }
}

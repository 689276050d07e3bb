//! Which words of a title or name tell one book from another.
//!
//! A title's *significant* words are its normalised words ([`normalize_text`])
//! less the articles, prepositions and conjunctions of the languages most catalogues are
//! in: English, German, French, Spanish, Italian, Portuguese and Dutch, and the particles
//! of romanised Arabic and Persian (`al-`, `wa-`, `va`, `dar`, ...). French and Italian
//! elisions (`l'histoire`, `dell'arte`) are split before that, so the article goes and the
//! noun stays; other apostrophes join (`O'Brien` is `obrien`).
//!
//! *Genre words* are the form terms cataloguers put in a subtitle ("roman", "a novel",
//! "Gedichte", "poems"): two novels by different authors share "roman" and nothing else,
//! so comparing subtitles must not count them.
//!
//! [`tokens`] are what the title and author index holds: the significant words.
//!
//! The lists are short on purpose: a word left out costs a little recall in title
//! comparison; a real word wrongly listed would make two different titles look alike.

use unicode_normalization::UnicodeNormalization;

/// Articles, prepositions and conjunctions (normalised: lower case, no diacritics).
const STOP: &[&str] = &[
    // English
    "a", "an", "the", "of", "in", "on", "at", "to", "for", "from", "by", "with", "and", "or", "as",
    "into", "its", "upon", // German
    "der", "die", "das", "des", "dem", "den", "ein", "eine", "einer", "eines", "einem", "einen",
    "und", "oder", "von", "vom", "zu", "zum", "zur", "im", "am", "an", "auf", "aus", "bei", "mit",
    "nach", "uber", "fur", "um", // French
    "le", "la", "les", "l", "un", "une", "du", "de", "d", "et", "ou", "au", "aux", "en", "dans",
    "par", "pour", "sur", "avec", "sous", // Spanish
    "el", "los", "las", "unos", "unas", "del", "y", "e", "o", "u", "por", "para", "con", "al",
    "sin", // Italian
    "il", "lo", "i", "gli", "uno", "di", "della", "dei", "degli", "delle", "dello", "ed", "nel",
    "nella", "nei", "alla", "da", "dal", "dalla", "per", "su", "tra", "fra", "dell", "nell", "all",
    "dall", "sull", // Portuguese
    "os", "as", "um", "uma", "do", "da", "dos", "das", "em", "no", "na", "nos", "nas", "com",
    // Dutch
    "het", "een", "van", "op", "voor", "met", // romanised Arabic and Persian
    "wa", "va", "fi", "min", "ila", "bi", "li", "dar", "az", "ba", "bih", "ki",
];

/// Form and genre terms found in subtitles (normalised).
const GENRE: &[&str] = &[
    "roman",
    "romane",
    "romans",
    "novel",
    "novels",
    "novela",
    "novelas",
    "novella",
    "romanzo",
    "romanzi",
    "erzahlung",
    "erzahlungen",
    "novelle",
    "novellen",
    "gedichte",
    "gedicht",
    "poems",
    "poetry",
    "poesie",
    "poesia",
    "poesias",
    "poemas",
    "poemes",
    "poesies",
    "stories",
    "story",
    "short",
    "tales",
    "racconti",
    "racconto",
    "cuentos",
    "relatos",
    "nouvelles",
    "recit",
    "recits",
    "drama",
    "dramen",
    "play",
    "plays",
    "comedy",
    "komodie",
    "tragedy",
    "tragodie",
    "essay",
    "essays",
    "essais",
    "ensayo",
    "ensayos",
    "saggi",
    "saggio",
    "memoir",
    "memoirs",
    "memoires",
    "biography",
    "biographie",
    "biografia",
    "thriller",
    "krimi",
    "kriminalroman",
    "mystery",
    "lesebuch",
    "anthology",
    "anthologie",
    "antologia",
    "fiction",
    "sketches",
    "verse",
    "verses",
    "versos",
    "letters",
    "briefe",
    "lettres",
    "cartas",
    "lettere",
];

/// Words naming material that accompanies a book rather than the book: a supplement,
/// an appendix volume, an index, a summary, a workbook. A title with one and a title
/// without it are two items ("DDD, det digitale Danmark : bilag").
const ACCOMPANYING: &[&str] = &[
    "supplement",
    "supplements",
    "appendix",
    "appendices",
    "bilag",
    "anhang",
    "beilage",
    "beiheft",
    "erganzungsband",
    "index",
    "indexes",
    "indices",
    "register",
    "summary",
    "workbook",
    "suplemento",
    "supplemento",
    "annexe",
    "annexes",
];

/// Whether a normalised word names accompanying material.
pub fn is_accompanying(w: &str) -> bool {
    ACCOMPANYING.contains(&w)
}

/// Whether a normalised word is a stop word.
pub fn is_stop(w: &str) -> bool {
    STOP.contains(&w)
}

/// Whether a normalised word is a genre term.
pub fn is_genre(w: &str) -> bool {
    GENRE.contains(&w)
}

/// Elided articles and prepositions of French and Italian (`l'`, `dell'`): split from
/// the word they are glued to.
fn elides(fragment: &str) -> bool {
    matches!(
        fragment,
        "l" | "d"
            | "j"
            | "m"
            | "n"
            | "s"
            | "t"
            | "c"
            | "qu"
            | "lorsqu"
            | "jusqu"
            | "dell"
            | "nell"
            | "all"
            | "dall"
            | "sull"
            | "quell"
            | "un"
    )
}

/// Splits normalised text into words, undoing French and Italian elision.
pub fn words(normalised: &str) -> impl Iterator<Item = &str> {
    normalised.split(' ').flat_map(|w| {
        let (head, tail) = match w.find('\'') {
            Some(i) if elides(&w[..i]) && i + 1 < w.len() => (&w[..i], &w[i + 1..]),
            _ => (w, ""),
        };
        [head, tail].into_iter().filter(|s| !s.is_empty())
    })
}

/// Significant words of a title, in order, apostrophes dropped (`o'brien` → `obrien`).
/// A title made of stop words only ("It", "The Who") keeps them all: something must be
/// left to compare.
pub fn significant(title: &str) -> Vec<String> {
    let n = normalize_keep_apostrophes(title);
    let mut all: Vec<String> = Vec::new();
    // initialisms written with stops ("N.U.", "U.S.A.") are one word, as when written
    // without them ("NU", "USA")
    let mut run = String::new();
    for w in words(&n).map(|w| w.replace('\'', "")) {
        let single = w.chars().count() == 1 && w.chars().all(char::is_alphabetic);
        if single {
            run.push_str(&w);
            continue;
        }
        if !run.is_empty() {
            all.push(std::mem::take(&mut run));
        }
        all.push(w);
    }
    if !run.is_empty() {
        all.push(run);
    }
    let sig: Vec<String> = all
        .iter()
        .filter(|w| !w.is_empty() && !is_stop(w))
        .cloned()
        .collect();
    if sig.is_empty() {
        all.into_iter().filter(|w| !w.is_empty()).collect()
    } else {
        sig
    }
}

/// Lowercases, strips diacritics and the modifier letters of romanisation (ʻ ʼ ʾ ʿ),
/// turns punctuation into spaces and collapses runs of spaces; apostrophes vanish
/// (`O'Brien` is `obrien`). Letters of any script are kept.
pub fn normalize_text(s: &str) -> String {
    normalize_inner(s, false)
}

/// [`normalize_text`], but apostrophes stay (as `'`), so that [`crate::words`] can split
/// French and Italian elisions.
pub fn normalize_keep_apostrophes(s: &str) -> String {
    normalize_inner(s, true)
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '\u{2019}' | '\u{02BC}')
}

/// Modifier letters that romanisation uses for ayn, hamza and soft signs: patrons leave
/// them out, so the index does too.
fn is_romanisation_mark(c: char) -> bool {
    matches!(c, '\u{02B9}'..='\u{02BF}')
}

fn normalize_inner(s: &str, keep_apostrophes: bool) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = true;
    if s.is_ascii() {
        // most titles: no decomposition needed
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() {
                out.push(b.to_ascii_lowercase() as char);
                space = false;
            } else if b == b'\'' {
                if keep_apostrophes && !space {
                    out.push('\'');
                }
            } else if !space {
                out.push(' ');
                space = true;
            }
        }
        if out.ends_with(' ') {
            out.pop();
        }
        return out;
    }
    for c in s.nfd() {
        if unicode_normalization::char::is_combining_mark(c) || is_romanisation_mark(c) {
            continue;
        }
        if is_apostrophe(c) {
            if keep_apostrophes && !space {
                out.push('\'');
            }
        } else if c.is_alphanumeric() {
            for l in c.to_lowercase() {
                out.push(l);
            }
            space = false;
        } else if !space {
            out.push(' ');
            space = true;
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// Index tokens of a title or name: its significant words ([`significant`]) of at least
/// two characters, sorted and deduplicated. Long words are cut to 24 characters so one
/// pathological title cannot bloat the token dictionary.
pub fn tokens(s: &str) -> Vec<String> {
    let mut out: Vec<String> = significant(s)
        .into_iter()
        .filter(|w| w.chars().count() >= 2)
        .map(|w| w.chars().take(24).collect())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Optimal string alignment distance, capped: `true` when at most one edit (a
/// substitution, insertion, deletion or swap of neighbours) turns `a` into `b`.
pub fn one_edit(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let (la, lb) = (a.len(), b.len());
    if la.abs_diff(lb) > 1 {
        return false;
    }
    let mut i = 0;
    while i < la.min(lb) && a[i] == b[i] {
        i += 1;
    }
    if i == la && i == lb {
        return true;
    }
    if la == lb {
        // substitution, or a swap of neighbours
        a[i + 1..] == b[i + 1..]
            || (i + 1 < la && a[i] == b[i + 1] && a[i + 1] == b[i] && a[i + 2..] == b[i + 2..])
    } else if la > lb {
        a[i + 1..] == b[i..]
    } else {
        a[i..] == b[i + 1..]
    }
}

/// Whether `w` occurs in `set` (sorted), a word of five or more letters allowed one
/// typo; numbers must match exactly (volume and year numbers tell books apart).
pub fn has_word(set: &[String], w: &str) -> bool {
    if set.binary_search_by(|x| x.as_str().cmp(w)).is_ok() {
        return true;
    }
    let n = w.chars().count();
    n >= 5
        && !w.bytes().any(|b| b.is_ascii_digit())
        && set
            .iter()
            .any(|x| x.chars().count().abs_diff(n) <= 1 && one_edit(x, w))
}

/// Folds text to ASCII: decomposes, drops combining marks and the modifier letters of
/// romanisation (ʻ ʼ), keeps other characters.
pub fn ascii_fold(s: &str) -> String {
    s.nfd()
        .filter(|c| {
            !unicode_normalization::char::is_combining_mark(*c)
                && !matches!(*c, '\u{02BB}' | '\u{02BC}' | '\u{02B9}' | '\u{02BA}')
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_normalisation() {
        assert_eq!(
            normalize_text("Die Erste deutsche Arbeiterbewegung :"),
            "die erste deutsche arbeiterbewegung"
        );
        assert_eq!(normalize_text("Café—Noir!"), "cafe noir");
        assert_eq!(normalize_text("Maʻrakat Siyātil"), "marakat siyatil");
        assert_eq!(tokens("The Lord of the Rings"), vec!["lord", "rings"]);
    }

    #[test]
    fn stop_words_of_several_languages_go() {
        assert_eq!(significant("The Lord of the Rings"), ["lord", "rings"]);
        assert_eq!(
            significant("Die Fähre legt sich hin am Strand"),
            ["fahre", "legt", "sich", "hin", "strand"]
        );
        assert_eq!(
            significant("L'économie camerounaise : un espoir évanoui"),
            ["economie", "camerounaise", "espoir", "evanoui"]
        );
        assert_eq!(significant("Storia dell'arte"), ["storia", "arte"]);
        assert_eq!(
            significant("Maʻrakat Siyātil, ḥarb min ajl al-haymanah"),
            ["marakat", "siyatil", "harb", "ajl", "haymanah"]
        );
        assert_eq!(significant("O'Brien's tale"), ["obriens", "tale"]);
        assert_eq!(significant("The Who"), ["who"]);
        assert_eq!(
            significant("Muhammadiyah-N.U."),
            significant("Muhammadiyah-NU")
        );
        assert_eq!(significant("Vitamin A and B"), ["vitamin", "b"]);
        assert_eq!(significant("The"), ["the"]);
    }

    #[test]
    fn one_typo_in_a_long_word() {
        assert!(one_edit("condiute", "conduite"));
        assert!(one_edit("relevence", "relevance"));
        assert!(one_edit("atlas", "aglas"));
        assert!(!one_edit("atlas", "agls"));
        let set = vec!["1944".to_string(), "conduite".to_string()];
        assert!(has_word(&set, "condiute"));
        assert!(!has_word(&set, "1994"), "numbers match exactly");
    }

    #[test]
    fn genre_words() {
        assert!(is_genre("roman"));
        assert!(is_genre("gedichte"));
        assert!(!is_genre("strand"));
    }
}

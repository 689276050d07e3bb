//! A bounded element tree read from untrusted bytes.
//!
//! ISO 18626 messages are small (a request is a few kilobytes), so a message is read
//! whole into a tree of elements before it is interpreted; the reader refuses, before
//! building anything large, what a hostile peer could use against us: input over
//! [`MAX_BYTES`], nesting over [`MAX_DEPTH`], more than [`MAX_ELEMENTS`] elements, any
//! `<!DOCTYPE>` (the only place entities can be declared: refusing it makes entity
//! expansion, billion laughs and external entities impossible, not merely limited), any
//! entity reference other than XML's five and character references, input that is not
//! UTF-8, and elements outside the ISO 18626 namespace.

use quick_xml::NsReader;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;

/// The ISO 18626 namespace (versions 1.2 and 2021 share it).
pub const NS: &str = "http://illtransactions.org/2013/iso18626";

/// Largest message accepted, in bytes.
pub const MAX_BYTES: usize = 1 << 20;
/// Deepest nesting accepted (the schema's deepest path is 7).
pub const MAX_DEPTH: usize = 24;
/// Most elements accepted in one message.
pub const MAX_ELEMENTS: usize = 20_000;

/// An element: its local name (namespace checked), attributes by local name, children
/// and the text directly inside it (trimmed).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Element {
    /// Local name.
    pub name: String,
    /// Attributes, by local name (namespace declarations left out).
    pub attrs: Vec<(String, String)>,
    /// Child elements in document order.
    pub children: Vec<Element>,
    /// Text content, trimmed.
    pub text: String,
}

impl std::fmt::Debug for Element {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // elements can carry patron data: their content never reaches a log
        write!(f, "<{}> ({} children)", self.name, self.children.len())
    }
}

impl Element {
    /// The first child of that name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// An attribute's value.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why bytes are not a well-formed, acceptable ISO 18626 document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// Over [`MAX_BYTES`].
    #[error("message of {0} bytes is over the limit of {MAX_BYTES}")]
    TooLarge(usize),
    /// Over [`MAX_DEPTH`].
    #[error("elements nested deeper than {MAX_DEPTH}")]
    TooDeep,
    /// Over [`MAX_ELEMENTS`].
    #[error("more than {MAX_ELEMENTS} elements")]
    TooMany,
    /// A document type declaration.
    #[error("a DOCTYPE is not allowed (no DTDs, no entity declarations)")]
    DocType,
    /// Not UTF-8.
    #[error("not UTF-8 at byte {0}")]
    NotUtf8(usize),
    /// An element outside the ISO 18626 namespace.
    #[error("element {element} is not in the ISO 18626 namespace ({found})")]
    Namespace {
        /// The element's name as written.
        element: String,
        /// The namespace it is in, or "none".
        found: String,
    },
    /// Not well-formed XML (quick-xml's reason, with the byte offset).
    #[error("not well-formed XML at byte {at}: {why}")]
    Malformed {
        /// Byte offset.
        at: u64,
        /// Why.
        why: String,
    },
    /// No root element.
    #[error("empty document")]
    Empty,
}

/// Reads a document into its root element.
pub fn parse(bytes: &[u8]) -> Result<Element, XmlError> {
    if bytes.len() > MAX_BYTES {
        return Err(XmlError::TooLarge(bytes.len()));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| XmlError::NotUtf8(e.valid_up_to()))?;
    let mut r = NsReader::from_str(text);
    r.config_mut().trim_text(true);
    r.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    loop {
        let at = r.buffer_position();
        let malformed = |why: String| XmlError::Malformed { at, why };
        let (ns, ev) = r
            .read_resolved_event()
            .map_err(|e| malformed(e.to_string()))?;
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let qname = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                match ns {
                    ResolveResult::Bound(n) if n.as_ref() == NS.as_bytes() => {}
                    ResolveResult::Bound(n) => {
                        return Err(XmlError::Namespace {
                            element: qname,
                            found: String::from_utf8_lossy(n.as_ref()).into_owned(),
                        });
                    }
                    ResolveResult::Unbound | ResolveResult::Unknown(_) => {
                        return Err(XmlError::Namespace {
                            element: qname,
                            found: "none".into(),
                        });
                    }
                }
                if root.is_some() {
                    return Err(malformed("content after the root element".into()));
                }
                count += 1;
                if count > MAX_ELEMENTS {
                    return Err(XmlError::TooMany);
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(XmlError::TooDeep);
                }
                let mut el = Element {
                    name: String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
                    ..Element::default()
                };
                for a in e.attributes() {
                    let a = a.map_err(|e| malformed(e.to_string()))?;
                    let key = a.key;
                    if key.as_ref() == b"xmlns"
                        || key.prefix().is_some_and(|p| p.as_ref() == b"xmlns")
                    {
                        continue;
                    }
                    let v = a.unescape_value().map_err(|e| malformed(e.to_string()))?;
                    el.attrs.push((
                        String::from_utf8_lossy(key.local_name().as_ref()).into_owned(),
                        v.into_owned(),
                    ));
                }
                if matches!(ev, Event::Empty(_)) {
                    close(el, &mut stack, &mut root);
                } else {
                    stack.push(el);
                }
            }
            Event::End(_) => {
                let el = stack
                    .pop()
                    .ok_or_else(|| malformed("end tag without a start".into()))?;
                close(el, &mut stack, &mut root);
            }
            Event::Text(t) => {
                let s = t.unescape().map_err(|e| malformed(e.to_string()))?;
                match stack.last_mut() {
                    Some(el) => el.text.push_str(s.trim()),
                    None if s.trim().is_empty() => {}
                    None => return Err(malformed("text outside the root element".into())),
                }
            }
            Event::CData(c) => {
                let s = std::str::from_utf8(&c).map_err(|e| malformed(e.to_string()))?;
                match stack.last_mut() {
                    Some(el) => el.text.push_str(s.trim()),
                    None => return Err(malformed("CDATA outside the root element".into())),
                }
            }
            Event::DocType(_) => return Err(XmlError::DocType),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => {
                if !stack.is_empty() {
                    return Err(malformed("unclosed elements at the end".into()));
                }
                return root.ok_or(XmlError::Empty);
            }
        }
    }
}

/// Writes a tree as a document in the ISO 18626 namespace (default namespace, no
/// prefixes: every element the reader keeps is in it), escaping every text and value.
pub fn write(root: &Element) -> String {
    write_in(root, NS)
}

/// Writes a tree as a document whose elements are all in namespace `ns` (the same
/// writer serves the other XML protocols of ILL, such as NCIP).
pub fn write_in(root: &Element, ns: &str) -> String {
    use quick_xml::Writer;
    use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText};

    fn element(w: &mut Writer<Vec<u8>>, el: &Element, top: Option<&str>) {
        let mut start = BytesStart::new(el.name.as_str());
        if let Some(ns) = top {
            start.push_attribute(("xmlns", ns));
        }
        for (k, v) in &el.attrs {
            start.push_attribute((k.as_str(), v.as_str()));
        }
        if el.children.is_empty() && el.text.is_empty() {
            // writing to a Vec cannot fail
            let _ = w.write_event(Event::Empty(start));
            return;
        }
        let _ = w.write_event(Event::Start(start));
        if !el.text.is_empty() {
            let _ = w.write_event(Event::Text(BytesText::new(&el.text)));
        }
        for c in &el.children {
            element(w, c, None);
        }
        let _ = w.write_event(Event::End(BytesEnd::new(el.name.as_str())));
    }

    let mut w = Writer::new(Vec::new());
    let _ = w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    element(&mut w, root, Some(ns));
    String::from_utf8(w.into_inner()).unwrap_or_default()
}

impl Element {
    /// An element with text and no children.
    pub fn leaf(name: &str, text: impl Into<String>) -> Element {
        Element {
            name: name.into(),
            text: text.into(),
            ..Element::default()
        }
    }

    /// An element with children and no text.
    pub fn node(name: &str, children: Vec<Element>) -> Element {
        Element {
            name: name.into(),
            children,
            ..Element::default()
        }
    }
}

fn close(el: Element, stack: &mut [Element], root: &mut Option<Element>) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(el),
        None => *root = Some(el),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_namespaced_tree_with_any_prefix() {
        for doc in [
            format!(
                r#"<ISO18626Message xmlns="{NS}" version="1.2"><a>x &amp; y</a><b/></ISO18626Message>"#
            ),
            format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><ill:ISO18626Message xmlns:ill="{NS}" ill:version="1.2"><ill:a>x &amp; y</ill:a><ill:b/></ill:ISO18626Message>"#
            ),
        ] {
            let el = parse(doc.as_bytes()).unwrap();
            assert_eq!(el.name, "ISO18626Message");
            assert_eq!(el.attr("version"), Some("1.2"));
            assert_eq!(el.child("a").unwrap().text, "x & y");
            assert!(el.child("b").is_some());
        }
    }

    #[test]
    fn a_written_tree_reads_back_the_same() {
        let doc = format!(
            r#"<x:ISO18626Message xmlns:x="{NS}" x:version="2021-2"><x:a s="1 &amp; 2">x &lt; y</x:a><x:b/><x:c><x:d>é ü</x:d></x:c></x:ISO18626Message>"#
        );
        let tree = parse(doc.as_bytes()).unwrap();
        let again = write(&tree);
        assert_eq!(parse(again.as_bytes()).unwrap(), tree);
        assert!(again.contains("s=\"1 &amp; 2\""), "{again}");
    }

    #[test]
    fn refuses_what_could_hurt() {
        let ns = |body: &str| format!(r#"<m xmlns="{NS}">{body}</m>"#);
        let laughs = format!(
            r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><m xmlns="{NS}">&lol2;</m>"#
        );
        assert_eq!(parse(laughs.as_bytes()), Err(XmlError::DocType));
        let xxe = format!(
            r#"<!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]><m xmlns="{NS}">&x;</m>"#
        );
        assert_eq!(parse(xxe.as_bytes()), Err(XmlError::DocType));
        assert!(matches!(
            parse(ns("&undefined;").as_bytes()),
            Err(XmlError::Malformed { .. })
        ));
        let deep = ns(&"<a>".repeat(MAX_DEPTH + 1));
        assert_eq!(parse(deep.as_bytes()), Err(XmlError::TooDeep));
        let many = ns(&"<a/>".repeat(MAX_ELEMENTS + 1));
        assert_eq!(parse(many.as_bytes()), Err(XmlError::TooMany));
        let huge = vec![b' '; MAX_BYTES + 1];
        assert_eq!(parse(&huge), Err(XmlError::TooLarge(MAX_BYTES + 1)));
        assert_eq!(parse(b"<m>\xff</m>"), Err(XmlError::NotUtf8(3)));
        assert!(matches!(
            parse(b"<m/>"),
            Err(XmlError::Namespace { found, .. }) if found == "none"
        ));
        assert!(matches!(
            parse(br#"<m xmlns="http://example.org/other"/>"#),
            Err(XmlError::Namespace { .. })
        ));
        assert!(matches!(
            parse(ns("<a></b>").as_bytes()),
            Err(XmlError::Malformed { .. })
        ));
        assert!(matches!(
            parse(format!("{}<m xmlns=\"{NS}\"/>", ns("")).as_bytes()),
            Err(XmlError::Malformed { .. })
        ));
        assert_eq!(parse(b"  "), Err(XmlError::Empty));
    }
}

//! The citation flags `rota route` and `rota catalog lookup` share.

use clap::Args;
use rota_catalog::Citation;

#[derive(Args, Clone)]
pub struct CitationArgs {
    /// ISBN.
    #[arg(long)]
    pub isbn: Option<String>,
    /// ISSN.
    #[arg(long)]
    pub issn: Option<String>,
    /// OCLC number.
    #[arg(long)]
    pub oclc: Option<String>,
    /// LCCN.
    #[arg(long)]
    pub lccn: Option<String>,
    /// Title.
    #[arg(long)]
    pub title: Option<String>,
    /// Author.
    #[arg(long)]
    pub author: Option<String>,
    /// Year.
    #[arg(long)]
    pub year: Option<u16>,
    /// Language of the text (MARC code: eng, ger, fre, ...).
    #[arg(long)]
    pub language: Option<String>,
}

impl CitationArgs {
    pub fn citation(&self) -> Citation {
        Citation {
            isbn: self.isbn.clone(),
            issn: self.issn.clone(),
            oclc: self.oclc.clone(),
            lccn: self.lccn.clone(),
            title: self.title.clone(),
            author: self.author.clone(),
            year: self.year,
            language: self.language.clone(),
        }
    }
}

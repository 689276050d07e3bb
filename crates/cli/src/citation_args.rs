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
    /// The journal's electronic ISSN (an article's).
    #[arg(long)]
    pub eissn: Option<String>,
    /// Volume (an article's; checked against each holder's coverage of the serial).
    #[arg(long)]
    pub volume: Option<String>,
    /// Issue.
    #[arg(long)]
    pub issue: Option<String>,
    /// Pages.
    #[arg(long)]
    pub pages: Option<String>,
    /// Date of the issue: YYYY, YYYY-MM or YYYY-MM-DD (a full date checks moving walls
    /// counted in days exactly).
    #[arg(long)]
    pub date: Option<String>,
    /// The article's title (--title is then the journal's).
    #[arg(long = "article-title")]
    pub article_title: Option<String>,
    /// The article's DOI.
    #[arg(long)]
    pub doi: Option<String>,
    /// The article's PubMed id.
    #[arg(long)]
    pub pmid: Option<String>,
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
            eissn: self.eissn.clone(),
            volume: self.volume.clone(),
            issue: self.issue.clone(),
            pages: self.pages.clone(),
            date: self.date.clone(),
            article_title: self.article_title.clone(),
            doi: self.doi.clone(),
            pmid: self.pmid.clone(),
        }
    }
}

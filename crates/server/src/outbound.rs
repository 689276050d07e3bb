//! HTTP to other libraries' systems (ISO 18626 peers, catalogues answering SRU and NCIP):
//! one way to make the client, and answers read without letting the other side decide
//! how much memory they take.

use std::time::Duration;

/// A client whose connects and requests give up after `timeout`.
pub fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(timeout)
        .timeout(timeout)
        .user_agent(concat!("rota/", env!("CARGO_PKG_VERSION")))
        .build()
        // only a TLS backend that cannot start fails here; the default client has the same
        .unwrap_or_default()
}

/// An answer's body, if its status is a success and it is at most `max` bytes.
pub async fn body_within(resp: reqwest::Response, max: usize) -> Result<Vec<u8>, String> {
    if !resp.status().is_success() {
        return Err(format!("HTTP {}", resp.status()));
    }
    let mut resp = resp;
    let mut body = Vec::new();
    while let Some(c) = resp.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + c.len() > max {
            return Err(format!("the answer is over {max} bytes"));
        }
        body.extend_from_slice(&c);
    }
    Ok(body)
}

/// POSTs an XML document; the answer's body (see [`body_within`]).
pub async fn post_xml(
    client: &reqwest::Client,
    to: &str,
    body: String,
    max: usize,
) -> Result<Vec<u8>, String> {
    let resp = client
        .post(to)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/xml; charset=utf-8",
        )
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    body_within(resp, max).await
}

//! Handing things to the rest of the desktop: links from replies to the user's browser, indexed
//! files to their default app.
//!
//! The webview itself never navigates (there is no back button, and the CSP allows no remote
//! content), so a link the model wrote is checked here and given to the system. Only web links
//! pass: a reply is model output, and `file:`, `javascript:` or a custom URL scheme could start
//! programs or reach local files.

use std::path::Path;

use crate::error::Error;

/// Longest link accepted; real links are far shorter, and a huge one is not worth a browser.
const MAX_LINK_CHARS: usize = 2048;

/// The link as it will be opened, when it is an absolute `http` or `https` link with a host.
pub fn checked_link(raw: &str) -> Result<url::Url, Error> {
    let shown: String = raw.chars().take(120).collect();
    let refuse = |why: &str| Error::InvalidRequest(format!("{shown:?} cannot be opened: {why}"));
    if raw.chars().count() > MAX_LINK_CHARS {
        return Err(refuse(&format!("it is longer than {MAX_LINK_CHARS} characters")));
    }
    // The parser would quietly drop tabs and newlines; a link that holds them is not one a
    // person wrote.
    if raw.chars().any(char::is_control) {
        return Err(refuse("it holds control characters"));
    }
    let url = url::Url::parse(raw.trim()).map_err(|error| refuse(&format!("it is not a full link ({error})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(refuse(&format!("only web links (http, https) are opened, not {}:", url.scheme())));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(refuse("it names no host"));
    }
    Ok(url)
}

/// `open_link`: a web link, in the user's browser.
pub fn open_link(raw: &str) -> Result<(), Error> {
    let url = checked_link(raw)?;
    // Detached: the browser may keep running long after, and the app must not wait for it.
    open::that_detached(url.as_str())
        .map_err(|error| Error::OpenFailed(format!("cannot open {url} in a browser: {error}")))
}

/// An indexed file, in the system's default app for its type.
pub fn open_file(path: &Path) -> Result<(), Error> {
    if !path.is_file() {
        return Err(Error::NotFound(format!("{} is no longer there", path.display())));
    }
    open::that_detached(path).map_err(|error| Error::OpenFailed(format!("cannot open {}: {error}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_links_pass_as_written() {
        for link in ["https://onnxruntime.ai/docs/", "http://localhost:8080/a?b=c#d", " https://example.org "] {
            let url = checked_link(link).map_err(|e| e.to_string());
            assert!(url.is_ok(), "{link}: {url:?}");
        }
        assert_eq!(
            checked_link("HTTPS://Example.org/x").map(|u| u.to_string()).ok(),
            Some("https://example.org/x".into())
        );
    }

    #[test]
    fn everything_else_is_refused_with_the_reason() {
        let cases = [
            ("javascript:alert(1)", "only web links"),
            ("file:///etc/passwd", "only web links"),
            ("data:text/html,<script>1</script>", "only web links"),
            ("vscode://open?file=/x", "only web links"),
            ("ftp://example.org/f", "only web links"),
            ("/relative/path", "not a full link"),
            ("", "not a full link"),
            ("https://exa\nmple.org", "control characters"),
            ("http://", "not a full link"),
        ];
        for (link, why) in cases {
            let error = checked_link(link).map(|u| u.to_string()).expect_err(link);
            assert_eq!(error.code(), "invalid_request", "{link}");
            assert!(error.to_string().contains(why), "{link}: {error}");
        }
        let long = format!("https://example.org/{}", "a".repeat(MAX_LINK_CHARS));
        assert!(checked_link(&long).is_err_and(|e| e.to_string().contains("longer than 2048")));
    }

    #[test]
    fn a_file_that_went_away_is_not_found() {
        let error = open_file(Path::new("/no/such/file.md")).map_err(|e| e.code());
        assert_eq!(error, Err("not_found"));
    }
}

//! Which URLs Microsoft's answers may send the gateway to (no SSRF through manifests).
//!
//! A manifest names the folder (`rootDirectory`) and files the gateway then downloads, and an
//! operation names the manifest's URL: both come from outside. The gateway follows them only
//! over HTTPS (port 443) to hosts the configuration allows (default `*.blob.core.windows.net`
//! and the Graph host), or to exact `http://host:port` origins allowed in development (the
//! built-in simulator's listeners). Anything else (another scheme such as `file:`, another host,
//! an IP literal, credentials in the URL, another port) is refused and logged, query stripped.

use url::{Host, Url};

/// A host the gateway may download from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    /// `graph.microsoft.com`
    Exact(String),
    /// `*.blob.core.windows.net`: any name ending in `.blob.core.windows.net` (not the bare suffix).
    Suffix(String),
}

impl HostPattern {
    fn parse(pattern: &str) -> Option<Self> {
        let pattern = pattern.trim().to_ascii_lowercase();
        let valid = |name: &str| {
            !name.is_empty()
                && name
                    .split('.')
                    .all(|label| !label.is_empty() && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        };
        match pattern.strip_prefix("*.") {
            Some(suffix) if valid(suffix) && suffix.contains('.') => Some(Self::Suffix(format!(".{suffix}"))),
            Some(_) => None,
            None if valid(&pattern) => Some(Self::Exact(pattern)),
            None => None,
        }
    }

    fn matches(&self, host: &str) -> bool {
        match self {
            Self::Exact(name) => host == name,
            Self::Suffix(suffix) => host.len() > suffix.len() && host.ends_with(suffix.as_str()),
        }
    }
}

/// The allow-list.
#[derive(Debug, Clone, Default)]
pub struct UrlPolicy {
    https_hosts: Vec<HostPattern>,
    /// Exact `http` origins (development only): host and port.
    http_origins: Vec<(String, u16)>,
}

/// Why a URL was refused; shown to the caller in general words, logged with the safe parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub why: &'static str,
}

impl UrlPolicy {
    /// `hosts`: DNS names or `*.` wildcards followed over HTTPS. A bad pattern is returned as `Err`.
    pub fn new(hosts: &[String]) -> Result<Self, String> {
        let https_hosts =
            hosts.iter().map(|h| HostPattern::parse(h).ok_or_else(|| h.clone())).collect::<Result<Vec<_>, String>>()?;
        Ok(Self { https_hosts, http_origins: Vec::new() })
    }

    /// Also allows this exact `http://host:port` origin (the simulator; development only).
    pub fn allow_http_origin(&mut self, origin: &Url) -> Result<(), String> {
        match (origin.scheme(), origin.host_str(), origin.port_or_known_default()) {
            ("http", Some(host), Some(port)) => {
                self.http_origins.push((host.to_ascii_lowercase(), port));
                Ok(())
            }
            _ => Err(origin.as_str().to_owned()),
        }
    }

    /// Also allows the host of this HTTPS URL (the Graph host).
    pub fn allow_https_host_of(&mut self, url: &Url) {
        if url.scheme() == "https"
            && let Some(Host::Domain(host)) = url.host()
        {
            self.https_hosts.push(HostPattern::Exact(host.to_ascii_lowercase()));
        }
    }

    pub fn check(&self, url: &Url) -> Result<(), Refused> {
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refused { why: "carries credentials" });
        }
        match url.scheme() {
            "https" => {
                let Some(Host::Domain(host)) = url.host() else {
                    return Err(Refused { why: "names no allowed host (an IP address or none)" });
                };
                if url.port().is_some_and(|port| port != 443) {
                    return Err(Refused { why: "uses a port other than 443" });
                }
                let host = host.to_ascii_lowercase();
                if self.https_hosts.iter().any(|pattern| pattern.matches(&host)) {
                    Ok(())
                } else {
                    Err(Refused { why: "names a host that is not allowed" })
                }
            }
            "http" => {
                let origin = url.host_str().map(str::to_ascii_lowercase).zip(url.port_or_known_default());
                if origin.is_some_and(|origin| self.http_origins.contains(&origin)) {
                    Ok(())
                } else {
                    Err(Refused { why: "is not HTTPS" })
                }
            }
            _ => Err(Refused { why: "uses a scheme other than HTTPS" }),
        }
    }
}

/// `scheme://host[:port]/path`: a URL as it may be logged (no query: a SAS is a secret).
pub fn loggable(url: &Url) -> String {
    let mut shown = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""));
    if let Some(port) = url.port() {
        shown.push_str(&format!(":{port}"));
    }
    shown.push_str(url.path());
    shown
}

/// The same for a string that may not even parse: everything before `?` or `#`, at most 200 chars.
pub fn loggable_text(text: &str) -> String {
    text.split(['?', '#']).next().unwrap_or_default().chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> UrlPolicy {
        let mut policy = UrlPolicy::new(&["*.blob.core.windows.net".to_owned()]).expect("valid");
        policy.allow_https_host_of(&Url::parse("https://graph.microsoft.com/v1.0/").expect("url"));
        policy.allow_http_origin(&Url::parse("http://127.0.0.1:4100/").expect("url")).expect("http origin");
        policy
    }

    fn check(url: &str) -> Result<(), Refused> {
        policy().check(&Url::parse(url).expect("url"))
    }

    #[test]
    fn storage_and_graph_over_https_pass() {
        assert!(
            check("https://adlsreconbuprodeastus201.blob.core.windows.net/billedusagefastpath/v1/x.json.gz?sv=1")
                .is_ok()
        );
        assert!(check("https://ACCOUNT.Blob.Core.Windows.Net:443/c/x").is_ok());
        assert!(check("https://graph.microsoft.com/v1.0/reports/partners/billing/manifests/1").is_ok());
        assert!(check("http://127.0.0.1:4100/account/container/x.json.gz").is_ok(), "the allowed dev origin");
    }

    #[test]
    fn everything_else_is_refused() {
        for url in [
            "http://adls.blob.core.windows.net/c/x",
            "http://127.0.0.1:4101/x",
            "http://localhost:4100/x",
            "https://127.0.0.1/x",
            "https://[::1]/x",
            "https://169.254.169.254/latest/meta-data",
            "https://blob.core.windows.net/x",
            "https://evil.example.com/x",
            "https://adls.blob.core.windows.net.evil.example.com/x",
            "https://adls.blob.core.windows.net:8443/x",
            "https://user:pass@adls.blob.core.windows.net/x",
            "file:///etc/passwd",
            "ftp://adls.blob.core.windows.net/x",
            "gopher://127.0.0.1:4100/x",
        ] {
            assert!(check(url).is_err(), "{url} must be refused");
        }
    }

    #[test]
    fn bad_patterns_are_named() {
        assert_eq!(UrlPolicy::new(&["*.".to_owned()]).map(|_| ()), Err("*.".to_owned()));
        assert_eq!(UrlPolicy::new(&["*.com".to_owned()]).map(|_| ()), Err("*.com".to_owned()));
        assert!(UrlPolicy::new(&["https://x.example.com".to_owned()]).is_err());
        assert!(UrlPolicy::new(&["storage.contoso.example".to_owned()]).is_ok());
    }

    #[test]
    fn logged_urls_carry_no_query() {
        let url = Url::parse("https://a.blob.core.windows.net/c/x.json.gz?sv=2021&sig=SECRET").expect("url");
        assert_eq!(loggable(&url), "https://a.blob.core.windows.net/c/x.json.gz");
        assert_eq!(loggable_text("file:///etc/passwd?sig=SECRET"), "file:///etc/passwd");
    }
}

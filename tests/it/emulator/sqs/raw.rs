//! Raw HTTP requests to the backend, for what the SDK cannot express or hides (query-protocol
//! bodies, absent JSON keys, headers): over a bare TCP socket when there is an endpoint, or
//! through `Emulator::handle` on the in-process edge.

use bytes::Bytes;

use crate::support::Env;

/// One answer: status, headers (names lower-case) and body.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    /// The texts of every `<name>` element, in document order.
    pub fn all(&self, name: &str) -> Vec<String> {
        let (open, close) = (format!("<{name}>"), format!("</{name}>"));
        let mut out = Vec::new();
        let mut rest = self.body.as_str();
        while let Some((_, after)) = rest.split_once(&open) {
            let Some((text, tail)) = after.split_once(&close) else {
                break;
            };
            out.push(unescape(text));
            rest = tail;
        }
        out
    }

    /// The text of the one `<name>` element.
    pub fn one(&self, name: &str) -> String {
        let all = self.all(name);
        assert_eq!(all.len(), 1, "one <{name}> in {}", self.body);
        all.into_iter().next().unwrap_or_default()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#13;", "\r")
        .replace("&amp;", "&")
}

/// An SQS JSON-protocol request (`X-Amz-Target: AmazonSQS.<op>`) with extra headers.
pub async fn sqs_json(
    env: &Env,
    op: &str,
    body: serde_json::Value,
    headers: &[(&str, &str)],
) -> Answer {
    let target = format!("AmazonSQS.{op}");
    let mut all = vec![
        ("x-amz-target", target.as_str()),
        ("content-type", "application/x-amz-json-1.0"),
    ];
    all.extend_from_slice(headers);
    request(env, "POST", "/", &all, body.to_string()).await
}

/// `method uri` with `headers` and `body`.
pub async fn request(
    env: &Env,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: String,
) -> Answer {
    if let Some(url) = env.endpoint_url() {
        return over_tcp(&url, method, uri, headers, body).await;
    }
    let emulator = env.emulator().expect("the in-process edge has an emulator");
    let mut request = http::Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "emulator.local");
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = emulator
        .handle(request.body(Bytes::from(body)).expect("request"))
        .await;
    Answer {
        status: response.status().as_u16(),
        headers: response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    v.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect(),
        body: String::from_utf8_lossy(response.body()).into_owned(),
    }
}

/// A bare HTTP/1.1 request over TCP (the suite has no HTTP client crate), reading to EOF.
async fn over_tcp(
    url: &str,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: String,
) -> Answer {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = url.strip_prefix("http://").expect("an http:// endpoint");
    let host = host.trim_end_matches('/');
    let mut stream = tokio::net::TcpStream::connect(host).await.expect("connect");
    let mut request = format!("{method} {uri} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP response");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Answer {
        status,
        headers,
        body,
    }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

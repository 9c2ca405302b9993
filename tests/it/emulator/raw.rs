//! Raw requests for what no official SDK can express or show (CBOR bodies, a whole error
//! body): one POST, over a bare TCP socket when the environment has an HTTP endpoint, else
//! through the embedded emulator's router.

use crate::support::Env;

/// One raw answer.
pub struct Raw {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// POSTs `body` with `X-Amz-Target: target` and `content_type`.
pub async fn post(env: &Env, target: &str, content_type: &str, body: Vec<u8>) -> Raw {
    match env.endpoint_url() {
        Some(url) => post_over_tcp(&url, target, content_type, &body).await,
        None => {
            let emulator = env.emulator().expect("the in-process edge has an emulator");
            let request = http::Request::post("/")
                .header("x-amz-target", target)
                .header("content-type", content_type)
                .body(bytes::Bytes::from(body))
                .unwrap();
            let response = emulator.handle(request).await;
            let content_type = response.headers()["content-type"]
                .to_str()
                .unwrap()
                .to_owned();
            Raw {
                status: response.status().as_u16(),
                content_type,
                body: response.into_body().to_vec(),
            }
        }
    }
}

/// POSTs a JSON body; the answer's status and JSON body.
pub async fn post_json(
    env: &Env,
    target: &str,
    content_type: &str,
    body: &serde_json::Value,
) -> (u16, serde_json::Value) {
    let raw = post(env, target, content_type, serde_json::to_vec(body).unwrap()).await;
    let json = serde_json::from_slice(&raw.body)
        .unwrap_or_else(|e| panic!("{target}: not JSON ({e}): {:?}", raw.body));
    (raw.status, json)
}

/// A bare HTTP/1.1 POST (no HTTP client crate needed), signed with a placeholder SigV4 header
/// (emulators accept any signature).
async fn post_over_tcp(url: &str, target: &str, content_type: &str, body: &[u8]) -> Raw {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = url
        .strip_prefix("http://")
        .expect("an http:// endpoint")
        .trim_end_matches('/');
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nX-Amz-Target: {target}\r\n\
         Content-Type: {content_type}\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP head");
    let head = String::from_utf8_lossy(&response[..split]).to_string();
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    let header = |name: &str| {
        head.lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
            })
            .unwrap_or_default()
    };
    let mut body = response[split + 4..].to_vec();
    if let Ok(length) = header("content-length").parse::<usize>() {
        body.truncate(length);
    }
    Raw {
        status,
        content_type: header("content-type"),
        body,
    }
}

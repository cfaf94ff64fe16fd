//! A deliberately small HTTP/1.1 server over TCP or TLS, one thread per connection.
//!
//! Hand-written rather than hyper so that faults can be exactly what a real network does:
//! a body cut short after its `Content-Length` was promised, a connection closed with no
//! answer at all. Supports keep-alive, `Content-Length` and chunked request bodies, and
//! `Expect: 100-continue` (curl sends it).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

const MAX_HEAD: usize = 64 << 10;
const MAX_BODY: usize = 256 << 20;
const IDLE: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub struct Request {
    pub method: String,
    /// The path without the query string.
    pub path: String,
    pub query: String,
    headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// How a response reaches the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Full,
    /// Promise the whole `Content-Length`, send half the body, close.
    Truncated,
    /// Close the connection without sending anything.
    Dropped,
    /// Never answer; keep the connection open until the client gives up.
    Hang,
    /// Promise this many bytes in `Content-Length`, send the body, close.
    Announce(u64),
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub delivery: Delivery,
}

impl Response {
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Response {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
            delivery: Delivery::Full,
        }
    }

    pub fn json(status: u16, value: &serde_json::Value) -> Self {
        Self::new(status, "application/json", value.to_string())
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

pub type Handler = Arc<dyn Fn(&Request) -> Response + Send + Sync>;

/// Accepts connections on `listener` until the process ends.
pub fn serve(listener: TcpListener, tls: Option<Arc<rustls::ServerConfig>>, handler: Handler) {
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let tls = tls.clone();
            let handler = handler.clone();
            thread::spawn(move || {
                let _ = stream.set_nodelay(true);
                let _ = stream.set_read_timeout(Some(IDLE));
                match tls {
                    Some(config) => {
                        let Ok(conn) = rustls::ServerConnection::new(config) else {
                            return;
                        };
                        connection(rustls::StreamOwned::new(conn, stream), &handler);
                    }
                    None => connection(stream, &handler),
                }
            });
        }
    });
}

trait Closable {
    /// Ends the connection politely (TLS close_notify) where the protocol has a way.
    fn close(&mut self) {}
}
impl Closable for TcpStream {}
impl Closable for rustls::StreamOwned<rustls::ServerConnection, TcpStream> {
    fn close(&mut self) {
        self.conn.send_close_notify();
        let _ = self.flush();
    }
}

fn connection<S: Read + Write + Closable>(stream: S, handler: &Handler) {
    let mut reader = BufReader::new(stream);
    loop {
        let request = match read_request(&mut reader) {
            Ok(Some(request)) => request,
            Ok(None) | Err(_) => return,
        };
        let close = request
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let response = handler(&request);
        let stream = reader.get_mut();
        match response.delivery {
            // Dropping the stream closes the socket: no status line, no TLS alert.
            Delivery::Dropped => return,
            Delivery::Hang => {
                std::thread::sleep(Duration::from_secs(120));
                return;
            }
            Delivery::Announce(length) => {
                let head = head(&response, length as usize);
                let _ = stream.write_all(&[head.as_bytes(), &response.body].concat());
                let _ = stream.flush();
                return;
            }
            Delivery::Truncated => {
                let head = head(&response, response.body.len());
                let half = &response.body[..response.body.len() / 2];
                let _ = stream.write_all(&[head.as_bytes(), half].concat());
                let _ = stream.flush();
                return;
            }
            Delivery::Full => {
                let head = head(&response, response.body.len());
                // One write: a split head and body would meet Nagle and delayed ACKs.
                if stream
                    .write_all(&[head.as_bytes(), &response.body].concat())
                    .is_err()
                    || stream.flush().is_err()
                {
                    return;
                }
            }
        }
        if close {
            stream.close();
            return;
        }
    }
}

fn head(response: &Response, length: usize) -> String {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\n",
        response.status,
        reason(response.status)
    );
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {length}\r\n\r\n"));
    head
}

fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

fn invalid(why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.to_owned())
}

/// Reads one request; `None` when the client closed the connection between requests.
fn read_request<S: Read + Write>(reader: &mut BufReader<S>) -> io::Result<Option<Request>> {
    let mut lines = Vec::new();
    let mut size = 0;
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line)?;
        if n == 0 {
            return if lines.is_empty() {
                Ok(None)
            } else {
                Err(invalid("eof in head"))
            };
        }
        size += n;
        if size > MAX_HEAD {
            return Err(invalid("head too large"));
        }
        let line = line.trim_end_matches(['\r', '\n']).to_owned();
        if line.is_empty() {
            if lines.is_empty() {
                continue; // stray CRLF between keep-alive requests
            }
            break;
        }
        lines.push(line);
    }
    let mut request_line = lines[0].split(' ');
    let method = request_line.next().unwrap_or_default().to_owned();
    let target = request_line.next().ok_or_else(|| invalid("no target"))?;
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let headers: Vec<(String, String)> = lines[1..]
        .iter()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut request = Request {
        method,
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
        body: Vec::new(),
    };

    if request
        .header("expect")
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    {
        let stream = reader.get_mut();
        stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        stream.flush()?;
    }
    if request
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        request.body = read_chunked(reader)?;
    } else if let Some(length) = request.header("content-length") {
        let length: usize = length.parse().map_err(|_| invalid("bad content-length"))?;
        if length > MAX_BODY {
            return Err(invalid("body too large"));
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        request.body = body;
    }
    Ok(Some(request))
}

fn read_chunked<R: BufRead>(reader: &mut R) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let size_text = line.trim().split(';').next().unwrap_or_default();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| invalid("bad chunk size"))?;
        if body.len() + size > MAX_BODY {
            return Err(invalid("body too large"));
        }
        if size == 0 {
            // Trailers, then the final empty line.
            loop {
                line.clear();
                reader.read_line(&mut line)?;
                if line.trim().is_empty() {
                    return Ok(body);
                }
            }
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        line.clear();
        reader.read_line(&mut line)?;
    }
}

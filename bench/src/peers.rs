//! How each client connects, written once for every binary (`e2e`, `many`, `compression`): the
//! way its documentation shows a user connecting, over a TCP stream with TCP_NODELAY (the same
//! for every client; ws-proto's builders set it themselves).

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::TcpStream;

pub type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// `host:port` and the path (with its query) of a `ws://` URL.
pub fn host_and_path(url: &str) -> (&str, &str) {
    let rest = url.trim_start_matches("ws://");
    rest.split_at(rest.find('/').unwrap_or(rest.len()))
}

pub async fn tcp(url: &str) -> Res<TcpStream> {
    let tcp = TcpStream::connect(host_and_path(url).0).await?;
    tcp.set_nodelay(true)?;
    Ok(tcp)
}

/// Writes a handshake request with a fixed key (and `extensions`, if any, offered) and reads the
/// response head byte by byte, so no frame byte after it is consumed: for the clients that take
/// a stream after the handshake, and for the raw floors.
pub async fn manual_handshake(tcp: &mut TcpStream, url: &str, extensions: Option<&str>) -> Res<()> {
    let (host, path) = host_and_path(url);
    let offer = extensions
        .map(|e| format!("Sec-WebSocket-Extensions: {e}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{offer}\r\n"
    );
    tcp.write_all(request.as_bytes()).await?;
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(tcp.read_u8().await?);
    }
    if !head.starts_with(b"HTTP/1.1 101") {
        return Err("handshake refused".into());
    }
    Ok(())
}

/// ws-proto's configuration with its permessage-deflate offer off (it is on by default).
pub fn no_deflate() -> ws_proto::Config {
    let mut config = ws_proto::Config::default();
    config.permessage_deflate(None);
    config
}

pub async fn ws_proto_tokio(
    url: &str,
    config: ws_proto::Config,
) -> Res<ws_proto_tokio::WebSocket<ws_proto_tokio::MaybeTlsStream>> {
    let (ws, _) = ws_proto_tokio::Builder::new(url)
        .config(config)
        .connect()
        .await?;
    Ok(ws)
}

pub fn ws_proto_std(url: &str, config: ws_proto::Config) -> Res<ws_proto_std::WebSocket> {
    let (ws, _) = ws_proto_std::Builder::new(url).config(config).connect()?;
    Ok(ws)
}

pub async fn tokio_tungstenite(url: &str) -> Res<tokio_tungstenite::WebSocketStream<TcpStream>> {
    let (ws, _) = tokio_tungstenite::client_async(url, tcp(url).await?).await?;
    Ok(ws)
}

pub async fn tokio_websockets(url: &str) -> Res<tokio_websockets::WebSocketStream<TcpStream>> {
    let (ws, _) = tokio_websockets::ClientBuilder::new()
        .uri(url)?
        .connect_on(tcp(url).await?)
        .await?;
    Ok(ws)
}

/// fastwebsockets leaves the handshake to the user (or to hyper); its documented batching is a
/// buffered stream and `flush`.
pub async fn fastwebsockets(url: &str) -> Res<fastwebsockets::WebSocket<BufWriter<TcpStream>>> {
    let mut tcp = tcp(url).await?;
    manual_handshake(&mut tcp, url, None).await?;
    let mut ws = fastwebsockets::WebSocket::after_handshake(
        BufWriter::new(tcp),
        fastwebsockets::Role::Client,
    );
    ws.set_auto_close(true);
    ws.set_auto_pong(true);
    Ok(ws)
}

pub type Sockudo = sockudo_ws::WebSocketStream<sockudo_ws::Stream<sockudo_ws::Http1>>;

/// sockudo-ws's HTTP/1.1 client with its default configuration (no compression, write
/// coalescing across `feed`, a ping every 30 s).
pub async fn sockudo(url: &str) -> Res<Sockudo> {
    let (host, path) = host_and_path(url);
    let client = sockudo_ws::client::WebSocketClient::<sockudo_ws::Http1>::new(Default::default());
    let (ws, _) = client.connect(tcp(url).await?, host, path, None).await?;
    Ok(ws)
}

pub type Wtx = wtx::web_socket::WebSocketOwned<(), wtx::rng::Xorshift64, TcpStream, true>;

/// wtx's `WebSocketConnector` with its defaults (no compression; its no-masking offer, which
/// this server does not take up, so frames are masked).
pub async fn wtx(url: &str) -> Res<Wtx> {
    let uri = wtx::misc::Uri::new(url);
    let ws = wtx::web_socket::WebSocketConnector::default()
        .connect(tcp(url).await?, &uri.to_ref())
        .await?;
    Ok(ws)
}

/// yawc's handshake over a stream of the user's, with `options` (no compression unless they ask
/// for it). UTF-8 validation of text is on, as in every other client here (yawc's is off unless
/// asked for), and the largest message is 64 MiB (tokio-tungstenite's and sockudo-ws's default;
/// yawc's own, 1 MiB, refuses the 1 MiB messages as too large).
pub async fn yawc(url: &str, options: yawc::Options) -> Res<yawc::WebSocket<TcpStream>> {
    let options = options.with_utf8().with_max_payload_read(64 << 20);
    let ws = yawc::WebSocket::handshake(url.parse()?, tcp(url).await?, options).await?;
    Ok(ws)
}

// ---------------------------------------------------------------- with permessage-deflate

/// The permessage-deflate offer of the handshakes written here (sockudo-ws's, the floors'):
/// context takeover both ways or neither, and no window parameters, so 32 KiB windows, as every
/// client here is configured.
pub fn deflate_offer(takeover: bool) -> &'static str {
    if takeover {
        "permessage-deflate"
    } else {
        "permessage-deflate; client_no_context_takeover; server_no_context_takeover"
    }
}

/// ws-proto with its default permessage-deflate offer (window 15, level 6), without context
/// takeover unless `takeover`.
pub fn deflate(takeover: bool) -> ws_proto::Config {
    let mut deflate = ws_proto::DeflateConfig::default();
    deflate
        .client_no_context_takeover(!takeover)
        .server_no_context_takeover(!takeover);
    let mut config = ws_proto::Config::default();
    config.permessage_deflate(Some(deflate));
    config
}

pub type SockudoDeflate = sockudo_ws::CompressedWebSocketStream<TcpStream>;

/// sockudo-ws's HTTP/1.1 client does not negotiate permessage-deflate, so the handshake is the
/// user's and the stream is made with the parameters offered (`CompressedWebSocketStream`).
pub async fn sockudo_deflate(url: &str, takeover: bool) -> Res<SockudoDeflate> {
    let mut tcp = tcp(url).await?;
    manual_handshake(&mut tcp, url, Some(deflate_offer(takeover))).await?;
    let deflate = sockudo_ws::DeflateConfig {
        client_no_context_takeover: !takeover,
        server_no_context_takeover: !takeover,
        compression_level: 6,
        ..Default::default()
    };
    Ok(sockudo_ws::CompressedWebSocketStream::client(
        tcp,
        Default::default(),
        deflate,
    ))
}

pub type WtxDeflate = wtx::web_socket::WebSocketOwned<
    Option<wtx::web_socket::compression::NegotiatedFlate2>,
    wtx::rng::Xorshift64,
    TcpStream,
    true,
>;

/// wtx's `Flate2` compression, which always offers (and keeps to) no context takeover; its
/// window (default 4 KiB) and level (default 5) set to the others' 32 KiB and 6.
pub async fn wtx_deflate(url: &str) -> Res<WtxDeflate> {
    use wtx::web_socket::compression::{Flate2, WindowBits};
    use wtx::web_socket::{CompressionLevel, DeflateConfig};
    let uri = wtx::misc::Uri::new(url);
    let flate2 = Flate2::from(DeflateConfig {
        client_max_window_bits: WindowBits::Fifteen,
        compression_level: CompressionLevel::Six,
        server_max_window_bits: WindowBits::Fifteen,
    });
    let ws = wtx::web_socket::WebSocketConnector::default()
        .compression(flate2)
        .connect(tcp(url).await?, &uri.to_ref())
        .await?;
    Ok(ws)
}

/// yawc's options for permessage-deflate at level 6.
pub fn yawc_deflate(takeover: bool) -> yawc::Options {
    let options = yawc::Options::default().with_compression_level(yawc::CompressionLevel::new(6));
    if takeover {
        options
    } else {
        options
            .client_no_context_takeover()
            .server_no_context_takeover()
    }
}

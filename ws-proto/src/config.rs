//! Limits, timers and defaults of a connection.

use std::time::Duration;

use crate::message::MessageType;

/// Limits, timers and defaults. Every limit has a default and a setter.
///
/// ```
/// use std::time::Duration;
/// let mut config = ws_proto::Config::default();
/// config
///     .ping_interval(Some(Duration::from_secs(55)))
///     .pong_timeout(Duration::from_secs(10))
///     .max_message_size(1 << 20);
/// assert_eq!(config.get_max_message_size(), 1 << 20);
/// ```
#[derive(Debug, Clone)]
pub struct Config {
    pub(crate) max_frame_size: usize,
    pub(crate) max_message_size: usize,
    pub(crate) max_response_size: usize,
    pub(crate) max_response_headers: usize,
    pub(crate) max_rejection_body: usize,
    pub(crate) send_high_water_mark: usize,
    pub(crate) handshake_timeout: Option<Duration>,
    pub(crate) ping_interval: Option<Duration>,
    pub(crate) pong_timeout: Duration,
    pub(crate) close_timeout: Duration,
    pub(crate) default_message_type: MessageType,
    pub(crate) recv_streaming: bool,
    pub(crate) recv_chunk_size: usize,
    pub(crate) max_streamed_message_size: Option<usize>,
    #[cfg(feature = "deflate")]
    pub(crate) permessage_deflate: Option<crate::deflate::DeflateConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_frame_size: 16 << 20,
            max_message_size: 64 << 20,
            max_response_size: 16 << 10,
            max_response_headers: 64,
            max_rejection_body: 4 << 10,
            send_high_water_mark: 1 << 20,
            handshake_timeout: Some(Duration::from_secs(10)),
            ping_interval: None,
            pong_timeout: Duration::from_secs(10),
            close_timeout: Duration::from_secs(5),
            default_message_type: MessageType::Text,
            recv_streaming: false,
            recv_chunk_size: 64 << 10,
            max_streamed_message_size: None,
            #[cfg(feature = "deflate")]
            permessage_deflate: Some(crate::deflate::DeflateConfig::default()),
        }
    }
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident, $getter:ident: $ty:ty;)*) => {
        impl Config {
            $(
                $(#[$doc])*
                pub fn $name(&mut self, value: $ty) -> &mut Self {
                    self.$name = value;
                    self
                }

                #[doc = concat!("The current value of [`Config::", stringify!($name), "`].")]
                pub fn $getter(&self) -> $ty {
                    self.$name
                }
            )*
        }
    };
}

setters! {
    /// Largest payload of a single received frame, checked from the header before any
    /// allocation (default 16 MiB). A larger frame fails the connection with 1009.
    max_frame_size, get_max_frame_size: usize;
    /// Largest received message, all fragments together (default 64 MiB). A larger message fails
    /// the connection with 1009 as soon as its size is known.
    max_message_size, get_max_message_size: usize;
    /// Largest handshake response head (status line and headers, default 16 KiB).
    max_response_size, get_max_response_size: usize;
    /// Most headers in the handshake response (default 64).
    max_response_headers, get_max_response_headers: usize;
    /// How much of a rejection's body is kept for the [`Rejection`](crate::Rejection) (default 4 KiB).
    max_rejection_body, get_max_rejection_body: usize;
    /// The send buffer's high-water mark (default 1 MiB, like Workerman's `maxSendBufferSize`).
    /// A send is refused with [`SendError::BufferFull`](crate::SendError::BufferFull) while
    /// [`ClientState::buffered_amount`](crate::ClientState::buffered_amount) is at or above it;
    /// this also bounds the queue of sends made before the handshake completes.
    send_high_water_mark, get_send_high_water_mark: usize;
    /// Time allowed for the opening handshake from construction to the 101 (default 10 s;
    /// `None` waits forever).
    handshake_timeout, get_handshake_timeout: Option<Duration>;
    /// Send a keepalive ping at this interval while open (default `None`: off, like Workerman's
    /// `websocketPingInterval`).
    ping_interval, get_ping_interval: Option<Duration>;
    /// After a keepalive ping, the server must send something (its pong or any other data)
    /// within this time or the connection is closed as dead (default 10 s).
    pong_timeout, get_pong_timeout: Duration;
    /// Time allowed for the closing handshake: for the server's Close after ours, and for the end
    /// of the stream after the Close frames are exchanged (default 5 s).
    close_timeout, get_close_timeout: Duration;
    /// The message type of [`ClientState::send_default_type`](crate::ClientState::send_default_type)
    /// (default text, like Workerman's `websocketType`).
    default_message_type, get_default_message_type: MessageType;
    /// Receive large messages in chunks, in bounded memory, rather than whole (default off).
    /// A message that does not fit in one chunk (its first frame is not final, is
    /// compressed, or is longer than [`recv_chunk_size`](Self::recv_chunk_size)) then comes out
    /// as [`Event::MessageStart`](crate::Event::MessageStart), any number of
    /// [`Event::MessageData`](crate::Event::MessageData) and
    /// [`Event::MessageEnd`](crate::Event::MessageEnd); smaller ones still come whole. Also
    /// switched per message with [`ClientState::set_recv_streaming`](crate::ClientState::set_recv_streaming).
    recv_streaming, get_recv_streaming: bool;
    /// The largest chunk of a streamed message (default 64 KiB; at least 4, so a code point
    /// always fits). Memory held for a streamed message is bounded by it (plus the receive
    /// buffer's read room and, with compression, the inflate window).
    recv_chunk_size, get_recv_chunk_size: usize;
    /// Largest streamed message (default `None`: no limit, since a streamed message is never
    /// held whole). [`max_frame_size`](Self::max_frame_size) and
    /// [`max_message_size`](Self::max_message_size) bound what is buffered, so they do not
    /// apply to a streamed message. A larger one fails the connection with 1009.
    max_streamed_message_size, get_max_streamed_message_size: Option<usize>;
}

#[cfg(feature = "deflate")]
impl Config {
    /// Offer permessage-deflate (RFC 7692) with these parameters, or `None` not to offer it
    /// (default: offered with [`DeflateConfig::default`](crate::DeflateConfig)).
    pub fn permessage_deflate(
        &mut self,
        deflate: Option<crate::deflate::DeflateConfig>,
    ) -> &mut Self {
        self.permessage_deflate = deflate;
        self
    }

    /// The permessage-deflate offer, if any.
    pub fn get_permessage_deflate(&self) -> Option<&crate::deflate::DeflateConfig> {
        self.permessage_deflate.as_ref()
    }

    /// The `Sec-WebSocket-Extensions` offers this configuration makes.
    pub(crate) fn extension_offers(&self) -> Vec<String> {
        self.permessage_deflate.iter().map(|d| d.offer()).collect()
    }
}

#[cfg(not(feature = "deflate"))]
impl Config {
    /// The `Sec-WebSocket-Extensions` offers this configuration makes: none without a codec.
    pub(crate) fn extension_offers(&self) -> Vec<String> {
        Vec::new()
    }
}

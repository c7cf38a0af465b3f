//! The sending API of a whole [`WebSocket`](crate::WebSocket) and of its writing half, defined
//! once: each type reaches its connection through `with_conn` (a field, or a lock).

/// Defines the async sending methods and the `Sink` of `$ty<T>`, which has
/// `fn with_conn<R>(&mut self, f: impl FnOnce(&mut Conn<T>) -> R) -> R`.
macro_rules! sending {
    ($ty:ident) => {
        impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin> $ty<T> {
            /// Sends a message and writes it out. A payload of 64 KiB or more that nothing else
            /// shares (built in a `Vec` or `BytesMut`, say) is masked where it lies and written
            /// from there, with no copy.
            ///
            /// Cancel-safe: if the call is dropped while waiting for buffer space, the message
            /// was not queued; if dropped while writing, the message is queued whole and goes
            /// out with the next flush, send or read. Either way no frame is ever cut.
            pub fn send(
                &mut self,
                message: ws_proto::Message,
            ) -> impl std::future::Future<Output = Result<(), crate::Error>> + '_ {
                self.send_with(move |core| core.send_message(message))
            }

            /// Sends a text message; see [`send`](Self::send).
            pub fn send_text<'a>(
                &'a mut self,
                text: &'a str,
            ) -> impl std::future::Future<Output = Result<(), crate::Error>> + 'a {
                self.send_with(move |core| core.send_text(text))
            }

            /// Sends a binary message; see [`send`](Self::send).
            pub fn send_binary<'a>(
                &'a mut self,
                data: &'a [u8],
            ) -> impl std::future::Future<Output = Result<(), crate::Error>> + 'a {
                self.send_with(move |core| core.send_binary(data))
            }

            /// Sends `data` as the configured default type
            /// ([`Builder::default_message_type`](crate::Builder::default_message_type),
            /// Workerman's `websocketType`): with text, the default, `data` must be UTF-8.
            pub fn send_default_type<'a>(
                &'a mut self,
                data: &'a [u8],
            ) -> impl std::future::Future<Output = Result<(), crate::Error>> + 'a {
                self.send_with(move |core| core.send_default_type(data))
            }

            /// Queues with `queue` once the buffer has room, then writes everything out: the
            /// `send_*` methods as one future. An `async` body awaiting a feed and then a flush
            /// would resume through three nested states on every poll, and a loaded runtime
            /// polls a send many times (each time tokio's budget for the task runs out).
            fn send_with<'a>(
                &'a mut self,
                queue: impl FnOnce(&mut ws_proto::ClientState) -> Result<(), ws_proto::SendError>
                    + 'a,
            ) -> impl std::future::Future<Output = Result<(), crate::Error>> + 'a {
                let mut queue = Some(move |c: &mut crate::conn::Conn<T>| {
                    queue(c.core_mut()).map_err(crate::Error::Send)
                });
                std::future::poll_fn(move |cx| {
                    self.with_conn(|c| {
                        std::task::ready!(c.poll_queue(cx, &mut queue))?;
                        c.poll_flush(cx)
                    })
                })
            }

            /// Queues a message without writing it, waiting first for buffer space. Several
            /// feeds and one [`flush`](Self::flush) make one write.
            ///
            /// Cancel-safe: a dropped call has not queued the message.
            pub fn feed(
                &mut self,
                message: ws_proto::Message,
            ) -> impl std::future::Future<Output = Result<(), crate::Error>> + '_ {
                // Not an `async fn`: that would copy the message from its argument slot into
                // its state on the first poll, and reading back those fresh 8-byte stores with
                // 16-byte loads stalls (a third of this call's time with 16 B `Bytes`).
                let mut queue = Some(move |c: &mut crate::conn::Conn<T>| c.start_send(message));
                std::future::poll_fn(move |cx| self.with_conn(|c| c.poll_queue(cx, &mut queue)))
            }

            /// Queues a text message from a borrowed string; see [`feed`](Self::feed). The text
            /// is copied once, into the outgoing frame.
            pub async fn feed_text(&mut self, text: &str) -> Result<(), crate::Error> {
                if !self.with_conn(|c| c.accepts_sends()) {
                    self.ready().await?;
                }
                Ok(self.with_conn(|c| c.core_mut().send_text(text))?)
            }

            /// Queues a binary message from a borrowed slice; see [`feed`](Self::feed). The
            /// data is copied once, into the outgoing frame.
            pub async fn feed_binary(&mut self, data: &[u8]) -> Result<(), crate::Error> {
                if !self.with_conn(|c| c.accepts_sends()) {
                    self.ready().await?;
                }
                Ok(self.with_conn(|c| c.core_mut().send_binary(data))?)
            }

            /// Queues `data` as the configured default type without writing it; see
            /// [`feed`](Self::feed) and [`send_default_type`](Self::send_default_type).
            pub async fn feed_default_type(&mut self, data: &[u8]) -> Result<(), crate::Error> {
                if !self.with_conn(|c| c.accepts_sends()) {
                    self.ready().await?;
                }
                Ok(self.with_conn(|c| c.core_mut().send_default_type(data))?)
            }

            /// Queues a message if the send buffer has room, without writing and without
            /// waiting: a full buffer is [`SendError::BufferFull`](crate::SendError::BufferFull)
            /// and the message is not queued. For code that must not wait (a `select!` arm that
            /// would rather drop or defer).
            pub fn try_feed(&mut self, message: ws_proto::Message) -> Result<(), crate::Error> {
                self.with_conn(|c| c.start_send(message))
            }

            /// Writes everything queued.
            ///
            /// Cancel-safe: what a dropped call did not write stays queued, in order.
            pub fn flush(
                &mut self,
            ) -> impl std::future::Future<Output = Result<(), crate::Error>> + '_ {
                std::future::poll_fn(|cx| self.with_conn(|c| c.poll_flush(cx)))
            }

            /// Starts a message sent in parts, of any size, waiting first for buffer space:
            /// [`send_message_chunk`](Self::send_message_chunk) sends each part and
            /// [`send_message_end`](Self::send_message_end) ends it;
            /// [`send_from_reader`](Self::send_from_reader) and
            /// [`send_from_stream`](Self::send_from_stream) do all three from a source. Pings
            /// and a close may go out between parts; another message may not start until this
            /// one ends ([`SendError::MessageInProgress`](crate::SendError::MessageInProgress)).
            /// See [`ClientState::send_message_start`](ws_proto::ClientState::send_message_start)
            /// for the rule on text parts.
            ///
            /// Cancel-safe: a dropped call has not started the message.
            pub async fn send_message_start(
                &mut self,
                kind: ws_proto::MessageType,
            ) -> Result<(), crate::Error> {
                if !self.with_conn(|c| c.accepts_sends()) {
                    self.ready().await?;
                }
                Ok(self.with_conn(|c| c.core_mut().send_message_start(kind))?)
            }

            /// Sends the next part of the message started, waiting first for buffer space, and
            /// writes it out.
            ///
            /// Cancel-safe as [`send`](Self::send): a dropped call has queued the part whole, or
            /// not at all.
            pub fn send_message_chunk<'a>(
                &'a mut self,
                data: &'a [u8],
            ) -> impl std::future::Future<Output = Result<(), crate::Error>> + 'a {
                self.send_with(move |core| core.send_message_chunk(data))
            }

            /// Ends the message started and writes out its last frame.
            ///
            /// Cancel-safe: the end is queued before the first await.
            pub async fn send_message_end(&mut self) -> Result<(), crate::Error> {
                self.with_conn(|c| c.core_mut().send_message_end())?;
                self.flush().await
            }

            /// Sends a message read from `source` until its end, in constant memory whatever
            /// its size: each read (up to 64 KiB) is sent as a part, and the next read waits
            /// until the part before it is written. Returns the payload's length.
            ///
            /// A text message may cut code points anywhere between reads, but must be UTF-8 as
            /// a whole. If the source fails or its text is invalid, or the call is dropped, the
            /// message is left unfinished (what was sent stays sent): end it with
            /// [`send_message_end`](Self::send_message_end) or close the connection.
            pub async fn send_from_reader(
                &mut self,
                kind: ws_proto::MessageType,
                mut source: impl tokio::io::AsyncRead + Unpin,
            ) -> Result<u64, crate::Error> {
                use tokio::io::AsyncReadExt;
                self.send_message_start(kind).await?;
                let mut buf = vec![0; crate::streaming::SEND_CHUNK];
                let mut total = 0;
                loop {
                    let n = source.read(&mut buf).await.map_err(crate::Error::Io)?;
                    if n == 0 {
                        break;
                    }
                    self.send_message_chunk(&buf[..n]).await?;
                    total += n as u64;
                }
                self.send_message_end().await?;
                Ok(total)
            }

            /// Sends a message whose parts are the items of `source` (a body streamed from
            /// another connection, say), as [`send_from_reader`](Self::send_from_reader) does:
            /// the next item is taken once the one before it is written. An item that is an
            /// error stops the send, with the message left unfinished.
            pub async fn send_from_stream<S, E>(
                &mut self,
                kind: ws_proto::MessageType,
                mut source: S,
            ) -> Result<u64, crate::Error>
            where
                S: futures_core::Stream<Item = Result<ws_proto::Bytes, E>> + Unpin,
                E: Into<Box<dyn std::error::Error + Send + Sync>>,
            {
                self.send_message_start(kind).await?;
                let mut total = 0;
                while let Some(item) =
                    std::future::poll_fn(|cx| std::pin::Pin::new(&mut source).poll_next(cx)).await
                {
                    let part = item.map_err(|e| crate::Error::Io(std::io::Error::other(e)))?;
                    self.send_message_chunk(&part).await?;
                    total += part.len() as u64;
                }
                self.send_message_end().await?;
                Ok(total)
            }

            /// Sends a ping (at most 125 bytes) and writes it out. The pong arrives as
            /// [`Event::Pong`](crate::Event::Pong), with the round trip.
            ///
            /// Cancel-safe: the ping is queued before the first await.
            pub async fn send_ping(&mut self, payload: &[u8]) -> Result<(), crate::Error> {
                self.with_conn(|c| c.core_mut().send_ping(payload, crate::conn::now()))?;
                self.flush().await
            }

            /// Starts the closing handshake with `code` and `reason` (at most 123 bytes) and
            /// writes the Close frame; closing again is a no-op. Keep reading: the stream ends
            /// with the server's [`Event::Close`](crate::Event::Close), or an error if it does
            /// not answer within the close timeout.
            ///
            /// Cancel-safe: the Close frame is queued before the first await.
            pub async fn close(
                &mut self,
                code: ws_proto::CloseCode,
                reason: &str,
            ) -> Result<(), crate::Error> {
                self.with_conn(|c| c.close(code, reason))?;
                self.flush().await
            }

            /// Waits until a send would not have to wait (the buffer is below its high-water
            /// mark, or the connection is closing and the send will say so), writing out what is
            /// buffered meanwhile: the `Sink`'s `poll_ready`, as a method.
            ///
            /// Cancel-safe: a dropped call has only written.
            pub fn ready(
                &mut self,
            ) -> impl std::future::Future<Output = Result<(), crate::Error>> + '_ {
                std::future::poll_fn(|cx| self.with_conn(|c| c.poll_ready(cx)))
            }
        }

        impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>
            futures_sink::Sink<ws_proto::Message> for $ty<T>
        {
            type Error = crate::Error;

            fn poll_ready(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<Result<(), crate::Error>> {
                self.get_mut().with_conn(|c| c.poll_ready(cx))
            }

            fn start_send(
                self: std::pin::Pin<&mut Self>,
                item: ws_proto::Message,
            ) -> Result<(), crate::Error> {
                self.get_mut().with_conn(|c| c.start_send(item))
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<Result<(), crate::Error>> {
                self.get_mut().with_conn(|c| c.poll_flush(cx))
            }

            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<Result<(), crate::Error>> {
                self.get_mut().with_conn(|c| c.poll_close(cx))
            }
        }
    };
}

pub(crate) use sending;

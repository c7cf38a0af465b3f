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
            pub async fn send(&mut self, message: ws_proto::Message) -> Result<(), crate::Error> {
                self.feed(message).await?;
                self.flush().await
            }

            /// Sends a text message; see [`send`](Self::send).
            pub async fn send_text(&mut self, text: &str) -> Result<(), crate::Error> {
                self.feed_text(text).await?;
                self.flush().await
            }

            /// Sends a binary message; see [`send`](Self::send).
            pub async fn send_binary(&mut self, data: &[u8]) -> Result<(), crate::Error> {
                self.feed_binary(data).await?;
                self.flush().await
            }

            /// Sends `data` as the configured default type
            /// ([`Builder::default_message_type`](crate::Builder::default_message_type),
            /// Workerman's `websocketType`): with text, the default, `data` must be UTF-8.
            pub async fn send_default_type(&mut self, data: &[u8]) -> Result<(), crate::Error> {
                self.feed_default_type(data).await?;
                self.flush().await
            }

            /// Queues a message without writing it, waiting first for buffer space. Several
            /// feeds and one [`flush`](Self::flush) make one write.
            ///
            /// Cancel-safe: a dropped call has not queued the message.
            pub async fn feed(&mut self, message: ws_proto::Message) -> Result<(), crate::Error> {
                // Most often there is room, and no future is made: a nested future costs a few
                // nanoseconds a message in a tight loop of feeds.
                if !self.with_conn(|c| c.accepts_sends()) {
                    self.ready().await?;
                }
                self.with_conn(|c| c.start_send(message))
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
            pub async fn flush(&mut self) -> Result<(), crate::Error> {
                std::future::poll_fn(|cx| self.with_conn(|c| c.poll_flush(cx))).await
            }

            /// Sends a ping (at most 125 bytes) and writes it out. The pong arrives as
            /// [`Event::Pong`](crate::Event::Pong).
            ///
            /// Cancel-safe: the ping is queued before the first await.
            pub async fn send_ping(&mut self, payload: &[u8]) -> Result<(), crate::Error> {
                self.with_conn(|c| c.core_mut().send_ping(payload))?;
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
            pub async fn ready(&mut self) -> Result<(), crate::Error> {
                std::future::poll_fn(|cx| self.with_conn(|c| c.poll_ready(cx))).await
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

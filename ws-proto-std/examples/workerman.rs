//! The Workerman manual's ws client example, in Rust.
//!
//! ```text
//! cargo run -p ws-proto-std --example workerman -- ws://127.0.0.1:1234
//! ```

use std::time::Duration;

use ws_proto_std::{
    Builder, Client, ClientHandle, CloseCode, Error, Handler, Message, MessageType,
    ReconnectPolicy, Response,
};

struct Example;

impl Handler for Example {
    // After the TCP three-way handshake is complete ($ws_connection->onConnect).
    fn on_connect(&mut self, _: &ClientHandle) {
        println!("tcp connected");
    }

    // After the websocket handshake is complete ($ws_connection->onWebSocketConnect).
    fn on_open(&mut self, client: &ClientHandle, response: &Response) {
        println!("{:?}", response.headers());
        if let Err(e) = client.send_default_type(b"hello") {
            println!("error: {e}");
        }
    }

    // When a message is received from the remote websocket server ($ws_connection->onMessage).
    fn on_message(&mut self, _: &ClientHandle, message: Message) {
        match message {
            Message::Text(data) => println!("recv: {data}"),
            Message::Binary(data) => println!("recv: {data:?}"),
        }
    }

    // Any failure: DNS, connect, TLS, rejection, protocol, timeout ($ws_connection->onError).
    fn on_error(&mut self, error: &Error) {
        println!("error: {error}");
    }

    // When the connection is closed ($ws_connection->onClose); the reconnection itself is the
    // policy given to the client below ($connection->reConnect(1)).
    fn on_close(&mut self, code: CloseCode, reason: &str) {
        println!("connection closed ({code} {reason}) and try to reconnect");
    }
}

fn main() {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:1234".to_owned());
    let builder = Builder::new(&url)
        // Send a websocket heartbeat with opcode 0x9 to the server every 55 seconds, and
        // consider it dead when nothing comes back within 10 (which Workerman does not check).
        .ping_interval(Duration::from_secs(55))
        .pong_timeout(Duration::from_secs(10))
        // Set HTTP headers.
        .header(
            "Cookie",
            "PHPSID=82u98fjhakfusuanfnahfi; token=2hf9a929jhfihaf9i",
        )
        .header("OtherKey", "values")
        // The data type of a plain `send` (Workerman's BINARY_TYPE_BLOB is text).
        .default_message_type(MessageType::Text);
    // If the connection is closed, reconnect after 1 second.
    Client::new(builder, Example)
        .reconnect(ReconnectPolicy::fixed(Duration::from_secs(1)))
        .run();
}

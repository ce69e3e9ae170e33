//! The WebSocket (subprotocol `mqtt`, binary frames) and its callbacks. The shell decides what to
//! send and when to reconnect; this file only moves bytes.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, MessageEvent, WebSocket};

/// What the socket reports.
pub(crate) enum SocketEvent {
    Open,
    Bytes(Vec<u8>),
    Closed,
}

/// An open or opening WebSocket with its callbacks (dropping it closes the socket).
pub(crate) struct Socket {
    ws: WebSocket,
    _callbacks: Vec<Closure<dyn FnMut(JsValue)>>,
}

impl Socket {
    pub(crate) fn open(url: &str, on_event: impl Fn(SocketEvent) + 'static) -> Result<Socket, JsValue> {
        let ws = WebSocket::new_with_str(url, "mqtt")?;
        ws.set_binary_type(BinaryType::Arraybuffer);
        let on_event = std::rc::Rc::new(on_event);
        let open = {
            let f = on_event.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |_| f(SocketEvent::Open))
        };
        let message = {
            let f = on_event.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
                let e: MessageEvent = e.unchecked_into();
                if let Ok(buf) = e.data().dyn_into::<js_sys::ArrayBuffer>() {
                    f(SocketEvent::Bytes(js_sys::Uint8Array::new(&buf).to_vec()));
                }
            })
        };
        let close = {
            let f = on_event.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |_| f(SocketEvent::Closed))
        };
        ws.set_onopen(Some(open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(message.as_ref().unchecked_ref()));
        // An error is always followed by a close; only the close is reported.
        ws.set_onclose(Some(close.as_ref().unchecked_ref()));
        Ok(Socket { ws, _callbacks: vec![open, message, close] })
    }

    pub(crate) fn send(&self, bytes: &[u8]) -> bool {
        self.ws.send_with_u8_array(bytes).is_ok()
    }

    /// Closes without reporting `Closed` any more.
    pub(crate) fn close(&self) {
        self.ws.set_onclose(None);
        self.ws.set_onmessage(None);
        self.ws.set_onopen(None);
        let _ = self.ws.close();
    }
}

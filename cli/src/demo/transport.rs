//! In-memory stand-ins for the two hops between services: an HTTP request (headers in an
//! `http::HeaderMap`, as a web framework hands them over) and a RabbitMQ queue (headers as
//! bytes, as AMQP delivers them). Context crosses them only through those headers.

use std::collections::{HashMap, VecDeque};

/// An HTTP request from one service to another.
#[derive(Debug, Default)]
pub struct HttpRequest {
    /// Request headers.
    pub headers: http::HeaderMap,
}

/// A RabbitMQ message.
#[derive(Debug)]
pub struct Message {
    /// Body: the order id.
    pub order_id: String,
    /// AMQP headers.
    pub headers: HashMap<String, Vec<u8>>,
}

/// A queue: first in, first out per order.
#[derive(Debug, Default)]
pub struct Queue {
    messages: VecDeque<Message>,
}

impl Queue {
    /// Publishes a message.
    pub fn publish(&mut self, message: Message) {
        self.messages.push_back(message);
    }

    /// Takes the oldest message of this order, leaving the others queued (the demo's consumer
    /// skips the messages it is meant to leave stuck).
    pub fn consume_order(&mut self, order_id: &str) -> Option<Message> {
        let at = self.messages.iter().position(|m| m.order_id == order_id)?;
        self.messages.remove(at)
    }

    /// Messages waiting.
    pub fn len(&self) -> usize {
        self.messages.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_orders_messages_are_delivered_oldest_first() {
        let mut q = Queue::default();
        for n in ["1", "2"] {
            let mut headers = HashMap::new();
            headers.insert("n".to_string(), n.as_bytes().to_vec());
            q.publish(Message {
                order_id: "ORD-1".into(),
                headers,
            });
        }
        assert_eq!(q.len(), 2);
        let first = q.consume_order("ORD-1").expect("first");
        assert_eq!(first.headers["n"], b"1");
        assert!(q.consume_order("ORD-1").is_some());
        assert!(q.consume_order("ORD-1").is_none());
    }

    #[test]
    fn consuming_one_order_leaves_the_others_queued() {
        let mut q = Queue::default();
        for id in ["ORD-1", "ORD-2", "ORD-3"] {
            q.publish(Message {
                order_id: id.into(),
                headers: HashMap::new(),
            });
        }
        assert_eq!(
            q.consume_order("ORD-2").map(|m| m.order_id),
            Some("ORD-2".into())
        );
        assert!(q.consume_order("ORD-2").is_none());
        assert_eq!(q.len(), 2);
        assert!(q.consume_order("ORD-1").is_some());
        assert!(q.consume_order("ORD-3").is_some());
    }
}

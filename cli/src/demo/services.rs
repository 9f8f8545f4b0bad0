//! The three services of the demo, each with its own tracer (`shop-api`, `crm-api`,
//! `mes-api`), doing what the real ones do at each stage. Context passes between them only
//! through the HTTP and RabbitMQ stand-ins' headers.

use super::scenario::{Fate, PlannedOrder};
use super::transport::{HttpRequest, Message, Queue};
use ordertrace::schema::attr;
use ordertrace::{ErrorInfo, OrderEvent, OrderTracer, Result, SpanKind, Stage, propagation};
use std::collections::HashMap;
use std::time::Duration;

/// Queue the shop publishes new orders to.
pub const ORDERS_QUEUE: &str = "orders.new";

/// The simulated workshop.
pub struct Workshop {
    /// Shop API tracer.
    pub shop: OrderTracer,
    /// CRM tracer.
    pub crm: OrderTracer,
    /// MES tracer.
    pub mes: OrderTracer,
    /// The RabbitMQ stand-in.
    pub queue: Queue,
    /// Price calls that never returned, kept open on purpose (see [`Workshop::hung`]).
    hung: Vec<Stage>,
    /// Work time simulated per stage.
    pub work: Duration,
}

/// How the MES answers a price request.
enum PriceAnswer {
    Priced(http::HeaderMap),
    Failed,
    NoAnswer,
}

impl Workshop {
    /// A workshop over these tracers.
    pub fn new(shop: OrderTracer, crm: OrderTracer, mes: OrderTracer, work: Duration) -> Self {
        Workshop {
            shop,
            crm,
            mes,
            queue: Queue::default(),
            hung: Vec::new(),
            work,
        }
    }

    fn work(&self) {
        std::thread::sleep(self.work);
    }

    /// Shop API: the customer submits the order and uploads the model; the shop publishes it.
    pub fn submit(&mut self, order: &PlannedOrder) -> Result<()> {
        let submitted = self
            .shop
            .stage(OrderEvent::OrderSubmitted, &order.order_id)
            .user_id(&order.user_id)
            .attribute("order.alloy", order.alloy)
            .kind(SpanKind::Server)
            .start()?;
        self.work();
        let uploaded = self
            .shop
            .stage(OrderEvent::ModelUploaded, &order.order_id)
            .user_id(&order.user_id)
            .parent(&submitted.headers())
            .attribute(attr::MODEL_FORMAT, "stl")
            .attribute(attr::MODEL_SIZE, order.model_size)
            .kind(SpanKind::Server)
            .start()?;
        submitted.end();
        self.work();
        let mut message = Message {
            order_id: order.order_id.clone(),
            headers: HashMap::new(),
        };
        uploaded.inject(&mut message.headers);
        self.queue.publish(message);
        uploaded.end();
        Ok(())
    }

    /// CRM: consumes the order's message from the queue, unless it is one nobody consumes. Returns the order's MES request when it went on.
    pub fn consume(&mut self, order: &PlannedOrder) -> Result<Option<HttpRequest>> {
        if order.fate == Fate::StuckInQueue {
            // The consumer for this message is down: it stays in the queue.
            return Ok(None);
        }
        let Some(message) = self.queue.consume_order(&order.order_id) else {
            return Ok(None);
        };
        let incoming = propagation::extract(&message.headers);
        let confirmed = self
            .crm
            .stage(OrderEvent::OrderConfirmed, &message.order_id)
            .user_id(&order.user_id)
            .parent(&incoming)
            .attribute(attr::MESSAGING_SYSTEM, "rabbitmq")
            .attribute(attr::MESSAGING_DESTINATION, ORDERS_QUEUE)
            .attribute(attr::MESSAGING_OPERATION, "process")
            .kind(SpanKind::Consumer)
            .start()?;
        self.work();
        let status = self
            .crm
            .stage(OrderEvent::OrderStatusChanged, &message.order_id)
            .user_id(&order.user_id)
            .parent(&confirmed.headers())
            .status_change("confirmed", "pricing")
            .kind(SpanKind::Client)
            .start()?;
        confirmed.end();
        let mut request = HttpRequest::default();
        status.inject(&mut request.headers);
        status.end();
        Ok(Some(request))
    }

    /// The whole way from the CRM's MES request to shipping, as far as the order's fate allows.
    pub fn produce(&mut self, order: &PlannedOrder, request: HttpRequest) -> Result<()> {
        let mes_response = match self.calculate_price(order, &request)? {
            PriceAnswer::Priced(headers) => headers,
            PriceAnswer::Failed | PriceAnswer::NoAnswer => return Ok(()),
        };
        let done = self.manufacture(order, &mes_response)?;
        if order.fate == Fate::AwaitsShipping {
            return Ok(());
        }
        let incoming = propagation::extract(&done);
        let shipped = self
            .crm
            .stage(OrderEvent::OrderShipped, &order.order_id)
            .user_id(&order.user_id)
            .parent(&incoming)
            .attribute("order.carrier", "dhl")
            .start()?;
        self.work();
        shipped.end();
        Ok(())
    }

    /// MES `CalculatePrice()`.
    fn calculate_price(
        &mut self,
        order: &PlannedOrder,
        request: &HttpRequest,
    ) -> Result<PriceAnswer> {
        let incoming = propagation::extract(&request.headers);
        let mut stage = self
            .mes
            .stage(OrderEvent::PriceCalculated, &order.order_id)
            .user_id(&order.user_id)
            .parent(&incoming)
            .attribute("order.alloy", order.alloy)
            .kind(SpanKind::Server)
            .start()?;
        match order.fate {
            Fate::HangsInPricing => {
                // The call never returns: the stage stays open, heartbeats keep flowing.
                self.hung.push(stage);
                Ok(PriceAnswer::NoAnswer)
            }
            Fate::PriceFails => {
                self.work();
                let error = ErrorInfo::new(
                    "Mes.Pricing.PriceCalculationException",
                    format!("no price rule for alloy '{}' at model size {} bytes", order.alloy, order.model_size),
                )
                .with_stacktrace(
                    "   at Mes.Pricing.PriceRules.Lookup(String alloy, Int64 size)\n   at Mes.Pricing.PriceService.CalculatePrice(Order order)",
                );
                stage.end_with_error(&error)?;
                Ok(PriceAnswer::Failed)
            }
            _ => {
                self.work();
                let grams = order.model_size as f64 / 250_000.0;
                let per_gram = match order.alloy {
                    "platinum-950" => 61.0,
                    "gold-750" => 48.5,
                    "rose-gold-585" => 39.0,
                    _ => 1.2,
                };
                stage.record_price((grams * per_gram * 100.0).round() / 100.0, "EUR")?;
                let mut response = http::HeaderMap::new();
                stage.inject(&mut response);
                stage.end();
                Ok(PriceAnswer::Priced(response))
            }
        }
    }

    /// MES `StartManufacturing()` and its completion.
    fn manufacture(
        &mut self,
        order: &PlannedOrder,
        headers: &http::HeaderMap,
    ) -> Result<http::HeaderMap> {
        let incoming = propagation::extract(headers);
        let started = self
            .mes
            .stage(OrderEvent::ManufacturingStarted, &order.order_id)
            .user_id(&order.user_id)
            .parent(&incoming)
            .attribute("mes.workcenter", "casting-2")
            .start()?;
        self.work();
        let completed = self
            .mes
            .stage(OrderEvent::ManufacturingCompleted, &order.order_id)
            .user_id(&order.user_id)
            .parent(&started.headers())
            .start()?;
        started.end();
        self.work();
        let mut response = http::HeaderMap::new();
        completed.inject(&mut response);
        completed.end();
        Ok(response)
    }

    /// Price calls still hanging.
    pub fn hung(&self) -> usize {
        self.hung.len()
    }

    /// Leaves the hung calls open for good: the demo ends the way a crashed MES would, with
    /// the stages never finished (their start records and heartbeats are all there is).
    pub fn abandon_hung_calls(&mut self) {
        for stage in self.hung.drain(..) {
            std::mem::forget(stage);
        }
    }
}

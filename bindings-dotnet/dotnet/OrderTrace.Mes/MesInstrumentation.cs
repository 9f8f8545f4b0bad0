using System;
using System.Collections.Generic;

namespace OrderTrace
{
    /// <summary>A price: amount and ISO currency.</summary>
    public struct Price
    {
        /// <summary>Creates a price.</summary>
        public Price(decimal amount, string currency)
        {
            Amount = amount;
            Currency = currency;
        }

        /// <summary>Amount.</summary>
        public decimal Amount { get; private set; }

        /// <summary>ISO 4217 currency, e.g. EUR.</summary>
        public string Currency { get; private set; }
    }

    /// <summary>
    /// Wraps the MES's own calls without touching their code: each call runs inside its stage,
    /// timed; the result is recorded; an exception is recorded with its .NET type, message and
    /// stack trace and rethrown unchanged (the same object, the same stack trace). The MES call
    /// runs whatever the order id and user id are: a missing or malformed one (a user id
    /// <c>42</c>) is left off the stage and recorded on it as a problem, unless the tracer was
    /// built with <see cref="OrderTracerOptions.StrictIds"/>. A price the schema refuses (negative,
    /// not an ISO 4217 code) is recorded on the stage as <c>ordertrace.problem</c>; the MES's
    /// result is returned all the same.
    /// </summary>
    /// <example><code>
    /// var mes = new MesInstrumentation(tracer);
    /// var price = mes.CalculatePrice(orderId, userId, () => pricing.CalculatePrice(order), "EUR", request.Headers);
    /// mes.StartManufacturing(orderId, userId, () => production.StartManufacturing(order), request.Headers);
    /// </code></example>
    public sealed class MesInstrumentation
    {
        private readonly OrderTracer tracer;

        /// <summary>Instrumentation recording through <paramref name="tracer"/>.</summary>
        public MesInstrumentation(OrderTracer tracer)
        {
            if (tracer == null) throw new ArgumentNullException("tracer");
            this.tracer = tracer;
        }

        /// <summary><c>CalculatePrice()</c> returning an amount in <paramref name="currency"/>: a <c>price_calculated</c> stage.</summary>
        public decimal CalculatePrice(string orderId, string userId, Func<decimal> calculatePrice, string currency = "EUR",
            IDictionary<string, string> incomingHeaders = null)
        {
            if (currency == null) throw new ArgumentNullException("currency");
            return CalculatePrice(orderId, userId, calculatePrice, amount => new Price(amount, currency), incomingHeaders);
        }

        /// <summary>
        /// <c>CalculatePrice()</c> returning any result; <paramref name="priceOf"/> says which price it holds
        /// (return null when it holds none).
        /// </summary>
        public T CalculatePrice<T>(string orderId, string userId, Func<T> calculatePrice, Func<T, Price?> priceOf,
            IDictionary<string, string> incomingHeaders = null)
        {
            if (calculatePrice == null) throw new ArgumentNullException("calculatePrice");
            if (priceOf == null) throw new ArgumentNullException("priceOf");
            return Run(OrderEvent.PriceCalculated, orderId, userId, incomingHeaders, stage =>
            {
                var result = calculatePrice();
                var price = priceOf(result);
                if (price.HasValue) RecordPriceKeepingTheResult(stage, price.Value);
                return result;
            });
        }

        // A price the schema refuses (negative, not an ISO code) must not turn the MES's answer
        // into an exception: the core has put the refusal on the span (ordertrace.problem).
        private static void RecordPriceKeepingTheResult(StageScope stage, Price price)
        {
            try
            {
                stage.RecordPrice(price.Amount, price.Currency);
            }
            catch (OrderTraceException)
            {
            }
        }

        /// <summary><c>StartManufacturing()</c>: a <c>manufacturing_started</c> stage.</summary>
        public void StartManufacturing(string orderId, string userId, Action startManufacturing,
            IDictionary<string, string> incomingHeaders = null)
        {
            if (startManufacturing == null) throw new ArgumentNullException("startManufacturing");
            Run(OrderEvent.ManufacturingStarted, orderId, userId, incomingHeaders, stage =>
            {
                startManufacturing();
                return true;
            });
        }

        private T Run<T>(OrderEvent orderEvent, string orderId, string userId, IDictionary<string, string> incomingHeaders,
            Func<StageScope, T> body)
        {
            using (var stage = tracer.StartStage(orderEvent, orderId, userId, incomingHeaders, null, StageKind.Server))
            {
                try
                {
                    return body(stage);
                }
                catch (Exception e)
                {
                    stage.Fail(e);
                    // `throw;` rethrows the same object with its original stack trace.
                    throw;
                }
            }
        }
    }
}

using System;

namespace OrderTrace
{
    /// <summary>The eight canonical order events, in lifecycle order (checked against the core's schema in the tests).</summary>
    public enum OrderEvent
    {
        /// <summary>order_submitted (shop-api).</summary>
        OrderSubmitted,
        /// <summary>model_uploaded (shop-api).</summary>
        ModelUploaded,
        /// <summary>order_confirmed (crm-api).</summary>
        OrderConfirmed,
        /// <summary>order_status_changed (crm-api).</summary>
        OrderStatusChanged,
        /// <summary>price_calculated (mes-api).</summary>
        PriceCalculated,
        /// <summary>manufacturing_started (mes-api).</summary>
        ManufacturingStarted,
        /// <summary>manufacturing_completed (mes-api).</summary>
        ManufacturingCompleted,
        /// <summary>order_shipped (crm-api).</summary>
        OrderShipped,
    }

    /// <summary>Wire names of <see cref="OrderEvent"/>.</summary>
    public static class OrderEvents
    {
        private static readonly string[] Names =
        {
            "order_submitted", "model_uploaded", "order_confirmed", "order_status_changed",
            "price_calculated", "manufacturing_started", "manufacturing_completed", "order_shipped",
        };

        /// <summary>The event's name as the schema spells it, e.g. <c>price_calculated</c>.</summary>
        public static string WireName(this OrderEvent e)
        {
            var i = (int)e;
            if (i < 0 || i >= Names.Length) throw new ArgumentOutOfRangeException("e", e, "not an order event");
            return Names[i];
        }

        /// <summary>All events in lifecycle order.</summary>
        public static OrderEvent[] All()
        {
            return (OrderEvent[])Enum.GetValues(typeof(OrderEvent));
        }
    }
}

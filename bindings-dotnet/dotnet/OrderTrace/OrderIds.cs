namespace OrderTrace
{
    /// <summary>
    /// The core's order id and user id rules, callable before a stage is started with an id (the README's
    /// "Order id and user id rules"; every binding applies the same ones).
    /// </summary>
    public static class OrderIds
    {
        /// <summary>
        /// Checks an order id: 1 to 128 bytes of UTF-8 without whitespace, control characters or bidirectional
        /// formatting characters. Throws <see cref="OrderTraceException"/> (InvalidInput) naming the rule it breaks.
        /// </summary>
        public static void CheckOrderId(string orderId)
        {
            if (orderId == null) throw new System.ArgumentNullException("orderId");
            using (var s = NativeStrings.Rent())
            {
                System.IntPtr error;
                Native.Check(Native.ot_order_id_check(s.Str(orderId), out error), error);
            }
        }

        /// <summary>
        /// Checks a user id (a UUID, 8-4-4-4-12 hex digits in either case) and returns it as ordertrace keeps it
        /// (lowercase). Throws <see cref="OrderTraceException"/> (InvalidInput) when it is not a UUID.
        /// </summary>
        public static string NormalizeUserId(string userId)
        {
            if (userId == null) throw new System.ArgumentNullException("userId");
            using (var s = NativeStrings.Rent())
            {
                System.IntPtr buffer;
                System.IntPtr error;
                Native.Check(Native.ot_user_id_normalize(s.Str(userId), out buffer, out error), error);
                return Native.TakeBuffer(buffer);
            }
        }
    }
}

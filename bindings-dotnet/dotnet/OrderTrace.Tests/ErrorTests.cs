using System;
using System.Linq;
using System.Threading;

namespace OrderTrace.Tests
{
    /// <summary>
    /// Errors cross the C ABI as values: each call hands its own message back with its status (no per-thread
    /// "last error" read by a second call), and the exception carries it.
    /// </summary>
    internal sealed class ErrorTests : Fixture
    {
        [Test]
        public void EachExceptionCarriesTheMessageOfTheCallThatFailed()
        {
            // Eight threads fail at the same time, each with its own bad order id, 200 times: every exception
            // quotes the id its own call was given.
            var ids = Enumerable.Range(0, 8).Select(i => "ORD " + i).ToArray();
            var wrong = new string[ids.Length];
            var threads = ids.Select((id, i) => new Thread(() =>
            {
                var expected = "invalid order id: \"" + id + "\" contains the character ' '; whitespace and control characters are not allowed";
                for (var round = 0; round < 200 && wrong[i] == null; round++)
                {
                    try
                    {
                        OrderIds.CheckOrderId(id);
                        wrong[i] = "no exception for " + id;
                    }
                    catch (OrderTraceException e)
                    {
                        if (e.Code != OrderTraceErrorCode.InvalidInput || e.Message != expected) wrong[i] = e.Code + ": " + e.Message;
                    }
                }
            })).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
            for (var i = 0; i < ids.Length; i++) Assert.Equal<string>(null, wrong[i], "thread " + i);
        }

        [Test]
        public void ASuccessfulCallBetweenTwoFailuresLeavesNoMessageBehind()
        {
            var first = Assert.Throws<OrderTraceException>(() => OrderIds.NormalizeUserId("42"), "not a UUID");
            Assert.Equal("invalid user id: \"42\" is not a UUID (expected 8-4-4-4-12 hex digits)", first.Message, "first message");
            Assert.Equal(User, OrderIds.NormalizeUserId(User.ToUpperInvariant()), "a UUID in capitals");
            var second = Assert.Throws<OrderTraceException>(() => OrderIds.CheckOrderId(""), "empty order id");
            Assert.Equal("invalid order id: it is empty", second.Message, "second message");
        }

        [Test]
        public void EndingAStageTwiceThrowsClosedWithTheLibrarysMessage()
        {
            using (var scope = Tracer.StartStage(OrderEvent.OrderShipped, "ORD-E1"))
            {
                scope.Complete();
                var e = Assert.Throws<OrderTraceException>(() => scope.Complete(), "second Complete");
                Assert.Equal(OrderTraceErrorCode.Closed, e.Code, "code");
                Assert.Equal("the stage has already ended; start a new stage", e.Message, "message");
            }
        }
    }
}

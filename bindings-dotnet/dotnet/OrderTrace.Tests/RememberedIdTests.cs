using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;

namespace OrderTrace.Tests
{
    /// <summary>
    /// A thread's last order id and user id strings are remembered with their UTF-8 bytes
    /// (NativeStrings.OrderId, UserId): the same string object is not encoded again. Every
    /// switch between kept, new, equal-but-other, too long to keep, and missing ids must still
    /// send exactly the id given.
    /// </summary>
    internal sealed class RememberedIdTests : Fixture
    {
        private const string OtherUser = "7c9e6679-7425-40de-944b-e07fc1f90ae7";

        [Test]
        public void EachStageSendsTheIdsItWasGivenWhateverTheThreadSentBefore()
        {
            var a = "ORD-A-" + Environment.TickCount;                 // a string made at run time
            var aAgain = new string(a.ToCharArray());                  // equal, another object
            var longest = new string('L', 128);                        // fills its slot exactly
            var tooLong = "ORD-" + new string('X', 196);               // 200 bytes: not kept, refused
            var wide = "ORD-" + new string('\u00e9', 60);              // 124 bytes, but sent pinned: 64 chars could need 192
            var longUser = new string('u', 200);                        // not kept, refused
            var sent = new[]
            {
                Tuple.Create(a, User), Tuple.Create(a, User), Tuple.Create(aAgain, OtherUser),
                Tuple.Create(a, (string)null), Tuple.Create(longest, User), Tuple.Create(tooLong, User),
                Tuple.Create((string)null, User), Tuple.Create(tooLong, OtherUser), Tuple.Create(wide, User),
                Tuple.Create(wide, OtherUser), Tuple.Create(a, OtherUser), Tuple.Create(wide, OtherUser), Tuple.Create("", User),
                Tuple.Create(a, longUser), Tuple.Create(a, (string)null), Tuple.Create(a, longUser),
            };
            for (var i = 0; i < sent.Length; i++)
            {
                var attributes = new Dictionary<string, object> { { "t.step", i } };
                using (Tracer.StartStage(OrderEvent.PriceCalculated, sent[i].Item1, sent[i].Item2, null, attributes)) { }
                // Bytes pinned for one call (an id too long to keep) are garbage after it: a
                // collection and new objects in their place may show a reuse of them.
                GC.Collect();
                for (var j = 0; j < 64; j++) attributes = new Dictionary<string, object> { { new string('g', 100), j } };
            }
            var spans = Spans();
            Assert.Equal(sent.Length, spans.Count, "every stage exported");
            for (var i = 0; i < sent.Length; i++)
            {
                var span = spans.Single(s => Attr(s, "t.step") == i.ToString());
                var orderId = sent[i].Item1;
                var problem = Attr(span, "ordertrace.problem") ?? "";
                if (orderId == tooLong)
                {
                    Assert.Equal(null, Attr(span, "order.id"), "step " + i + ": refused order id");
                    Assert.True(problem.Contains("200 bytes long"), "step " + i + ": problem names the length: " + problem);
                }
                else if (string.IsNullOrEmpty(orderId))
                {
                    Assert.Equal(null, Attr(span, "order.id"), "step " + i + ": no order id");
                    Assert.True(problem.Contains("empty"), "step " + i + ": problem says missing: " + problem);
                }
                else
                {
                    Assert.Equal(orderId, Attr(span, "order.id"), "step " + i + ": order id");
                }
                if (sent[i].Item2 == longUser)
                {
                    Assert.Equal(null, Attr(span, "user.id"), "step " + i + ": refused user id");
                    Assert.True(problem.Contains("not a UUID"), "step " + i + ": problem names the user id: " + problem);
                }
                else
                {
                    Assert.Equal(sent[i].Item2, Attr(span, "user.id"), "step " + i + ": user id");
                    Assert.True(!problem.Contains("UUID"), "step " + i + ": no user id problem: " + problem);
                }
            }
        }

        [Test]
        public void ThreadsRememberTheirOwnIds()
        {
            // Each thread sends its own id object over and over, interleaved with the others.
            const int threads = 4, stages = 50;
            var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
            {
                var id = "ORD-R" + t;
                var user = t % 2 == 0 ? User : OtherUser;
                for (var i = 0; i < stages; i++)
                {
                    using (Tracer.StartStage(OrderEvent.PriceCalculated, id, user, null,
                        new Dictionary<string, object> { { "t.thread", t } })) { }
                    Thread.Yield();
                }
            })).ToList();
            workers.ForEach(w => w.Start());
            workers.ForEach(w => w.Join());
            var spans = Spans();
            Assert.Equal(threads * stages, spans.Count, "every stage exported");
            foreach (var span in spans)
            {
                var t = int.Parse(Attr(span, "t.thread"));
                Assert.Equal("ORD-R" + t, Attr(span, "order.id"), "order id of thread " + t);
                Assert.Equal(t % 2 == 0 ? User : OtherUser, Attr(span, "user.id"), "user id of thread " + t);
            }
        }
    }
}

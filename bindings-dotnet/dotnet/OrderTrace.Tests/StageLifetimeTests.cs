using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;

namespace OrderTrace.Tests
{
    /// <summary>
    /// A stage's native handle is freed exactly once: by Dispose (after the calls in flight), or
    /// by the finalizer when the scope is never disposed. Disposed scopes hand their SafeHandle
    /// to the thread's next stage, so none of these may reach the stage that reuses it.
    /// </summary>
    internal sealed class StageLifetimeTests : Fixture
    {
        [Test]
        public void DisposingTwiceLeavesTheNextStageOfTheThreadAlone()
        {
            var a = Tracer.StartStage(OrderEvent.PriceCalculated, "ORD-A");
            a.Dispose();
            var b = Tracer.StartStage(OrderEvent.OrderConfirmed, "ORD-B");
            a.Dispose();
            b.SetAttribute("t.after", "second dispose of a");
            b.Complete();
            b.Dispose();
            var spans = Spans();
            Assert.Equal(2, spans.Count, "two stages");
            Assert.Equal("second dispose of a", Attr(One(spans, "order_confirmed"), "t.after"), "b stayed open");
        }

        [Test]
        public void UseAfterDisposeReachesNeitherItsStageNorTheNextOne()
        {
            var a = Tracer.StartStage(OrderEvent.PriceCalculated, "ORD-A");
            a.Dispose();
            var b = Tracer.StartStage(OrderEvent.OrderConfirmed, "ORD-B");
            Assert.Throws<ObjectDisposedException>(() => a.SetAttribute("t.from", "a"), "attribute after dispose");
            Assert.Throws<ObjectDisposedException>(() => a.RecordPrice(1m, "EUR"), "price after dispose");
            Assert.Throws<ObjectDisposedException>(() => a.Fail(new TimeoutException("late")), "fail after dispose");
            Assert.Throws<ObjectDisposedException>(() => a.Complete(), "end after dispose");
            Assert.Throws<ObjectDisposedException>(() => a.Headers(), "headers after dispose");
            Assert.Throws<ObjectDisposedException>(() => { var id = a.TraceId; }, "ids after dispose");
            // b is still open: a's calls would have ended it (Complete would then throw Closed).
            b.Complete();
            b.Dispose();
            var spans = Spans();
            var span = One(spans, "order_confirmed");
            Assert.Equal(null, Attr(span, "t.from"), "no attribute of a on b");
            Assert.Equal("unset", (string)span["status"], "b not failed by a");
        }

        [Test]
        public void AStageNeverDisposedIsEndedByTheFinalizer()
        {
            // Started on a thread that ends, so no stack slot of this thread keeps the scope
            // alive (Mono scans stacks conservatively).
            var starter = new Thread(() =>
            {
                Tracer.StartStage(OrderEvent.OrderShipped, "ORD-LEAKED");
                using (Tracer.StartStage(OrderEvent.PriceCalculated, "ORD-DISPOSED")) { }
            });
            starter.Start();
            starter.Join();
            var ended = false;
            for (var i = 0; i < 50 && !ended; i++)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                Tracer.Flush(TimeSpan.FromSeconds(5));
                ended = Tracer.Counters.SpansExported == 2;
                if (!ended) Thread.Sleep(20);
            }
            // Stages of this thread after the finalizer ran take and return handles as usual.
            using (Tracer.StartStage(OrderEvent.OrderConfirmed, "ORD-AFTER")) { }
            var spans = Spans();
            Assert.True(ended, "the leaked stage was ended within 50 collections");
            Assert.Equal("ORD-LEAKED", Attr(One(spans, "order_shipped"), "order.id"), "leaked stage exported");
            Assert.Equal(3, spans.Count, "each stage once");
        }

        [Test]
        public void CallsInFlightOnAnotherThreadKeepTheStageUntilTheyReturn()
        {
            // A worker calls SetAttribute in a loop while this thread disposes the stage: every
            // call either ran on the open stage or threw ObjectDisposedException; the stage is
            // freed once, by whichever of Dispose and the last call came last (its handle then
            // goes to that thread's pool), and a freed stage is never reached.
            const int stages = 150;
            var unexpected = new List<Exception>();
            for (var n = 0; n < stages; n++)
            {
                var stage = Tracer.StartStage(OrderEvent.PriceCalculated, "ORD-" + n);
                var running = new ManualResetEventSlim();
                var worker = new Thread(() =>
                {
                    running.Set();
                    try
                    {
                        // Bounded: a scope that never refuses after Dispose fails here, not by hanging.
                        for (var i = 0; i < 100000; i++) stage.SetAttribute("t.call", i);
                        throw new InvalidOperationException("the stage still took calls 100,000 calls after it was disposed");
                    }
                    catch (ObjectDisposedException)
                    {
                    }
                    catch (Exception e)
                    {
                        lock (unexpected) unexpected.Add(e);
                    }
                    // The worker's own stages reuse what it may have released.
                    using (Tracer.StartStage(OrderEvent.OrderConfirmed, "ORD-W" + n)) { }
                });
                // A background thread: if a freed stage is ever reached and hangs it, the test
                // fails here instead of hanging the process.
                worker.IsBackground = true;
                worker.Start();
                running.Wait();
                Thread.SpinWait(n * 50);
                stage.Dispose();
                Assert.True(worker.Join(TimeSpan.FromSeconds(30)), "the worker of stage " + n + " returned within 30 s");
                using (Tracer.StartStage(OrderEvent.OrderShipped, "ORD-M" + n)) { }
            }
            Assert.Equal("", string.Join("; ", unexpected.Select(e => e.GetType().Name + ": " + e.Message)), "unexpected exceptions");
            var spans = Spans();
            Assert.Equal(3 * stages, spans.Count, "every stage once");
            foreach (var name in new[] { "price_calculated", "order_confirmed", "order_shipped" })
            {
                Assert.Equal(stages, spans.Count(s => (string)s["name"] == name), name);
            }
            Assert.Equal(0, spans.Count(s => (string)s["status"] == "error"), "no stage failed");
        }
    }
}

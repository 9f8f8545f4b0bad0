using System;
using System.Collections.Generic;
using System.Net;
using System.Text;
using System.Threading;
using OrderTrace;

namespace OrderFlow
{
    /// <summary>
    /// The MES of the order-flow example (C#, run with Mono): POST /orders/{id}/process?user=...
    /// prices the order (the MES's own CalculatePrice, wrapped), starts and completes manufacturing.
    /// Switches: an order id containing MES_FAIL_MARK (default "FAIL") makes CalculatePrice throw;
    /// one containing MES_SLOW_MARK (default "SLOW") makes it take MES_SLOW_SECONDS (default 60);
    /// one containing MES_MISMATCH_MARK (default "MISMATCH") is accepted and never started (no
    /// MES stage) for MES_SLOW_SECONDS while the CRM says in_production.
    /// For every request: MES_MODE=fail or MES_MODE=slow.
    /// Env: MES_PORT (default 18090) and the OTEL_* / ORDERTRACE_* variables.
    /// </summary>
    internal static class Mes
    {
        private sealed class PriceCalculationException : Exception
        {
            public PriceCalculationException(string message) : base(message) { }
        }

        private static string Env(string name, string fallback)
        {
            var v = Environment.GetEnvironmentVariable(name);
            return string.IsNullOrEmpty(v) ? fallback : v;
        }

        // The MES's own code, untouched by the instrumentation.
        private static decimal CalculatePrice(string orderId)
        {
            var mode = Env("MES_MODE", "normal");
            if (mode == "fail" || orderId.Contains(Env("MES_FAIL_MARK", "FAIL")))
                throw new PriceCalculationException("no price rule for alloy 'platinum-950' (order " + orderId + ")");
            if (mode == "slow" || orderId.Contains(Env("MES_SLOW_MARK", "SLOW")))
                Thread.Sleep(TimeSpan.FromSeconds(int.Parse(Env("MES_SLOW_SECONDS", "60"))));
            return 249.90m;
        }

        private static void StartManufacturing(string orderId)
        {
            Thread.Sleep(5);
        }

        private static void Handle(HttpListenerContext ctx, OrderTracer tracer, MesInstrumentation mes)
        {
            var path = ctx.Request.Url.AbsolutePath.Trim('/').Split('/');
            if (ctx.Request.HttpMethod != "POST" || path.Length != 3 || path[0] != "orders" || path[2] != "process")
            {
                Reply(ctx, 404, "{\"error\":\"POST /orders/{id}/process?user=...\"}");
                return;
            }
            var orderId = path[1];
            var userId = ctx.Request.QueryString["user"];
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (string name in ctx.Request.Headers.AllKeys) headers[name] = ctx.Request.Headers[name];
            if (orderId.Contains(Env("MES_MISMATCH_MARK", "MISMATCH")))
            {
                // The MES accepts the order and never starts it (no pricing, no manufacturing)
                // while the CRM already says in_production: what `ordertrace watch` reports as a
                // status mismatch. It answers after MES_SLOW_SECONDS.
                Thread.Sleep(TimeSpan.FromSeconds(int.Parse(Env("MES_SLOW_SECONDS", "60"))));
                Reply(ctx, 200, "{\"order_id\":\"" + orderId + "\",\"price\":0}");
                return;
            }
            try
            {
                var price = mes.CalculatePrice(orderId, userId, () => CalculatePrice(orderId), "EUR", headers);
                mes.StartManufacturing(orderId, userId, () => StartManufacturing(orderId), headers);
                using (var done = tracer.StartStage(OrderEvent.ManufacturingCompleted, orderId, userId, headers))
                {
                    done.SetAttribute("mes.workcenter", "casting-2");
                }
                Reply(ctx, 200, "{\"order_id\":\"" + orderId + "\",\"price\":" + price.ToString(System.Globalization.CultureInfo.InvariantCulture) + "}");
            }
            catch (Exception e)
            {
                Reply(ctx, 500, "{\"error\":\"" + e.GetType().Name + ": " + e.Message.Replace("\"", "'") + "\"}");
            }
        }

        private static void Reply(HttpListenerContext ctx, int status, string json)
        {
            var bytes = Encoding.UTF8.GetBytes(json);
            ctx.Response.StatusCode = status;
            ctx.Response.ContentType = "application/json";
            ctx.Response.ContentLength64 = bytes.Length;
            ctx.Response.OutputStream.Write(bytes, 0, bytes.Length);
            ctx.Response.Close();
        }

        private static int Main()
        {
            var port = Env("MES_PORT", "18090");
            using (var tracer = new OrderTracer(new OrderTracerOptions { ServiceName = "mes-api" }))
            {
                var mes = new MesInstrumentation(tracer);
                var listener = new HttpListener();
                listener.Prefixes.Add("http://127.0.0.1:" + port + "/");
                listener.Start();
                Console.Error.WriteLine("mes: listening on http://127.0.0.1:" + port + "/");
                while (true)
                {
                    var ctx = listener.GetContext();
                    // Each request on its own thread: a slow price calculation holds only its order.
                    ThreadPool.QueueUserWorkItem(_ => Handle(ctx, tracer, mes));
                }
            }
        }
    }
}

// A .NET program as an MES developer writes it: references OrderTrace from the .nupkg, nothing
// else. scripts/test-packages restores the package into a clean folder, compiles this with
// Mono's mcs and runs it.
using System;
using System.Collections.Generic;
using OrderTrace;

public static class CalculatePrice
{
    public static int Main(string[] args)
    {
        var orderId = args.Length > 0 ? args[0] : "ORD-5678";
        using (var tracer = new OrderTracer(new OrderTracerOptions { ServiceName = "mes-api" }))
        {
            var mes = new MesInstrumentation(tracer);
            var headers = new Dictionary<string, string>();
            var price = mes.CalculatePrice(orderId, "1b4e28ba-2fa1-11d2-883f-0016d3cca427", () => 1234.50m, "EUR", headers);
            Console.WriteLine("order " + orderId + " priced at " + price + " EUR");
            tracer.Flush(TimeSpan.FromSeconds(5));
        }
        return 0;
    }
}

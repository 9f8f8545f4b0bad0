package io.ordertrace.spring;

import java.io.IOException;
import org.springframework.http.HttpRequest;
import org.springframework.http.client.ClientHttpRequestExecution;
import org.springframework.http.client.ClientHttpRequestInterceptor;
import org.springframework.http.client.ClientHttpResponse;

/**
 * Writes the current order context ({@code traceparent}, {@code tracestate}, {@code baggage})
 * into an outgoing {@code RestClient} / {@code RestTemplate} request. With the Java agent, the
 * agent's HTTP client instrumentation writes {@code traceparent} again, later, for its client
 * span, which is a child of the current stage: the callee lands in the same trace either way.
 */
public class OutgoingHttpContextInterceptor implements ClientHttpRequestInterceptor {
    @Override
    public ClientHttpResponse intercept(HttpRequest request, byte[] body, ClientHttpRequestExecution execution)
            throws IOException {
        OrderContext.currentHeaders().forEach(request.getHeaders()::set);
        return execution.execute(request, body);
    }
}

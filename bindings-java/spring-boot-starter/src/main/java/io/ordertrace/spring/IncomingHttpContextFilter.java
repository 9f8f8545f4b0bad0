package io.ordertrace.spring;

import io.opentelemetry.context.Scope;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Joins an incoming HTTP request to the caller's order trace: its {@code traceparent},
 * {@code tracestate} and {@code baggage} headers are the current context while the request is
 * handled (see {@link OrderContext#joinIncoming}; the agent's server span, when there is one,
 * stays current).
 */
public class IncomingHttpContextFilter extends OncePerRequestFilter {
    private static final String[] HEADERS = {"traceparent", "tracestate", "baggage"};

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        Map<String, String> headers = new LinkedHashMap<>();
        for (String name : HEADERS) {
            String value = request.getHeader(name);
            if (value != null) {
                headers.put(name, value);
            }
        }
        try (Scope ignored = OrderContext.joinIncoming(headers)) {
            chain.doFilter(request, response);
        }
    }
}

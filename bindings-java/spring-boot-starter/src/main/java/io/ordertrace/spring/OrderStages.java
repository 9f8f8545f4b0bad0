package io.ordertrace.spring;

import io.opentelemetry.context.Scope;
import io.ordertrace.OrderEvent;
import io.ordertrace.OrderTracer;
import io.ordertrace.StageBuilder;
import io.ordertrace.StageSpan;

/**
 * Stages as a bean: the starter's {@link OrderTracer}, with every stage's parent taken from
 * the current context ({@link OrderContext}: the agent's span, the incoming request or
 * message, or the enclosing stage).
 *
 * <pre>{@code
 * String price = stages.inStage(stages.stage(OrderEvent.PRICE_CALCULATED, orderId).client(), stage -> {
 *     String answer = mes.calculatePrice(orderId);   // an outgoing call made here carries the stage
 *     stage.setAttribute("mes.answer", answer);
 *     return answer;
 * });
 * }</pre>
 */
public class OrderStages {
    private final OrderTracer tracer;

    /** Stages recorded by {@code tracer}. */
    public OrderStages(OrderTracer tracer) {
        this.tracer = tracer;
    }

    /** The tracer underneath (flush, counters). */
    public OrderTracer tracer() {
        return tracer;
    }

    /** A stage of {@code orderId}, whose parent is the current context; finish it with {@link #inStage}. */
    public StageBuilder stage(OrderEvent event, String orderId) {
        return tracer.stage(event, orderId).parent(OrderContext.currentHeaders());
    }

    /**
     * Starts the stage, makes it current while {@code work} runs, and ends it: successfully, or
     * with the exception {@code work} threw (recorded with its type, message and stack trace),
     * which is then rethrown unchanged.
     */
    public <T, E extends Throwable> T inStage(StageBuilder stage, StageWork<T, E> work) throws E {
        StageSpan span = stage.start();
        T result;
        try (Scope ignored = OrderContext.enter(span)) {
            result = work.run(span);
        } catch (Throwable failure) {
            span.endWithError(failure);
            throw failure;
        }
        span.end();
        return result;
    }
}

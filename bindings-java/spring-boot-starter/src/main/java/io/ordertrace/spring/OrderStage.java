package io.ordertrace.spring;

import io.ordertrace.OrderEvent;
import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Runs a Spring bean's method inside an order stage: the stage starts before the method, is
 * current while it runs (so its calls and messages carry it), and ends with the method: as an
 * error, with the exception's type, message and stack trace, when the method throws.
 *
 * <pre>{@code
 * @OrderStage(event = OrderEvent.ORDER_CONFIRMED, orderId = "#order.id", userId = "#order.userId")
 * public void confirm(Order order) { ... }
 * }</pre>
 *
 * The method must be called through the bean (Spring proxies it), not from inside its class.
 */
@Target(ElementType.METHOD)
@Retention(RetentionPolicy.RUNTIME)
@Documented
public @interface OrderStage {
    /** The stage's event. */
    OrderEvent event();

    /**
     * SpEL over the method's arguments giving the order id, e.g. {@code "#order.id"},
     * {@code "#orderId"} or {@code "#p0"}. A value that is null, empty or breaks the order id
     * rules, or an expression that fails on a call, does not stop the method: the stage starts
     * without the id and records the problem ({@code ordertrace.problem}), unless
     * {@code ordertrace.strict-ids=true}.
     */
    String orderId();

    /**
     * SpEL giving the user id; empty (the default) takes {@code user.id} from the incoming
     * baggage.
     */
    String userId() default "";

    /** The stage span's kind. */
    Kind kind() default Kind.INTERNAL;

    /** Span kinds of a stage. */
    enum Kind {
        /** Work inside the service. */
        INTERNAL,
        /** Handling a request. */
        SERVER,
        /** Making a request. */
        CLIENT,
        /** Publishing a message. */
        PRODUCER,
        /** Processing a message. */
        CONSUMER
    }
}

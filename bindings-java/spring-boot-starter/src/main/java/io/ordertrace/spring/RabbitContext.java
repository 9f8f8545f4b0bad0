package io.ordertrace.spring;

import io.opentelemetry.context.Scope;
import io.ordertrace.Propagation;
import java.util.List;
import org.aopalliance.intercept.MethodInterceptor;
import org.aopalliance.intercept.MethodInvocation;
import org.springframework.amqp.core.Message;
import org.springframework.amqp.core.MessagePostProcessor;
import org.springframework.amqp.core.MessageProperties;

/**
 * The order context over RabbitMQ (spring-rabbit).
 *
 * <p>Sending: {@link #publishPostProcessor()} writes the current context into the message's
 * headers as strings (AMQP long strings, which every client reads). With the Java agent, its
 * RabbitMQ instrumentation writes {@code traceparent} (and {@code baggage}) again when the
 * message is published, after the starter: <b>the agent wins</b>. Its publish span is a child
 * of the current stage, so the consumer still joins the order's one trace, under the agent's
 * publish span; the baggage it writes is the current stage's, so {@code order.id} and
 * {@code user.id} arrive either way. Without the agent, the starter's headers go as they are and
 * the consumer's stage is a child of the producing stage.
 *
 * <p>Receiving: {@link #listenerAdvice()} goes into every {@code @RabbitListener} container's
 * advice chain and makes the message's headers the current context while the listener runs
 * (the agent's process span stays current when there is one).
 */
public final class RabbitContext {
    private RabbitContext() {}

    /** A before-publish post processor for {@code RabbitTemplate}. */
    public static MessagePostProcessor publishPostProcessor() {
        return message -> {
            MessageProperties properties = message.getMessageProperties();
            OrderContext.currentHeaders().forEach(properties::setHeader);
            return message;
        };
    }

    /** An advice for the listener containers' advice chain. */
    public static MethodInterceptor listenerAdvice() {
        return RabbitContext::aroundListener;
    }

    private static Object aroundListener(MethodInvocation invocation) throws Throwable {
        Message message = messageOf(invocation.getArguments());
        if (message == null) {
            return invocation.proceed();
        }
        try (Scope ignored = OrderContext.joinIncoming(Propagation.fromMessage(message.getMessageProperties().getHeaders()))) {
            return invocation.proceed();
        }
    }

    // invokeListener(Channel, Object data): data is a Message, or a List<Message> for a batch
    // (a batch has no single context; the first message's is used).
    private static Message messageOf(Object[] arguments) {
        for (Object argument : arguments) {
            if (argument instanceof Message m) {
                return m;
            }
            if (argument instanceof List<?> list && !list.isEmpty() && list.get(0) instanceof Message m) {
                return m;
            }
        }
        return null;
    }
}

package io.ordertrace.spring;

import io.ordertrace.StageBuilder;
import java.lang.reflect.Method;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.aopalliance.intercept.MethodInterceptor;
import org.aopalliance.intercept.MethodInvocation;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.springframework.aop.support.AopUtils;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.expression.MethodBasedEvaluationContext;
import org.springframework.core.DefaultParameterNameDiscoverer;
import org.springframework.core.ParameterNameDiscoverer;
import org.springframework.core.annotation.AnnotatedElementUtils;
import org.springframework.expression.Expression;
import org.springframework.expression.ExpressionException;
import org.springframework.expression.spel.standard.SpelExpressionParser;

/**
 * Runs methods annotated with {@link OrderStage} inside their stage, through {@link OrderStages}.
 * The order id and user id expressions are parsed once per method and evaluated against the
 * call's arguments.
 */
public class OrderStageInterceptor implements MethodInterceptor {
    private final ObjectProvider<OrderStages> stages;
    private final SpelExpressionParser parser = new SpelExpressionParser();
    private final ParameterNameDiscoverer names = new DefaultParameterNameDiscoverer();
    private final Map<String, Expression> expressions = new ConcurrentHashMap<>();
    private final Set<String> warned = ConcurrentHashMap.newKeySet();
    private static final Log LOG = LogFactory.getLog(OrderStageInterceptor.class);

    /** Stages from {@code stages}, looked up at the first call (advisors are built before other beans). */
    public OrderStageInterceptor(ObjectProvider<OrderStages> stages) {
        this.stages = stages;
    }

    @Override
    public Object invoke(MethodInvocation invocation) throws Throwable {
        Class<?> target = invocation.getThis() == null ? invocation.getMethod().getDeclaringClass()
                : AopUtils.getTargetClass(invocation.getThis());
        Method method = AopUtils.getMostSpecificMethod(invocation.getMethod(), target);
        OrderStage annotation = AnnotatedElementUtils.findMergedAnnotation(method, OrderStage.class);
        if (annotation == null) {
            return invocation.proceed();
        }
        OrderStages orderStages = stages.getObject();
        // A null or empty id is a missing id: the core's rules decide (by default the stage
        // starts and records the problem; with ordertrace.strict-ids it throws).
        String orderId = evaluate(annotation.orderId(), "orderId", method, invocation.getArguments());
        StageBuilder stage = orderStages.stage(annotation.event(), orderId);
        if (!annotation.userId().isEmpty()) {
            stage.userId(evaluate(annotation.userId(), "userId", method, invocation.getArguments()));
        }
        switch (annotation.kind()) {
            case SERVER -> stage.server();
            case CLIENT -> stage.client();
            case PRODUCER -> stage.producer();
            case CONSUMER -> stage.consumer();
            case INTERNAL -> { }
        }
        return orderStages.inStage(stage, started -> invocation.proceed());
    }

    /**
     * The id the expression gives for this call; null when it cannot be parsed or evaluated (a
     * null argument under {@code #order.id}): then the id is missing, the stage still starts and
     * the business method still runs. Each failing expression is logged once per method.
     */
    private String evaluate(String source, String element, Method method, Object[] arguments) {
        try {
            Expression expression = expressions.computeIfAbsent(source, parser::parseExpression);
            Object value = expression.getValue(new MethodBasedEvaluationContext(null, method, arguments, names));
            return value == null ? null : value.toString();
        } catch (ExpressionException e) {
            if (warned.add(describe(method) + element)) {
                LOG.warn(describe(method) + ": " + element + " = \"" + source
                        + "\" gave no id for a call (the stage records a missing id): " + e.getMessage());
            }
            return null;
        }
    }

    private static String describe(Method method) {
        return "@OrderStage on " + method.getDeclaringClass().getSimpleName() + "." + method.getName();
    }
}

package io.ordertrace.spring;

import io.ordertrace.StageBuilder;
import java.lang.reflect.Method;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.aopalliance.intercept.MethodInterceptor;
import org.aopalliance.intercept.MethodInvocation;
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
        String orderId = evaluate(annotation.orderId(), "orderId", method, invocation.getArguments());
        if (orderId == null || orderId.isEmpty()) {
            throw new IllegalArgumentException(describe(method) + ": orderId = \"" + annotation.orderId()
                    + "\" gave " + (orderId == null ? "null" : "an empty id") + " for this call");
        }
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

    private String evaluate(String source, String element, Method method, Object[] arguments) {
        Expression expression;
        try {
            expression = expressions.computeIfAbsent(source, parser::parseExpression);
        } catch (ExpressionException e) {
            throw new IllegalArgumentException(describe(method) + ": " + element + " = \"" + source
                    + "\" is not a valid SpEL expression: " + e.getMessage(), e);
        }
        try {
            Object value = expression.getValue(new MethodBasedEvaluationContext(null, method, arguments, names));
            return value == null ? null : value.toString();
        } catch (ExpressionException e) {
            throw new IllegalArgumentException(describe(method) + ": " + element + " = \"" + source
                    + "\" cannot be evaluated on this call's arguments: " + e.getMessage(), e);
        }
    }

    private static String describe(Method method) {
        return "@OrderStage on " + method.getDeclaringClass().getSimpleName() + "." + method.getName();
    }
}

package io.ordertrace.spring;

import io.ordertrace.OrderTracer;
import java.util.Arrays;
import org.aopalliance.aop.Advice;
import org.springframework.aop.Advisor;
import org.springframework.aop.support.DefaultPointcutAdvisor;
import org.springframework.aop.support.annotation.AnnotationMatchingPointcut;
import org.springframework.amqp.rabbit.config.AbstractRabbitListenerContainerFactory;
import org.springframework.amqp.rabbit.core.RabbitTemplate;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.config.BeanDefinition;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.amqp.RabbitTemplateCustomizer;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.web.client.RestClientCustomizer;
import org.springframework.boot.web.client.RestTemplateCustomizer;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Role;
import org.springframework.core.Ordered;
import org.springframework.core.env.Environment;
import org.springframework.http.client.ClientHttpRequestInterceptor;

/**
 * What the starter configures, each part only when the application has the library it serves:
 * the {@link OrderTracer} (closed when the context shuts down), {@link OrderStages},
 * {@link OrderStage} methods, the servlet filter joining incoming requests, the
 * {@code RestClient} / {@code RestTemplate} interceptor, and the RabbitMQ publish post processor
 * and listener advice. {@code ordertrace.enabled=false} turns it all off.
 */
@AutoConfiguration
@ConditionalOnBooleanProperty(name = "ordertrace.enabled", matchIfMissing = true)
@EnableConfigurationProperties(OrderTraceProperties.class)
public class OrderTraceAutoConfiguration {

    /** The tracer from the {@code ordertrace.*} properties over the {@code OTEL_*} / {@code ORDERTRACE_*} environment. */
    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    public OrderTracer orderTracer(OrderTraceProperties properties, Environment environment) {
        return OrderTracerFactory.build(properties, environment.getProperty("spring.application.name"), System::getenv);
    }

    /** Stages as a bean. */
    @Bean
    @ConditionalOnMissingBean
    public OrderStages orderStages(OrderTracer tracer) {
        return new OrderStages(tracer);
    }

    /** Runs {@link OrderStage} methods inside their stage. */
    @Bean
    @Role(BeanDefinition.ROLE_INFRASTRUCTURE)
    public static Advisor orderStageAdvisor(ObjectProvider<OrderStages> stages) {
        DefaultPointcutAdvisor advisor = new DefaultPointcutAdvisor(
                new AnnotationMatchingPointcut(null, OrderStage.class, true), new OrderStageInterceptor(stages));
        advisor.setOrder(Ordered.LOWEST_PRECEDENCE - 100);
        return advisor;
    }

    /** Incoming HTTP requests (servlet applications). */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
    @ConditionalOnClass(name = "jakarta.servlet.Filter")
    static class IncomingHttp {
        @Bean
        FilterRegistrationBean<IncomingHttpContextFilter> orderTraceIncomingHttpFilter() {
            FilterRegistrationBean<IncomingHttpContextFilter> registration =
                    new FilterRegistrationBean<>(new IncomingHttpContextFilter());
            registration.setOrder(Ordered.HIGHEST_PRECEDENCE + 10);
            registration.addUrlPatterns("/*");
            return registration;
        }
    }

    /** Outgoing HTTP calls through Boot's RestClient.Builder and RestTemplateBuilder. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(ClientHttpRequestInterceptor.class)
    static class OutgoingHttp {
        @Bean
        OutgoingHttpContextInterceptor orderTraceOutgoingHttpInterceptor() {
            return new OutgoingHttpContextInterceptor();
        }

        @Bean
        @ConditionalOnClass(name = "org.springframework.web.client.RestClient")
        RestClientCustomizer orderTraceRestClientCustomizer(OutgoingHttpContextInterceptor interceptor) {
            return builder -> builder.requestInterceptor(interceptor);
        }

        @Bean
        @ConditionalOnClass(name = "org.springframework.web.client.RestTemplate")
        RestTemplateCustomizer orderTraceRestTemplateCustomizer(OutgoingHttpContextInterceptor interceptor) {
            return template -> template.getInterceptors().add(interceptor);
        }
    }

    /** RabbitMQ: RabbitTemplate sends and {@code @RabbitListener} containers. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(RabbitTemplate.class)
    static class Rabbit {
        @Bean
        RabbitTemplateCustomizer orderTraceRabbitTemplateCustomizer() {
            return template -> template.addBeforePublishPostProcessors(RabbitContext.publishPostProcessor());
        }

        @Bean
        static BeanPostProcessor orderTraceRabbitListenerAdvice() {
            return new BeanPostProcessor() {
                @Override
                public Object postProcessBeforeInitialization(Object bean, String beanName) {
                    if (bean instanceof AbstractRabbitListenerContainerFactory<?> factory) {
                        Advice[] chain = factory.getAdviceChain();
                        Advice[] extended = chain == null ? new Advice[1] : Arrays.copyOf(chain, chain.length + 1);
                        extended[extended.length - 1] = RabbitContext.listenerAdvice();
                        factory.setAdviceChain(extended);
                    }
                    return bean;
                }
            };
        }
    }
}

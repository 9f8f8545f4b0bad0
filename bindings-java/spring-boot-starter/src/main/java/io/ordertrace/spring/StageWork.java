package io.ordertrace.spring;

import io.ordertrace.StageSpan;

/**
 * The work done inside a stage, for {@link OrderStages#inStage}.
 *
 * @param <T> what the work returns
 * @param <E> what it may throw
 */
@FunctionalInterface
public interface StageWork<T, E extends Throwable> {
    /** Does the work; {@code stage} is open and current while it runs. */
    T run(StageSpan stage) throws E;
}

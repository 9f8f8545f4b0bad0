package io.ordertrace;

/** The eight canonical order events in lifecycle order (checked against the core's schema in the tests). */
public enum OrderEvent {
    /** Emitted by shop-api. */
    ORDER_SUBMITTED("order_submitted"),
    /** Emitted by shop-api. */
    MODEL_UPLOADED("model_uploaded"),
    /** Emitted by crm-api. */
    ORDER_CONFIRMED("order_confirmed"),
    /** Emitted by crm-api. */
    ORDER_STATUS_CHANGED("order_status_changed"),
    /** Emitted by mes-api. */
    PRICE_CALCULATED("price_calculated"),
    /** Emitted by mes-api. */
    MANUFACTURING_STARTED("manufacturing_started"),
    /** Emitted by mes-api. */
    MANUFACTURING_COMPLETED("manufacturing_completed"),
    /** Emitted by crm-api. */
    ORDER_SHIPPED("order_shipped");

    private final String wireName;

    OrderEvent(String wireName) {
        this.wireName = wireName;
    }

    /** The event's name in the schema, e.g. {@code order_confirmed}. */
    public String wireName() {
        return wireName;
    }
}
